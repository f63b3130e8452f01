#!/usr/bin/env bash
# Removes the whole imgflow stack, in an order that deletes nothing unless
# everything can go:
#   1. the AWS CLI reaches both buckets (head-bucket: they are there, or
#      already gone);
#   2. terraform plan -destroy (must succeed: the state is readable, the
#      credentials work, the configuration evaluates);
#   3. a confirmation (unless --yes);
#   4. both versioned buckets emptied (every object version and delete marker);
#   5. the saved destroy plan applied.
# Any failure stops the script with a message that says what was deleted.
#
# Usage: scripts/destroy.sh [--yes] [terraform plan options...]
#   --yes (or -auto-approve)   do not ask (for scripts)
#   scripts/destroy.sh -var-file=examples/vpc.tfvars   # the options the stack was deployed with
# Needs: Terraform, the AWS CLI, Python 3, credentials for the stack's account.
# This deletes every upload and every variant for good.
# Runs with the bash of macOS (3.2): empty arrays are expanded as
# ${a[@]+"${a[@]}"}, which `set -u` accepts there too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TF_DIR=${IMGFLOW_TF_DIR:-terraform}

say() { printf '\n== %s\n' "$*"; }
# What has been deleted so far, for the message of a failure.
progress="Nothing has been deleted."
die() {
  printf '\ndestroy.sh: %s\n' "$*" >&2
  printf 'destroy.sh: %s\n' "$progress" >&2
  exit 1
}

yes=false
plan_args=()  # for terraform plan -destroy: every option given
apply_args=() # for applying the saved plan: only those apply takes with a plan file
for arg in "$@"; do
  case "$arg" in
    --yes | -y | -auto-approve | -auto-approve=true) yes=true ;;
    -no-color | -compact-warnings | -parallelism=* | -lock=* | -lock-timeout=*)
      plan_args+=("$arg")
      apply_args+=("$arg")
      ;;
    *) plan_args+=("$arg") ;;
  esac
done

# Asking needs a terminal: without one, stop before the plan, not after it.
$yes || [ -t 0 ] || die "not a terminal: pass --yes to destroy without asking"
command -v terraform >/dev/null || die "terraform is not installed"
command -v aws >/dev/null || die "the AWS CLI is not installed"
command -v python3 >/dev/null || die "python3 is not installed"
[ -d "$TF_DIR/.terraform" ] || die "$TF_DIR is not initialised: nothing was deployed from here (run scripts/deploy.sh first)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Destroy evaluates the configuration, which reads the deployment package.
# It is never uploaded again, so a placeholder does when the build is gone.
given_zip=false
for arg in ${plan_args[@]+"${plan_args[@]}"}; do
  case "$arg" in *lambda_zip_path=*) given_zip=true ;; esac
done
if ! $given_zip; then
  zip_path="${CARGO_TARGET_DIR:-$PWD/target}/lambda/bootstrap/bootstrap.zip"
  if [ ! -f "$zip_path" ]; then
    zip_path="$tmp/bootstrap.zip"
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1], "w").writestr("bootstrap", "#!/bin/sh\nexit 1\n")' "$zip_path" \
      || die "could not make a placeholder package in $tmp"
  fi
  plan_args+=(-var "lambda_zip_path=$zip_path")
fi

# --- what is deployed ---------------------------------------------------------------
# An unreadable state (expired credentials for its backend, …) stops here:
# "no outputs" must mean an empty state, not an error.
terraform -chdir="$TF_DIR" output -json >"$tmp/outputs.json" 2>"$tmp/outputs.err" \
  || die "terraform output failed: $(cat "$tmp/outputs.err")"
output() {
  python3 -c 'import json, sys
v = json.load(open(sys.argv[1])).get(sys.argv[2], {}).get("value")
print("" if v is None else v)' "$tmp/outputs.json" "$1"
}
upload_bucket=$(output upload_bucket_name)
processed_bucket=$(output processed_bucket_name)
function_name=$(output function_name)
# S3 calls go to the stack's region, whatever the CLI's default is.
region=$(output aws_region)
region_args=()
[ -z "$region" ] || region_args=(--region "$region")

if [ -z "$upload_bucket$processed_bucket$function_name" ]; then
  echo "No imgflow stack in the Terraform state of $TF_DIR; the plan below shows what is left."
fi

# --- 1. the AWS CLI reaches the buckets (before the plan: it is quick) -------------------
# head-bucket: 0 = there; a 404 / NoSuchBucket = already gone; anything else
# (AccessDenied, expired credentials, throttling, a CLI that cannot start)
# stops the script: Terraform could not delete a bucket left full.
bucket_exists() {
  local bucket=$1 err
  if aws s3api head-bucket --bucket "$bucket" ${region_args[@]+"${region_args[@]}"} >/dev/null 2>"$tmp/head.err"; then
    return 0
  fi
  err=$(cat "$tmp/head.err")
  case "$err" in
    *"(404)"* | *NoSuchBucket* | *"Not Found"*) return 1 ;;
  esac
  die "$bucket: could not check the bucket (aws s3api head-bucket failed): ${err:-no message}"
}

