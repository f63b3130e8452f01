#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what it needs (nasm,
# rustfmt, clippy; Python tools pinned in private virtual environments by
# scripts/python-tools.sh; the Terraform runner adds checkov and shellcheck;
# the end-to-end run adds cargo-lambda), then format, lint, the workspace's
# unit + integration tests (the Lambda binary against moto, the Lambda
# benchmark's smoke run), SIMD check, a CLI smoke run, the slow memory
# tests (100 MP uploads), the fuzz targets (30 s each; cargo-fuzz and a C++
# compiler installed when missing), the Terraform stack applied to moto
# (three configurations) + checkov, and the local end-to-end run. The
# Terraform tests mostly wait on the emulator, so they run beside the Rust
# build, and the slow tests and the fuzzers beside the end-to-end run; their
# logs are printed when they are done.
# Usage: scripts/test.sh        (CI runs exactly this through .ci/run)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

started=$(date +%s)
say() { printf '\n== %s  [%ds]\n' "$*" "$(( $(date +%s) - started ))"; }
terraform_pid='' slow_pid='' fuzz_pid='' out='' large=''
cleanup() {
  [ -z "$terraform_pid" ] || kill -- "-$terraform_pid" 2>/dev/null || true
  [ -z "$slow_pid" ] || kill -- "-$slow_pid" 2>/dev/null || true
  [ -z "$fuzz_pid" ] || kill -- "-$fuzz_pid" 2>/dev/null || true
  [ -z "$out" ] || rm -rf "$out"
  [ -z "$large" ] || rm -rf "$large"
}
trap cleanup EXIT
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

say "tools"
# nasm: mozjpeg's SIMD (without it the engine's build stops: the JPEG
# encoder would run 2-3x slower).
# A C++ compiler: libFuzzer, which the fuzz targets link, is C++.
packages=()
command -v nasm >/dev/null || packages+=(nasm)
command -v c++ >/dev/null || packages+=(g++)
if [ "${#packages[@]}" -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi
# moto server (the S3 API the Lambda's integration tests run against: each
# test starts its own on a free loopback port and stops it), boto3, pytest,
# the AWS CLI: pinned, in a private virtual environment in the cache, never
# the system's Python. Its bin/ goes first on PATH for everything below
# (cargo test, the Terraform tests, local-e2e).
# shellcheck source=scripts/python-tools.sh disable=SC1091 # (checked on its own)
. scripts/python-tools.sh
python_tools_path test
for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done
cargo --version; nasm -v

say "format"
cargo fmt --all -- --check

say "terraform tests: started in the background (log: target/terraform.log)"
mkdir -p target
# Its own process group, so that an early exit stops its emulators too.
setsid scripts/test-terraform.sh >target/terraform.log 2>&1 &
terraform_pid=$!

say "lint and tests"
# A build from scratch gains nothing from incremental caches, only their cost.
export CARGO_INCREMENTAL=0
# Clippy lints the workspace while it is built for the tests, in one compile
# instead of two: this is what `cargo clippy -- -D warnings` sets up (clippy's
# driver wraps rustc for the workspace's crates), on a real build. Exported,
# so that the end-to-end run's builds (cargo lambda) reuse this one.
export RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
RUSTC_WORKSPACE_WRAPPER=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)
CLIPPY_ARGS=-Dwarnings__CLIPPY_HACKERY__
cargo test --workspace --all-targets --locked 2>&1 | tee target/test.log
# Doc tests and --all-targets exclude each other; run the former too.
cargo test --workspace --doc --locked

say "slow tests: started in the background (log: target/slow.log)"
# 100 MP uploads through the bootstrap at 2048 and 1024 MB, and through the
# CLI against the memory estimate; a 95 MP WebP whose control partition
# overflows (#[ignore]d in plain `cargo test`). They
# mostly wait on memory and the emulator, like the end-to-end run beside them.
# The test binaries run directly, not through cargo: a running `cargo test`
# holds the build folder's lock, which the end-to-end run's builds need.
# (The same selection as above, `--workspace`, so nothing is rebuilt.)
cargo test --workspace --locked --test lambda --test memory --no-run --message-format=json \
  | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] in ("lambda", "memory") and "test" in m["target"]["kind"]:
        print(m["executable"])' >target/slow-tests.txt
