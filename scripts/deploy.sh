#!/usr/bin/env bash
# Deploys imgflow: terraform init in terraform/, asks Terraform which
# architecture the function will have, builds the Lambda `bootstrap` for it
# (cargo lambda, Lambda build profile), packages it as a zip, runs terraform
# apply, and prints the outputs.
#
# Usage: scripts/deploy.sh [terraform apply options...]
#   scripts/deploy.sh                                  # asks before applying
#   scripts/deploy.sh -auto-approve -var log_level=DEBUG
#   scripts/deploy.sh -var architecture=x86_64
#   scripts/deploy.sh -var-file=examples/vpc.tfvars    # terraform/examples/
#   scripts/deploy.sh --print-architecture [options]   # only init and print it
# The architecture is the value of Terraform's `architecture` variable as
# Terraform itself resolves it (`terraform console` with the same -var and
# -var-file options): terraform.tfvars(.json), *.auto.tfvars(.json),
# TF_VAR_architecture, -var-file, -var. The apply is then given that value,
# so the build and the function cannot disagree.
# Needs: a Rust toolchain (rustup), Python 3.9+ (cargo-lambda and zig are
# installed, pinned, into a private virtual environment in the user's cache:
# scripts/python-tools.sh), Terraform >= 1.9, AWS credentials.
# TF_PLUGIN_DIR (optional): a local provider mirror for
# `terraform init -plugin-dir` (a machine without the registry); otherwise
# plain `terraform init`.
# Runs with the bash of macOS (3.2): empty arrays are expanded as
# ${a[@]+"${a[@]}"}, which `set -u` accepts there too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TF_DIR=${IMGFLOW_TF_DIR:-terraform}

say() { printf '\n== %s\n' "$*"; }
die() { printf 'deploy.sh: %s\n' "$*" >&2; exit 1; }

print_only=false
apply_args=()   # what the user gave, for terraform apply
console_args=() # the -var and -var-file options among them, for terraform console
prev=
for arg in "$@"; do
  case "$arg" in
    --print-architecture) print_only=true ;;
    *) apply_args+=("$arg") ;;
  esac
  # Both spellings: `-var x=y` (two arguments) and `-var=x=y`.
  case "$prev" in
    -var | -var-file) console_args+=("$prev" "$arg") ;;
  esac
  case "$arg" in
    -var=* | -var-file=*) console_args+=("$arg") ;;
  esac
  prev=$arg
done

# --- tools --------------------------------------------------------------------------
say "tools"
command -v terraform >/dev/null || die "terraform is not installed (https://developer.hashicorp.com/terraform/install)"
terraform version | sed -n 1p # head would close the pipe early: SIGPIPE under pipefail
if ! $print_only; then
  command -v cargo >/dev/null || die "cargo is not installed (https://rustup.rs)"
  command -v rustup >/dev/null || die "rustup is not installed (https://rustup.rs): it adds the Linux target"
  # cargo-lambda and the zig it cross-compiles with, pinned, in a private
  # virtual environment: pip into the system's Python is refused by
  # Homebrew's and recent Debian/Ubuntu's (PEP 668).
  # shellcheck source=scripts/python-tools.sh disable=SC1091 # (checked on its own)
  . scripts/python-tools.sh
  python_tools_path cargo-lambda || die "could not install cargo-lambda (above)"
  cargo lambda --version
fi

# --- terraform init -------------------------------------------------------------------
say "terraform init"
plugin_dir=${TF_PLUGIN_DIR:-}
init_args=(-input=false)
if [ -n "$plugin_dir" ]; then
  init_args+=("-plugin-dir=$plugin_dir")
fi
terraform -chdir="$TF_DIR" init ${init_args[@]+"${init_args[@]}"}

# --- which architecture: Terraform's answer ---------------------------------------------
# A -var-file path is relative to $TF_DIR, as for the apply.
# The value is the console's last line; an invalid one comes with the
# validation's error before it.
arch=$(echo 'var.architecture' | terraform -chdir="$TF_DIR" console -no-color ${console_args[@]+"${console_args[@]}"} | tail -n 1) \
  || die "terraform console could not evaluate var.architecture (above): check the -var/-var-file options"
case "$arch" in
  '"arm64"') arch=arm64 arch_flag=--arm64 target=aarch64-unknown-linux-gnu ;;
  '"x86_64"') arch=x86_64 arch_flag=--x86-64 target=x86_64-unknown-linux-gnu ;;
  *) die "architecture must be arm64 or x86_64, Terraform resolves it to $arch (see above)" ;;
esac
if $print_only; then
  echo "$arch"
  exit 0
fi
echo "architecture: $arch (as Terraform resolves it)"

# --- build and package --------------------------------------------------------------
say "build bootstrap for $arch ($target)"
installed=$(rustup target list --installed 2>/dev/null || true)
case "
$installed
" in
  *"
$target
"*) ;;
  *) rustup target add "$target" ;;
esac
# --profile lambda: thin LTO, one codegen unit, stripped (Cargo.toml).
lambda_dir="${CARGO_TARGET_DIR:-$PWD/target}/lambda"
cargo lambda build --profile lambda --bin bootstrap "$arch_flag" --output-format zip --lambda-dir "$lambda_dir"
zip_path="$lambda_dir/bootstrap/bootstrap.zip"
[ -f "$zip_path" ] || die "cargo lambda did not produce $zip_path"
python3 -c 'import sys, zipfile; sys.exit("bootstrap" not in zipfile.ZipFile(sys.argv[1]).namelist())' "$zip_path" \
  || die "$zip_path has no bootstrap"
ls -l "$zip_path"

# --- terraform apply ------------------------------------------------------------------
say "terraform apply"
# The architecture given last: it wins over every other source, so the
# function is what was built even if a file changed since.
terraform -chdir="$TF_DIR" apply -var "lambda_zip_path=$zip_path" ${apply_args[@]+"${apply_args[@]}"} \
  -var "architecture=$arch"

say "outputs"
terraform -chdir="$TF_DIR" output
upload=$(terraform -chdir="$TF_DIR" output -raw upload_command_example)
printf '\nTry it: %s\nThen:   aws s3 ls s3://%s/ --recursive\n' \
  "$upload" "$(terraform -chdir="$TF_DIR" output -raw processed_bucket_name)"
