#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (separate build dir) and runs each for a bounded time on
# a copy of its seed corpus. Fails on any crash, hang (> 5 s per input), leak, sanitizer report or
# rejection without a message (asserted inside the targets). Skips (77) if clang's libFuzzer is
# missing. Usage: run_fuzz.sh SOURCE_DIR BUILD_DIR [SECONDS_PER_TARGET]
set -uo pipefail
SRC=$(realpath "$1"); BUILD=$2; SECS=${3:-25}
JOBS=${SBX_FUZZ_JOBS:-2}
command -v clang++ > /dev/null || { echo "SKIP: no clang++ (apt-get install clang libclang-rt-14-dev)"; exit 77; }
probe=$(mktemp -d); trap 'rm -rf "$probe"' EXIT
printf '#include <cstddef>\n#include <cstdint>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' > "$probe/p.cpp"
clang++ -fsanitize=fuzzer "$probe/p.cpp" -o "$probe/p" 2> /dev/null ||
  { echo "SKIP: clang++ -fsanitize=fuzzer does not link (install libclang-rt-14-dev)"; exit 77; }

launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
t0=$(date +%s)
CC=clang CXX=clang++ cmake -S "$SRC/tests/fuzz" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "${launcher[@]}" > "$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log"; echo "FAIL: configure"; exit 1; }
cmake --build "$BUILD" -j "$JOBS" --target fuzz_toml_loader fuzz_csv_stimulus > "$BUILD.build.log" 2>&1 ||
  { tail -50 "$BUILD.build.log"; echo "FAIL: build"; exit 1; }
echo "built in $(( $(date +%s) - t0 )) s"

rc=0
for spec in "toml_loader toml" "csv_stimulus csv"; do
  set -- $spec
  target=fuzz_$1; corpus="$probe/corpus_$2"
  mkdir -p "$corpus"; cp "$SRC/tests/fuzz/corpus/$2/"* "$corpus/"
  dict=(); [[ $2 == toml ]] && dict=(-dict="$SRC/tests/fuzz/toml.dict")
  echo "== $target: ${SECS} s"
  (cd "$probe" && "$BUILD/$target" "${dict[@]}" -max_total_time="$SECS" -timeout=5 -rss_limit_mb=2048 \
     -max_len=8192 -print_final_stats=1 "$corpus" > "$probe/$target.log" 2>&1)
  r=$?
  grep -E "^#[0-9]+ *DONE|stat::number_of_executed_units|stat::new_units_added" "$probe/$target.log"
  if [[ $r -ne 0 ]]; then
    rc=1
    tail -60 "$probe/$target.log"
    for f in "$probe"/crash-* "$probe"/timeout-* "$probe"/leak-* "$probe"/oom-*; do
      [[ -e $f ]] || continue
      mkdir -p "$BUILD/findings"; cp "$f" "$BUILD/findings/"
      echo "finding kept: $BUILD/findings/$(basename "$f")"
    done
    echo "FAIL: $target"
  fi
done
[[ $rc -eq 0 ]] && echo "ok: fuzz (total $(( $(date +%s) - t0 )) s)"
exit $rc
