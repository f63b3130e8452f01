#!/usr/bin/env bash
# Removes the whole imgflow stack: after a confirmation, empties both
# (versioned) buckets — every object version and delete marker — then runs
# terraform destroy in terraform/.
#
# Usage: scripts/destroy.sh [--yes] [terraform destroy options...]
#   --yes    do not ask (for scripts); terraform destroy then runs with -auto-approve
# Needs: Terraform, the AWS CLI, credentials for the stack's account.
# This deletes every upload and every variant for good.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TF_DIR=${IMGFLOW_TF_DIR:-terraform}

die() { printf 'destroy.sh: %s\n' "$*" >&2; exit 1; }
say() { printf '\n== %s\n' "$*"; }

yes=false
tf_args=()
for arg in "$@"; do
  case "$arg" in
    --yes | -y) yes=true ;;
    *) tf_args+=("$arg") ;;
  esac
done

command -v terraform >/dev/null || die "terraform is not installed"
command -v aws >/dev/null || die "the AWS CLI is not installed"
[ -d "$TF_DIR/.terraform" ] || die "$TF_DIR is not initialised: nothing was deployed from here (run scripts/deploy.sh first)"

# Destroy evaluates the configuration, which reads the deployment package.
# It is never uploaded again, so a placeholder does when the build is gone.
zip_args=()
if ! printf '%s\n' "${tf_args[@]}" | grep -q 'lambda_zip_path='; then
  zip_path="${CARGO_TARGET_DIR:-$PWD/target}/lambda/bootstrap/bootstrap.zip"
  if [ ! -f "$zip_path" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    printf '#!/bin/sh\nexit 1\n' > "$tmp/bootstrap"
    (cd "$tmp" && zip -q bootstrap.zip bootstrap)
    zip_path="$tmp/bootstrap.zip"
  fi
  zip_args=(-var "lambda_zip_path=$zip_path")
fi

output() { terraform -chdir="$TF_DIR" output -raw "$1" 2>/dev/null || true; }
buckets=()
for name in upload_bucket_name processed_bucket_name; do
  b=$(output "$name")
  [ -n "$b" ] && buckets+=("$b")
done
function_name=$(output function_name)

if [ "${#buckets[@]}" -eq 0 ] && [ -z "$function_name" ]; then
  echo "No imgflow stack in the Terraform state of $TF_DIR; running terraform destroy anyway."
fi

if ! $yes; then
  [ -t 0 ] || die "not a terminal: pass --yes to destroy without asking"
  echo "This destroys the imgflow stack '${function_name:-?}' and DELETES FOR GOOD every object"
  echo "and every version in: ${buckets[*]:-(no buckets)}"
  read -r -p "Type the function name (${function_name:-imgflow}) to go on: " answer
  [ "$answer" = "${function_name:-imgflow}" ] || die "not confirmed; nothing was changed"
fi

# Deletes up to 1000 versions/delete markers per call (500 of each per page)
# until the bucket lists nothing.
empty_bucket() {
  local bucket=$1 batch count
  if ! aws s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
    echo "$bucket: already gone"
    return
  fi
  while :; do
    # shellcheck disable=SC2016 # JMESPath literals, not shell expansions
    batch=$(aws s3api list-object-versions --bucket "$bucket" --max-items 500 --output json \
      --query '{Objects: [Versions || `[]`, DeleteMarkers || `[]`][][].{Key: Key, VersionId: VersionId}, Quiet: `true`}')
    count=$(printf '%s' "$batch" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["Objects"] or []))')
    [ "$count" -gt 0 ] || break
    aws s3api delete-objects --bucket "$bucket" --delete "$batch" --output json \
      --query 'Errors[].[Key, VersionId, Code, Message]' | grep -v '^null$' | grep -v '^\[\]$' && die "$bucket: some versions could not be deleted (above)"
    echo "$bucket: deleted $count versions and delete markers"
  done
  echo "$bucket: empty"
}

say "empty the buckets"
for b in "${buckets[@]}"; do
  empty_bucket "$b"
done

say "terraform destroy"
approve=()
$yes && approve=(-auto-approve)
terraform -chdir="$TF_DIR" destroy -input=false "${approve[@]}" "${zip_args[@]}" "${tf_args[@]}"
echo "imgflow destroyed."
