#!/usr/bin/env bash
# The whole stack on this machine, no AWS account:
#   moto server → terraform apply (terraform/, its provider pointed at moto)
#   → build → upload an image with the AWS CLI → deliver the S3 event to the
#   function, run locally with the deployed configuration (`cargo lambda
#   watch` + `cargo lambda invoke`: the real bootstrap under cargo-lambda's
#   Runtime API, as the README shows) → list the processed bucket →
#   terraform destroy.
# Usage: scripts/local-e2e.sh [IMAGE]     (scripts/test.sh runs it in CI)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
image=${1:-samples/astronaut.png}
[ -f "$image" ] || { echo "local-e2e: $image: no such file" >&2; exit 2; }
say() { printf '\n== %s\n' "$*"; }

say "tools"
# Pinned, in private virtual environments in the user's cache (never the
# system's Python): cargo-lambda, then moto server, boto3 and the AWS CLI,
# whose bin/ ends up first (its python3 imports the tests' harness).
# shellcheck source=scripts/python-tools.sh disable=SC1091 # (checked on its own)
. scripts/python-tools.sh
python_tools_path cargo-lambda
python_tools_path test
command -v terraform >/dev/null \
  || { echo "local-e2e: terraform not found (https://developer.hashicorp.com/terraform/install)" >&2; exit 2; }

work=$(mktemp -d)
# A TF_CLI_CONFIG_FILE that does not exist only makes Terraform warn.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then
  export TF_CLI_CONFIG_FILE=$work/terraformrc
  : >"$TF_CLI_CONFIG_FILE"