say "the buckets, through the AWS CLI"
present=()
for bucket in $upload_bucket $processed_bucket; do
  if bucket_exists "$bucket"; then present+=("$bucket"); else echo "$bucket: already gone"; fi
done

# --- 2. Terraform must be able to destroy before anything is deleted ----------------
say "terraform plan -destroy"
terraform -chdir="$TF_DIR" plan -destroy -input=false -out="$tmp/destroy.tfplan" ${plan_args[@]+"${plan_args[@]}"} \
  || die "terraform plan -destroy failed (above): fix that first (credentials, -var/-var-file as deployed)."
# Options that point at another region than the stack's would plan against
# an empty region: Terraform would then forget the stack instead of deleting it.
if [ -n "$region" ]; then
  terraform -chdir="$TF_DIR" show -json "$tmp/destroy.tfplan" >"$tmp/plan.json" \
    || die "terraform show could not read the destroy plan"
  planned_region=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1])).get("variables", {}).get("aws_region", {}).get("value") or "")' "$tmp/plan.json")
  [ "$planned_region" = "$region" ] \
    || die "the stack is in $region, but these options plan in ${planned_region:-another region}: give the -var/-var-file it was deployed with (e.g. -var aws_region=$region)."
fi

# --- 3. confirmation -------------------------------------------------------------------
if ! $yes; then
  echo "This destroys the imgflow stack '${function_name:-?}' (the plan above) and DELETES FOR GOOD"
  echo "every object and every version in: ${upload_bucket:-} ${processed_bucket:-}"
  printf 'Type the function name (%s) to go on: ' "${function_name:-imgflow}"
  read -r answer
  [ "$answer" = "${function_name:-imgflow}" ] || die "not confirmed"
fi

# --- 4. empty the buckets -----------------------------------------------------------------
# Deletes up to 1000 versions and delete markers per call (500 of each per
# page) until the bucket lists none. A failed call, a version S3 refuses to
# delete (AccessDenied, Object Lock) or a page that comes back unchanged
# stops it: listing the same versions again would loop forever.
empty_bucket() {
  local bucket=$1 count total=0 previous=
  while :; do
    # shellcheck disable=SC2016 # JMESPath literals, not shell expansions
    aws s3api list-object-versions --bucket "$bucket" ${region_args[@]+"${region_args[@]}"} \
      --max-items 500 --output json \
      --query '{Objects: [Versions || `[]`, DeleteMarkers || `[]`][][].{Key: Key, VersionId: VersionId}, Quiet: `true`}' \
      >"$tmp/batch.json" 2>"$tmp/list.err" \
      || die "$bucket: listing its versions failed: $(cat "$tmp/list.err")"
    count=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["Objects"] or []))' "$tmp/batch.json") \
      || die "$bucket: unexpected answer to list-object-versions: $(cat "$tmp/batch.json")"
    [ "$count" -gt 0 ] || break
    if [ "$(cat "$tmp/batch.json")" = "$previous" ]; then
      die "$bucket: the same $count versions are still listed after they were deleted; $total were deleted."
    fi
    previous=$(cat "$tmp/batch.json")
    aws s3api delete-objects --bucket "$bucket" ${region_args[@]+"${region_args[@]}"} \
      --delete "file://$tmp/batch.json" --output json >"$tmp/deleted.json" 2>"$tmp/delete.err" \
      || die "$bucket: delete-objects failed: $(cat "$tmp/delete.err"); $total versions were deleted before."
    python3 - "$tmp/deleted.json" >"$tmp/errors.txt" <<'EOF' || die "$bucket: some versions could not be deleted: $(cat "$tmp/errors.txt"); $total were deleted before."
import json, sys
text = open(sys.argv[1]).read().strip()
errors = (json.loads(text) if text else {}).get("Errors") or []
for e in errors[:10]:
    print(f"{e.get('Key')} ({e.get('VersionId')}): {e.get('Code')} {e.get('Message')}")
sys.exit(1 if errors else 0)
EOF
    total=$((total + count))
    echo "$bucket: deleted $count versions and delete markers"
  done
  echo "$bucket: empty"
}

say "empty the buckets"
for bucket in ${present[@]+"${present[@]}"}; do
  progress="Emptying $bucket had started: some of its versions may be deleted; the stack itself is untouched. Fix the cause and run scripts/destroy.sh again."
  empty_bucket "$bucket"
  emptied="${emptied:-}${emptied:+, }$bucket"
  progress="Emptied (every version deleted): $emptied; the stack itself is untouched. Fix the cause and run scripts/destroy.sh again."
done

# --- 5. the plan that was shown -------------------------------------------------------------
say "terraform apply (the destroy plan)"
progress="The buckets are empty${emptied:+ ($emptied)}; terraform stopped part-way: what it deleted is no longer in its state. Run scripts/destroy.sh again."
terraform -chdir="$TF_DIR" apply -input=false ${apply_args[@]+"${apply_args[@]}"} "$tmp/destroy.tfplan" \
  || die "terraform apply of the destroy plan failed (above)."
echo "imgflow destroyed."
