#!/usr/bin/env bash
# The Terraform stack's tests, on a fresh machine: installs what it needs
# (moto server, boto3, pytest, the AWS CLI, checkov: pinned, each set in a
# private virtual environment in the user's cache, never the system's Python;
# scripts/python-tools.sh; shellcheck from apt when missing), then
#   1. terraform fmt -check, init, validate of terraform/ (the stack's one module);
#   2. tests/terraform: the sources checked (one definition of each variable,
#      docs/configuration.md's generated table current), then the stack applied
#      to moto server three times (defaults, examples/kms.tfvars,
#      examples/vpc.tfvars), checked through the AWS APIs, planned again (no
#      changes) and destroyed;
#   3. checkov over terraform/ with zero failed checks (it runs beside 2.:
#      it only reads the configuration).
# tests/terraform also holds the scripts' checks (shellcheck, bash 3.2 rules,
# no GNU-only commands, destroy.sh's failure paths, deploy.sh's architecture)
# and the variables' validations, planned with bad values.
# Usage: scripts/test-terraform.sh [pytest options, e.g. -k kms]
# TF_PLUGIN_DIR: a local provider mirror for `terraform init -plugin-dir`
# (default /opt/tf-plugins when it exists; otherwise plain `terraform init`).
# Nothing is written in terraform/: init, state and plans live in temporary folders.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\n== %s\n' "$*"; }
started=$(date +%s)
work=$(mktemp -d)
checkov_pid=''
trap '[ -z "$checkov_pid" ] || kill "$checkov_pid" 2>/dev/null; rm -rf "$work"' EXIT
# An unreadable CLI configuration only makes Terraform print warnings.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then
  : > "$work/terraformrc"
  export TF_CLI_CONFIG_FILE="$work/terraformrc"
fi
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 PYTHONDONTWRITEBYTECODE=1
# Terraform and the AWS provider are Go programs that build the provider's
# whole schema on every start: with the collector's default target (100%
# heap growth) about a quarter of their CPU time goes to garbage collection.
# These tests start them about 120 times; GOGC=400 takes most of it off
# (a plan: 7.9 CPU-s -> 5.9), for ~150 MiB more per process.
export GOGC=${GOGC:-400}

say "tools"
command -v terraform >/dev/null || { echo "terraform is not installed (>= 1.9 needed)" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# moto server, boto3, pytest and the AWS CLI (destroy.sh's tests run it):
# their environment's bin/ first on PATH, so `python3`, `aws` are its own.
# shellcheck source=scripts/python-tools.sh disable=SC1091 # (checked on its own)
. scripts/python-tools.sh
python_tools_path test
# checkov in an environment of its own, not on PATH: it pins boto3/botocore
# versions that would otherwise replace the ones moto runs with.
python_tools_venv checkov
checkov=$PYTHON_TOOLS_VENV/bin/checkov
# The scripts (deploy.sh and destroy.sh above all) must stay shellcheck-clean.
if ! command -v shellcheck >/dev/null; then
  if command -v apt-get >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
  else
    echo "shellcheck is not installed (brew install shellcheck)" >&2
    exit 1
  fi
fi
terraform version | sed -n 1p  # head would close the pipe early: SIGPIPE under pipefail
python3 -c 'import moto, boto3, pytest; print(f"moto {moto.__version__}, boto3 {boto3.__version__}, pytest {pytest.__version__}")'
aws --version
echo "checkov $("$checkov" --version)"
shellcheck --version | sed -n 2p

say "terraform fmt -check"
terraform fmt -check -recursive -diff terraform/

say "terraform init + validate (in a copy: terraform/ stays clean)"
mkdir -p "$work/repo"
cp -r terraform alarms dashboards "$work/repo/"
rm -rf "$work/repo/terraform/.terraform" "$work/repo/terraform"/*.tfstate* "$work/repo/terraform"/*.tfvars
# The AWS provider is ~700 MB and the tests initialise six copies of the
# configuration: they all use one local mirror (`init -plugin-dir`). It is
# /opt/tf-plugins on the project's machines; elsewhere it is downloaded once
# from the registry into the user's cache.
plugin_dir=${TF_PLUGIN_DIR:-/opt/tf-plugins}
if [ ! -d "$plugin_dir" ]; then
  plugin_dir=${XDG_CACHE_HOME:-$HOME/.cache}/imgflow/terraform-providers
  if [ ! -d "$plugin_dir/registry.terraform.io/hashicorp/aws" ]; then
    terraform -chdir="$work/repo/terraform" providers mirror -platform="$(terraform version -json | python3 -c 'import json, sys; print(json.load(sys.stdin)["platform"])')" "$plugin_dir"
  fi
fi
export TF_PLUGIN_DIR=$plugin_dir
init_args=(-input=false -no-color "-plugin-dir=$plugin_dir")
terraform -chdir="$work/repo/terraform" init ${init_args[@]+"${init_args[@]}"} >"$work/init.log" || { cat "$work/init.log"; exit 1; }
terraform -chdir="$work/repo/terraform" validate -no-color

say "checkov: started in the background"
# It reads the configuration only, so it runs beside the tests below.
# --skip-download: no calls to the vendor's platform (and no noise when offline).
"$checkov" --directory terraform --framework terraform --quiet --compact \
  --skip-download --skip-path '\.terraform' >"$work/checkov.txt" 2>&1 &
checkov_pid=$!

say "apply to moto server: defaults, examples/kms.tfvars, examples/vpc.tfvars"
# One worker per test file (pytest-xdist): the stack's three scenarios, the
# two regions and the validation plans mostly wait on moto and Terraform,
# so they wait side by side.
python3 -m pytest tests/terraform -p no:cacheprovider -q -ra --durations=3 -n 3 --dist loadfile "$@"

say "checkov"
wait "$checkov_pid" || true  # its verdict is the summary line below
checkov_pid=''
tail -n 30 "$work/checkov.txt"
summary=$(grep -m1 -E '^Passed checks: [0-9]+, Failed checks: [0-9]+, Skipped checks: [0-9]+' "$work/checkov.txt")
echo "$summary"
failed=$(printf '%s' "$summary" | sed -E 's/.*Failed checks: ([0-9]+).*/\1/')
if [ -z "$summary" ] || [ "$failed" != 0 ]; then
  echo "checkov: failed checks (see above)" >&2
  exit 1
fi

say "done in $(( $(date +%s) - started )) s"
