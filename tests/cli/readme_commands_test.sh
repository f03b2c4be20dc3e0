#!/usr/bin/env bash
# The README's first lines give two commands for a fresh Debian 12 machine (install + main job,
# install + tests); CI (.ci/run) runs the second. This keeps the three in step: the README's test
# command is .ci/run's install line joined to its build-and-test line, the main-job command
# builds the same way and runs a circuit that exists.
# Usage: readme_commands_test.sh SOURCE_DIR
set -uo pipefail
SRC=$1
fail() { echo -e "FAIL: $*"; exit 1; }
readme="$SRC/README.md"; ci="$SRC/.ci/run"
# The first two indented command lines of the README.
mapfile -t cmds < <(grep -m 2 -E '^    bash scripts/install-deps.sh' "$readme" | sed 's/^    //')
[[ ${#cmds[@]} -eq 2 ]] || fail "the README does not start with two install commands"
main=${cmds[0]}; tests=${cmds[1]}
ci_build=$(grep -E '^cmake -B build' "$ci") || fail ".ci/run has no build-and-test line"
grep -qx 'bash scripts/install-deps.sh' "$ci" || fail ".ci/run does not install with scripts/install-deps.sh"
[[ "$tests" == "bash scripts/install-deps.sh && $ci_build" ]] ||
  fail "README test command and .ci/run differ:\n  README: $tests\n  CI:     bash scripts/install-deps.sh && $ci_build"
build_part=${ci_build%% && ctest*}
[[ "$main" == "bash scripts/install-deps.sh && $build_part && ./build/spikeblox run "* ]] ||
  fail "the README main-job command does not build as CI does: $main"
circuit=$(sed -E 's/.*spikeblox run ([^ ]+).*/\1/' <<< "$main")
[[ -f "$SRC/$circuit" ]] || fail "the main job's circuit $circuit does not exist"
grep -q "category_learning" <<< "$circuit" || fail "the main job is not the category-learning experiment: $circuit"
echo ok