fi
terraform version | sed -n 1p  # head would close the pipe early: SIGPIPE under pipefail
moto_pid=
watch_pid=
applied=
cleanup() {
  status=$?
  [ -n "$watch_pid" ] && kill -- "-$watch_pid" 2>/dev/null
  if [ -n "$applied" ]; then
    say "destroy (on exit)"
    terraform -chdir="$work/terraform" destroy -input=false -no-color -auto-approve >"$work/destroy.log" 2>&1 \
      || { echo "local-e2e: terraform destroy failed:"; tail -20 "$work/destroy.log"; status=1; }
  fi
  [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null && wait "$moto_pid" 2>/dev/null
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

say "moto server"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
endpoint=http://127.0.0.1:$port
for _ in $(seq 150); do
  python3 -c "import urllib.request; urllib.request.urlopen('$endpoint/moto-api/', timeout=1)" 2>/dev/null && break
  sleep 0.2
done
echo "moto on $endpoint"
export AWS_ENDPOINT_URL=$endpoint AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1 AWS_PAGER=

say "build"
# The whole workspace, as the tests and `cargo lambda watch` build it: one build.
cargo build --locked --bins
bin=$repo/target/debug
python3 - "$bin/bootstrap" "$work/bootstrap.zip" <<'EOF'
import sys, zipfile
info = zipfile.ZipInfo("bootstrap", date_time=(2024, 1, 1, 0, 0, 0))
info.external_attr = 0o755 << 16
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z, open(sys.argv[1], "rb") as f:
    z.writestr(info, f.read())
EOF

say "terraform apply (root configuration → moto)"
for folder in terraform alarms dashboards; do
  cp -r "$folder" "$work/"
done
rm -rf "$work"/terraform/.terraform "$work"/terraform/*.tfstate* "$work"/terraform/*_override.tf
# The provider override (endpoints → moto) and the emulator's known gaps come
# from the Terraform tests' harness, so both use the same, commented list.
python3 - "$endpoint" "$work/terraform" <<'EOF'
import sys
from pathlib import Path
sys.path.insert(0, "tests/terraform")
from harness import MOTO_GAPS_OVERRIDE, provider_override
tf = Path(sys.argv[2])
(tf / "provider_override.tf").write_text(provider_override(sys.argv[1]))
(tf / "moto_gaps_override.tf").write_text(MOTO_GAPS_OVERRIDE)
EOF
cat >"$work/terraform/e2e.auto.tfvars.json" <<EOF
{"name": "imgflow-e2e", "lambda_zip_path": "$work/bootstrap.zip", "architecture": "x86_64", "force_destroy": true}
EOF
# A local provider mirror, as in test-terraform.sh: TF_PLUGIN_DIR, else the
# test machines' /opt/tf-plugins when it exists, else the registry.
plugins=${TF_PLUGIN_DIR:-/opt/tf-plugins}
init_args=(-input=false -no-color)
[ -d "$plugins" ] && init_args+=("-plugin-dir=$plugins")
# GOGC: a quarter less CPU for Terraform and its provider (see test-terraform.sh).
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 GOGC=${GOGC:-400}
terraform -chdir="$work/terraform" init ${init_args[@]+"${init_args[@]}"} >"$work/init.log" 2>&1 \
  || { cat "$work/init.log"; exit 1; }
applied=yes
terraform -chdir="$work/terraform" apply -input=false -no-color -auto-approve -parallelism=20 >"$work/apply.log" 2>&1 \
  || { tail -40 "$work/apply.log"; exit 1; }
grep -E '^Apply complete' "$work/apply.log"
out() { terraform -chdir="$work/terraform" output -raw "$1"; }
upload=$(out upload_bucket_name)
processed=$(out processed_bucket_name)
function=$(out function_name)
echo "upload bucket $upload · processed bucket $processed · function $function"

say "emulator gap: the TLS-only bucket policies"
# moto (5.x) cannot evaluate aws:SecureTransport: it treats any condition it
# has no value for as an explicit Deny, so every object request to a bucket
# with the TLS-only policy gets 403. The policies were applied (the Terraform
# tests assert their content); here they are removed from the emulator's
# buckets only, after checking they are there, so that objects can move.
for bucket in "$upload" "$processed"; do
  aws s3api get-bucket-policy --bucket "$bucket" --query Policy --output text | grep -q 'aws:SecureTransport' \
    || { echo "local-e2e: $bucket has no TLS-only policy" >&2; exit 1; }
  aws s3api delete-bucket-policy --bucket "$bucket"
  echo "$bucket: TLS-only policy present; removed on the emulator"
done

say "upload with the AWS CLI"
key="e2e/photos/$(basename "$image")"
aws s3 cp --only-show-errors "$image" "s3://$upload/$key"
aws s3 ls "s3://$upload/$key"

say "the upload bucket notifies the function"
# shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
aws s3api get-bucket-notification-configuration --bucket "$upload" \
  --query 'LambdaFunctionConfigurations[].[LambdaFunctionArn, join(`,`, Events)]' --output text \
  | tee "$work/notification.txt"
grep -q ":function:$function" "$work/notification.txt" \
  || { echo "local-e2e: the notification does not target $function" >&2; exit 1; }

say "deliver the S3 event to the function (cargo lambda, the deployed environment)"
# The function's environment as Terraform configured it (PROCESSED_BUCKET,
# qualities, limits, …); the S3 endpoint and credentials are moto's.
eval "$(aws lambda get-function-configuration --function-name "$function" --output json \
  | python3 -c 'import json, shlex, sys
for k, v in json.load(sys.stdin)["Environment"]["Variables"].items():
    print(f"export {k}={shlex.quote(v)}")')"
echo "PROCESSED_BUCKET=$PROCESSED_BUCKET"
# The notification S3 sends (key encoded S3's way): event name, key, size,
# sequencer, version id.
s3_event() {
  python3 - "$upload" "$@" <<'EOF'
import json, sys, urllib.parse
bucket, name, key, size, sequencer, version = sys.argv[1:7]
obj = {"key": urllib.parse.quote_plus(key, safe="/"), "sequencer": sequencer}
if size:
    obj["size"] = int(size)
if version:
    obj["versionId"] = version
print(json.dumps({"Records": [{
    "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
    "eventTime": "2026-01-01T00:00:00.000Z", "eventName": name,
    "userIdentity": {"principalId": "local-e2e"},
    "requestParameters": {"sourceIPAddress": "127.0.0.1"}, "responseElements": {},
    "s3": {"s3SchemaVersion": "1.0", "configurationId": "imgflow",
           "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}",
                      "ownerIdentity": {"principalId": "local-e2e"}},
           "object": obj}}]}))
EOF
}
s3_event ObjectCreated:Put "$key" "$(wc -c <"$image")" 0000000000000001 "" >"$work/event.json"
invoke_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Its own process group, so that the function it starts is stopped with it.
setsid cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$invoke_port" \
  >"$work/function.log" 2>&1 &
watch_pid=$!
for _ in $(seq 300); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $invoke_port), 1)" 2>/dev/null && break
  sleep 0.2
done
deliver() {
  cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$invoke_port" \
    --data-file "$1" bootstrap | tee "$2"
  echo
}
deliver "$work/event.json" "$work/response.json"
grep -q '"outcome":"processed"' "$work/response.json" \
  || { echo "local-e2e: the invocation did not process the image:"; tail -20 "$work/function.log"; exit 1; }

say "the processed bucket: five variants and the upload's manifest"
aws s3 ls --recursive "s3://$processed/" | tee "$work/processed.txt"
count=$(grep -c . "$work/processed.txt" || true)
[ "$count" = 6 ] || { echo "local-e2e: expected 5 variants and a manifest, found $count objects" >&2; exit 1; }
aws s3 cp --only-show-errors "s3://$processed/$key.json" - | tee "$work/manifest.json"
python3 - "$work/manifest.json" "$work/processed.txt" <<'EOF'
import json, sys
manifest = json.load(open(sys.argv[1]))
listed = open(sys.argv[2]).read()
assert len(manifest["variants"]) == 5, manifest
for v in manifest["variants"]:
    assert v["key"] in listed, f"the manifest names {v['key']}, which is not there"
EOF
grep -q '"ImagesProcessed"' "$work/function.log" || { echo "local-e2e: no EMF record in the function's output" >&2; exit 1; }

say "delete the upload: the function removes its manifest and variants"
# The upload bucket is versioned: the delete leaves a delete marker.
marker=$(aws s3api delete-object --bucket "$upload" --key "$key" --query VersionId --output text)
echo "delete marker $marker"
s3_event ObjectRemoved:DeleteMarkerCreated "$key" "" 0000000000000002 "$marker" >"$work/delete-event.json"
deliver "$work/delete-event.json" "$work/delete-response.json"
grep -q '"outcome":"removed"' "$work/delete-response.json" \
  || { echo "local-e2e: the delete was not handled:"; tail -20 "$work/function.log"; exit 1; }
left=$(aws s3 ls --recursive "s3://$processed/" | grep -c . || true)
[ "$left" = 0 ] || { echo "local-e2e: $left object(s) left in the processed bucket" >&2; exit 1; }
echo "the processed bucket is empty"
kill -- "-$watch_pid" 2>/dev/null || true
wait "$watch_pid" 2>/dev/null || true
watch_pid=

say "empty the buckets"
# moto (5.x) cannot delete a delete marker once a bucket's versioning is
# suspended, which Terraform does before it empties a bucket with
# force_destroy: the delete path above leaves markers, so they go first.
python3 - "$upload" "$processed" <<'EOF'
import sys, boto3
s3 = boto3.client("s3")
for bucket in sys.argv[1:]:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [{"Key": o["Key"], "VersionId": o["VersionId"]}
                  for o in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if doomed:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
    print(f"{bucket}: emptied")
EOF

say "destroy"
# Versioned buckets: force_destroy=true lets Terraform empty them.
terraform -chdir="$work/terraform" destroy -input=false -no-color -auto-approve >"$work/destroy.log" 2>&1 \
  || { tail -40 "$work/destroy.log"; exit 1; }
applied=
grep -E '^Destroy complete' "$work/destroy.log"
echo "local-e2e: OK"
