#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what it needs (nasm,
# moto, rustfmt, clippy; the Terraform runner adds pytest and checkov;
# the end-to-end run adds cargo-lambda), then format, lint, the workspace's
# unit + integration tests (the Lambda binary against moto, the Lambda
# benchmark's smoke run), SIMD check, a CLI smoke run, the Terraform stack
# applied to moto (three configurations) + checkov, and the local
# end-to-end run.
# Usage: scripts/test.sh        (CI runs exactly this through .ci/run)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

say "tools"
# nasm: mozjpeg's SIMD (without it the engine's build stops: the JPEG
# encoder would run 2-3x slower).
if ! command -v nasm >/dev/null; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nasm >/dev/null
fi
# moto server: the S3 API the Lambda's integration tests run against (each
# test starts its own on a free loopback port and stops it).
if ! command -v moto_server >/dev/null || ! python3 -c 'import moto, boto3' 2>/dev/null; then
  python3 -m pip install -q 'moto[server]' boto3
fi
for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done
cargo --version; nasm -v

say "format"
cargo fmt --all -- --check

say "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

say "tests"
cargo test --workspace --all-targets --locked 2>&1 | tee target/test.log
# Doc tests and --all-targets exclude each other; run the former too.
cargo test --workspace --doc --locked

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
trap 'rm -rf "$out"' EXIT
target/debug/imgflow process samples/astronaut.png --out "$out"
[ "$(ls "$out" | wc -l)" = 5 ] || { echo "expected 5 variants in $out"; ls -l "$out"; exit 1; }

say "terraform: fmt, validate, apply to moto (default, KMS, VPC), checkov"
scripts/test-terraform.sh 2>&1 | tee target/terraform.log

say "local end-to-end: moto, terraform apply, upload, the function, destroy"
scripts/local-e2e.sh

say "summary"
{
  grep -E '^test result:' target/test.log | awk '{print $4, $6}'
  # pytest -q's last line: "49 passed in 191.5s" (or "2 failed, 47 passed in …")
  grep -E '(passed|failed).* in [0-9.]+s' target/terraform.log | tail -1 \
    | awk '{p=0; f=0; for (i=2;i<=NF;i++) { if ($i ~ /^passed/) p=$(i-1); if ($i ~ /^failed/) f=$(i-1) } print p, f}' \
    || true
} | awk '{p+=$1; f+=$2} END {printf "%d passed, %d failed\n", p, f}'