[ "$(wc -l <target/slow-tests.txt)" -eq 2 ] || { cat target/slow-tests.txt; echo "expected two slow test binaries"; exit 1; }
# The two run at once, each with its own log (they wait on memory, the
# emulator and one thread each, and peaks are measured per process), then
# the logs in turn. Their own process group, so that an early exit stops them.
# (Logs of an earlier run go first: `cat` below takes every slow-N.log.)
rm -f target/slow-[0-9].log
# One folder for the 100 MP uploads both make: the first makes them, the
# other waits and reads them (crates/testkit: large_uploads).
large=$(mktemp -d)
export IMGFLOW_LARGE_UPLOADS=$large
# shellcheck disable=SC2016 # the variables are the inner shell's
setsid sh -c 'n=0 pids=
while read -r test; do
  n=$((n + 1))
  "$test" --ignored --nocapture >"target/slow-$n.log" 2>&1 &
  pids="$pids $!"
done <target/slow-tests.txt
status=0
for pid in $pids; do wait "$pid" || status=1; done
cat target/slow-[0-9].log
exit $status' >target/slow.log 2>&1 &
slow_pid=$!

say "fuzz targets: started in the background, 30 s each (log: target/fuzz.log)"
# Seeds from the fixture builders (the example built above), then their own
# instrumented build in fuzz/target (its own lock: the end-to-end run's
# builds do not wait for it), then each target in turn. Its own process group.
setsid scripts/fuzz.sh 30 >target/fuzz.log 2>&1 &
fuzz_pid=$!

say "C codecs were built with SIMD"
# (nm output goes to a file: `nm | grep -q` would die of SIGPIPE under pipefail)
symbols() { for lib in "$@"; do nm "$lib" 2>/dev/null; done > target/symbols.txt; }
# (the engine's build script already refuses a mozjpeg without SIMD; this
# checks the archive itself)
symbols target/debug/build/mozjpeg-sys-*/out/libmozjpeg*.a
grep -q ' T jsimd_.*_avx2' target/symbols.txt || { echo "mozjpeg built without SIMD (nasm missing?)"; exit 1; }
symbols target/debug/build/libwebp-sys-*/out/libwebpsys.a
grep -qi ' t .*_SSE41' target/symbols.txt || { echo "libwebp built without SSE4.1"; exit 1; }
echo "mozjpeg: AVX2/SSE2 paths present; libwebp: SSE4.1 paths present"

say "smoke: the README's main job on the committed sample"
out=$(mktemp -d)
target/debug/imgflow process samples/astronaut.png --out "$out"
[ "$(find "$out" -type f | wc -l)" -eq 5 ] || { echo "expected 5 variants in $out"; ls -l "$out"; exit 1; }

say "local end-to-end: moto, terraform apply, upload, the function (cargo lambda), destroy"
scripts/local-e2e.sh

say "slow tests: 100 MP uploads (bootstrap at 2048 and 1024 MB, CLI), the 95 MP WebP (bootstrap)"
slow_status=0
wait "$slow_pid" || slow_status=$?
slow_pid=
grep -E 'MiB|^test ' target/slow.log || true
[ "$slow_status" = 0 ] || { cat target/slow.log; echo "the slow tests failed (exit $slow_status)"; exit 1; }
cat target/slow.log >>target/test.log

say "fuzz targets: 30 s each, no crash"
fuzz_status=0
wait "$fuzz_pid" || fuzz_status=$?
fuzz_pid=
cat target/fuzz.log
[ "$fuzz_status" = 0 ] || { echo "the fuzz targets failed (exit $fuzz_status)"; exit 1; }

say "terraform tests: fmt, validate, apply to moto (default, examples/*.tfvars), checkov"
terraform_status=0
wait "$terraform_pid" || terraform_status=$?
terraform_pid=
cat target/terraform.log
[ "$terraform_status" = 0 ] || { echo "the Terraform tests failed (exit $terraform_status)"; exit 1; }

say "summary"
{
  grep -E '^test result:' target/test.log | awk '{print $4, $6}'
  # pytest -q's last line: "49 passed in 191.5s" (or "2 failed, 47 passed in …")
  grep -E '(passed|failed).* in [0-9.]+s' target/terraform.log | tail -1 \
    | awk '{p=0; f=0; for (i=2;i<=NF;i++) { if ($i ~ /^passed/) p=$(i-1); if ($i ~ /^failed/) f=$(i-1) } print p, f}' \
    || true
} | awk '{p+=$1; f+=$2} END {printf "%d passed, %d failed\n", p, f}'
