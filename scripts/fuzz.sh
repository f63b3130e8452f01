#!/usr/bin/env bash
# The fuzz targets (fuzz/, `cargo fuzz` on stable Rust, no sanitizer): the
# seed corpora, the build, then a bounded run of each target. A crash, panic,
# abort, timeout or runaway allocation fails the run and prints its
# reproducer. Installs cargo-fuzz (pinned) when missing; libFuzzer needs a
# C++ compiler.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS   per target (default 30); targets default to all of fuzz/Cargo.toml
#   FUZZ_PARALLEL=2   run two targets at a time (default 1)
#   FUZZ_SEEDS=0      keep the corpora as they are (default: add the seeds)
#   FUZZ_FLAGS=...    more libFuzzer flags, e.g. for a campaign that goes on
#                     past a crash: "-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1"
# Corpora grow in fuzz/corpus/<target>/, crashes land in fuzz/artifacts/<target>/,
# logs in fuzz/target/logs/<target>.log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-30}
[ "$#" -eq 0 ] || shift
parallel=${FUZZ_PARALLEL:-1}
cargo_fuzz_version=0.13.2
# A single Rust allocation over 128 MiB aborts (fuzz/src/lib.rs: libFuzzer's
# -malloc_limit_mb needs a sanitizer); the C codecs' mallocs show in RSS.
libfuzzer_flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
read -r -a extra_flags <<<"${FUZZ_FLAGS:-}"
libfuzzer_flags+=(${extra_flags[@]+"${extra_flags[@]}"})

if ! cargo fuzz --version 2>/dev/null | grep -q "$cargo_fuzz_version"; then
  cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi
command -v c++ >/dev/null || { echo "libFuzzer needs a C++ compiler (c++): install g++ or clang"; exit 1; }

if [ "${FUZZ_SEEDS:-1}" != 0 ]; then
  # Small images of every format and S3 events, from the tests' fixture
  # builders (crates/engine/examples/fuzz_seeds.rs); the committed event; the
  # inputs of crashes found before (regression tests in the engine's suite).
  # Built with the whole workspace selected, as the tests build it: with
  # `-p imgflow-engine` alone, cargo would unify other features for the
  # shared dependencies and build a second copy of most of the tree.
  cargo build --quiet --locked --workspace --examples
  "${CARGO_TARGET_DIR:-target}/debug/examples/fuzz_seeds" fuzz/corpus
  cp tests/fixtures/s3-put-event.json fuzz/corpus/s3_event/
  # HEIC: the committed grid, and a small photo when pillow-heif (the
  # test tools) is at hand.
  python3 - fuzz/corpus <<'EOF' || echo "fuzz.sh: no HEIC seed made (pillow-heif is not installed)"
import sys
from pathlib import Path
import pillow_heif
from PIL import Image
photo = Image.open("samples/astronaut.png").convert("RGB").resize((24, 16))
for target in ("header", "process"):
    out = Path(sys.argv[1], target)
    out.mkdir(parents=True, exist_ok=True)
    pillow_heif.from_pillow(photo).save(out / "photo.heic", quality=50)
EOF
  for input in crates/engine/tests/fuzz/* crates/engine/tests/fixtures/*.heic; do
    [ -f "$input" ] || continue
    cp "$input" fuzz/corpus/header/
    cp "$input" fuzz/corpus/process/
  done
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  read -r -a targets <<<"$(cargo fuzz list | tr '\n' ' ')"
fi
cargo fuzz build -s none
mkdir -p fuzz/target/logs

# run TARGET: fuzzes it for $seconds; its log in fuzz/target/logs/TARGET.log.
run() {
  local target=$1 log=fuzz/target/logs/$1.log status=0
  mkdir -p "fuzz/corpus/$target"
  cargo fuzz run -s none "$target" -- "${libfuzzer_flags[@]}" >"$log" 2>&1 || status=$?
  # libFuzzer's last status line: "#N DONE cov: C ft: F corp: U/S ..."; in
  # fork mode "#N: cov: C ft: F corp: U ... oom/timeout/crash: O/T/C".
  local done_line
  done_line=$(grep -E '^#[0-9]+(:|[[:space:]]+DONE)' "$log" | tail -1 || true)
  if [ "$status" = 0 ]; then
    echo "$target: ${done_line:-no final stats} (in ${seconds}s)"
    return 0
  fi
  echo "$target: FAILED (exit $status); the end of $log:"
  tail -n 60 "$log"
  local artifact
  sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | while read -r artifact; do
    echo "reproducer: $artifact ($(wc -c <"$artifact") bytes)"
    od -A d -t x1 "$artifact" | head -n 16
    echo "reproduce with: cargo fuzz run -s none $target $artifact"
  done
  return 1
}

rm -f fuzz/target/logs/*.failed
for target in "${targets[@]}"; do
  if [ "$parallel" -le 1 ]; then
    run "$target" || touch "fuzz/target/logs/$target.failed"
  else
    { run "$target" || touch "fuzz/target/logs/$target.failed"; } &
    while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do sleep 1; done
  fi
done
wait
failed=''
for marker in fuzz/target/logs/*.failed; do
  if [ -f "$marker" ]; then failed="$failed $(basename "$marker" .failed)"; fi
done
[ -z "$failed" ] || { echo "failed:$failed"; exit 1; }
