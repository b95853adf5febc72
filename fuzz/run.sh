#!/usr/bin/env bash
# Fuzz Muster's parsers with libFuzzer on stable Rust.
#
#   fuzz/run.sh [seconds-per-target] [target ...]      (default: 60 s, every target)
#
# cargo-fuzz's instrumentation without its nightly-only sanitizer flags: SanitizerCoverage
# through stable `-C passes`/`-C llvm-args`, `--cfg fuzzing`, debug assertions and overflow
# checks on, so a panic, an overflow or an out-of-bounds index is a crash. Built for the host
# target explicitly, so build scripts and proc macros are left uninstrumented. Each target
# starts from fuzz/seeds/<target> (plus the corpus of earlier runs in fuzz/corpus/<target>);
# crashing inputs land in fuzz/artifacts/<target>/ and are to be kept as regression tests in
# tests/it/fuzz_regressions.rs. Exits non-zero if any target crashed.
set -euo pipefail
cd "$(dirname "$0")"

secs="${1:-60}"
shift || true
all=(scim_filter scim_patch_path scim_patch scim_normalize cursor dialect_request)
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi

host="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --locked --release --target "$host" --bins

mkdir -p logs
crashed=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  if [ -d "seeds/$t" ]; then cp -n "seeds/$t"/* "corpus/$t/" 2>/dev/null || true; fi
  echo "== $t: ${secs}s"
  set +e
  "$CARGO_TARGET_DIR/$host/release/$t" "corpus/$t" \
    -artifact_prefix="artifacts/$t/" -max_total_time="$secs" -max_len=65536 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"logs/$t.log" 2>&1
  rc=$?
  set -e
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/$t.log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "logs/$t.log" | tail -1)"
  cov="$(grep -o 'cov: [0-9]*' "logs/$t.log" | tail -1)"
  echo "   executions ${execs:-?}, ${rate:-?}/s, ${cov:-cov: ?}, corpus $(ls "corpus/$t" | wc -l) inputs, exit $rc"
  if [ "$rc" -ne 0 ]; then
    crashed=1
    echo "   CRASH: $(ls "artifacts/$t" | head -5 | tr '\n' ' ')"
    grep -m5 -E "panicked|ERROR: libFuzzer|SUMMARY" "logs/$t.log" || true
  fi
done
exit "$crashed"
