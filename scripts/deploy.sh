#!/usr/bin/env bash
# Deploys imgflow: builds the Lambda `bootstrap` for the function's
# architecture (cargo lambda, Lambda build profile), packages it as a zip,
# runs terraform init + apply in terraform/, and prints the outputs.
#
# Usage: scripts/deploy.sh [terraform apply options...]
#   scripts/deploy.sh                                  # asks before applying
#   scripts/deploy.sh -auto-approve -var log_level=DEBUG
#   scripts/deploy.sh -var architecture=x86_64
#   scripts/deploy.sh -var-file=examples/vpc.tfvars    # terraform/examples/
# The architecture is Terraform's `architecture` variable (arm64 by default),
# read from `-var architecture=…`, a `-var-file` (relative to terraform/, as
# Terraform reads it), TF_VAR_architecture or terraform/terraform.tfvars.
# Needs: a Rust toolchain (rustup), Python 3 + pip (cargo-lambda and zig are
# installed from PyPI when missing), Terraform >= 1.9, AWS credentials.
# TF_PLUGIN_DIR (default /opt/tf-plugins, when it exists): a local provider
# mirror for `terraform init -plugin-dir`; otherwise plain `terraform init`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TF_DIR=${IMGFLOW_TF_DIR:-terraform}

say() { printf '\n== %s\n' "$*"; }
die() { printf 'deploy.sh: %s\n' "$*" >&2; exit 1; }

# --- which architecture -----------------------------------------------------------
# The last `architecture = "…"` of a .tfvars file; a relative path is taken
# from $TF_DIR, as `terraform -chdir` does.
tfvars_arch() {
  local file=$1
  case "$file" in /*) ;; *) file=$TF_DIR/$file ;; esac
  [ -f "$file" ] || return 0
  sed -n 's/^[[:space:]]*architecture[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$file" | tail -1
}
arch=${TF_VAR_architecture:-}
prev=
# Later arguments win, as in Terraform.
for arg in "$@"; do
  case "$prev/$arg" in
    -var/architecture=*) arch=${arg#architecture=} ;;
    -var-file/*) from_file=$(tfvars_arch "$arg") && arch=${from_file:-$arch} ;;
  esac
  case "$arg" in
    -var=architecture=*) arch=${arg#-var=architecture=} ;;
    -var-file=*) from_file=$(tfvars_arch "${arg#-var-file=}") && arch=${from_file:-$arch} ;;
  esac
  prev=$arg
done
if [ -z "$arch" ]; then
  arch=$(tfvars_arch terraform.tfvars)
fi
arch=${arch:-arm64}
case "$arch" in
  arm64) arch_flag=--arm64 target=aarch64-unknown-linux-gnu ;;
  x86_64) arch_flag=--x86-64 target=x86_64-unknown-linux-gnu ;;
  *) die "architecture must be arm64 or x86_64, got '$arch'" ;;
esac
export TF_VAR_architecture=$arch

# --- tools --------------------------------------------------------------------------
say "tools"
command -v terraform >/dev/null || die "terraform is not installed (https://developer.hashicorp.com/terraform/install)"
command -v cargo >/dev/null || die "cargo is not installed (https://rustup.rs)"
if ! cargo lambda --version >/dev/null 2>&1; then
  python3 -m pip install -q cargo-lambda
fi
# cargo lambda cross-compiles with zig; PyPI's ziglang provides it.
if ! command -v zig >/dev/null && ! python3 -c 'import ziglang' 2>/dev/null; then
  python3 -m pip install -q ziglang
fi
rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target"
cargo lambda --version
terraform version | sed -n 1p  # head would close the pipe early: SIGPIPE under pipefail

# --- build and package --------------------------------------------------------------
say "build bootstrap for $arch ($target)"
# --profile lambda: thin LTO, one codegen unit, stripped (Cargo.toml).
lambda_dir="${CARGO_TARGET_DIR:-$PWD/target}/lambda"
cargo lambda build --profile lambda --bin bootstrap "$arch_flag" --output-format zip --lambda-dir "$lambda_dir"
zip_path="$lambda_dir/bootstrap/bootstrap.zip"
[ -f "$zip_path" ] || die "cargo lambda did not produce $zip_path"
unzip -l "$zip_path" | grep -q ' bootstrap$' || die "$zip_path has no bootstrap"
ls -l "$zip_path"

# --- terraform ----------------------------------------------------------------------
say "terraform init"
plugin_dir=${TF_PLUGIN_DIR:-/opt/tf-plugins}
init_args=(-input=false)
if [ -d "$plugin_dir" ]; then
  init_args+=("-plugin-dir=$plugin_dir")
fi
terraform -chdir="$TF_DIR" init "${init_args[@]}"

say "terraform apply"
terraform -chdir="$TF_DIR" apply -var "lambda_zip_path=$zip_path" "$@"

say "outputs"
terraform -chdir="$TF_DIR" output
upload=$(terraform -chdir="$TF_DIR" output -raw upload_command_example)
printf '\nTry it: %s\nThen:   aws s3 ls s3://%s/ --recursive\n' \
  "$upload" "$(terraform -chdir="$TF_DIR" output -raw processed_bucket_name)"
