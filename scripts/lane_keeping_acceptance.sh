#!/usr/bin/env bash
# Lane-keeping SNN acceptance of seed_systems.md §2.6 over seeds 1..10: the faithful 290.8
# configuration (collapse, best episode, zero network spikes) and the working controller (test
# return >= 220 and success >= 85 %). Every seed's figures are printed. Exit status 1 if a check
# fails. Usage: scripts/lane_keeping_acceptance.sh [--bin BUILD/spikeblox] [--seeds N] [--first-seed S]
#               [--only faithful|working] [--set key=value ...]
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/lane_keeping_acceptance.py" "$@"
