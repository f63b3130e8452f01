"""One account, two regions: the stack applied twice to the same moto server
(eu-west-1 and us-east-2), so that every global name (IAM role, CloudWatch
dashboard, buckets) must differ. Then scripts/destroy.sh on the first one:
each way it can fail stops it before Terraform deletes anything, with a
message that says what was deleted; the real run removes that stack and
leaves the other one whole; and on the other, after its processed bucket
was deleted by hand, it takes the bucket as gone and destroys the rest.

The tests run in file order: the failures first, then the destroy."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness import ACCOUNT_ID, REPO, MotoServer, Stack
from conftest import KEEP

FIRST, SECOND = "eu-west-1", "us-east-2"

# An `aws` in front of the real one, failing the way the issue describes,
# according to FAKE_AWS_MODE; every call is logged in FAKE_AWS_LOG.
FAKE_AWS = """#!/bin/sh
echo "$*" >>"$FAKE_AWS_LOG"
case "$FAKE_AWS_MODE" in
  broken)  # a CLI that cannot start (a botocore pinned back by another package)
    echo "ImportError: cannot import name 'DEFAULT_CHECKSUM_ALGORITHM' from 'botocore.httpchecksum'" >&2
    exit 255 ;;
esac
for arg in "$@"; do
  case "$FAKE_AWS_MODE/$arg" in
    head-403/head-bucket)
      echo "An error occurred (403) when calling the HeadBucket operation: Forbidden" >&2
      exit 254 ;;
    delete-refused/delete-objects)  # Object Lock, or a policy denying s3:DeleteObjectVersion
      echo '{"Errors": [{"Key": "destroy-test/kept.txt", "VersionId": "v1", "Code": "AccessDenied", "Message": "Access Denied"}]}'
      exit 0 ;;
    delete-fails/delete-objects)
      echo "An error occurred (AccessDenied) when calling the DeleteObjects operation: Access Denied" >&2
      exit 254 ;;
    delete-nothing/delete-objects)  # answers, deletes nothing: the same page comes back
      echo '{}'
      exit 0 ;;
  esac
done
exec "$REAL_AWS" "$@"
"""


@pytest.fixture(scope="module")
def regions(tmp_path_factory):
    """region -> Stack, both applied to one moto server."""
    base = tmp_path_factory.mktemp("regions")
    moto = MotoServer(base / "moto.log")
    stacks = {r: Stack(f"region-{r}", None, region=r, shared_moto=moto) for r in (FIRST, SECOND)}

    def up(stack: Stack) -> None:
        stack.init()
        stack.apply()

    try:
        with ThreadPoolExecutor(2) as pool:
            for future in [pool.submit(up, s) for s in stacks.values()]:
                future.result()
        yield stacks
    finally:
        for s in stacks.values():
            s.close(keep=KEEP)
        moto.stop()


@pytest.fixture(scope="module")
def fake_aws(tmp_path_factory):
    real = shutil.which("aws")
    assert real, "the AWS CLI is not on PATH (scripts/test-terraform.sh puts it there)"
    bin_dir = tmp_path_factory.mktemp("fake-aws")
    script = bin_dir / "aws"
    script.write_text(FAKE_AWS)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bin_dir, real


def destroy_sh(
    stack: Stack, *args: str, fake=None, mode: str = "", log: Path | None = None, ask: bool = False
) -> subprocess.CompletedProcess:
    """scripts/destroy.sh --yes; with fake, behind the failing `aws` (and
    -refresh=false: what is checked happens after the plan, which need not
    read every resource again)."""
    env = {**stack.env, "IMGFLOW_TF_DIR": str(stack.tf_dir)}
    if fake:
        args = ("-refresh=false", *args)
        bin_dir, real = fake
        env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", REAL_AWS=real, FAKE_AWS_MODE=mode, FAKE_AWS_LOG=str(log))
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "destroy.sh"), *([] if ask else ["--yes"]), "-no-color", "-parallelism=20", *args],
        env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    (stack.root / f"destroy-sh-{mode or 'real'}.log").write_text(proc.stdout + proc.stderr)
    return proc


def only_looked(log: Path) -> bool:
    """The fake `aws` was asked nothing but head-bucket (or nothing at all)."""
    calls = log.read_text().splitlines() if log.exists() else []
    return all(call.startswith("s3api head-bucket ") for call in calls)


def buckets_of(stack: Stack) -> list[str]:
    return [stack.outputs["upload_bucket_name"], stack.outputs["processed_bucket_name"]]


def versions(stack: Stack, bucket: str) -> int:
    listed = stack.client("s3").list_object_versions(Bucket=bucket)
    return len(listed.get("Versions", [])) + len(listed.get("DeleteMarkers", []))


def lift_bucket_policies(stack: Stack) -> None:
    """moto gap (harness.py): it evaluates the TLS-only deny without the
    request's condition keys, so it refuses every object call, TLS or not.
    test_stack.py checks the statements; here they are lifted so that
    objects can be put and destroy.sh can list and delete them."""
    s3 = stack.client("s3")
    for bucket in buckets_of(stack):
        s3.delete_bucket_policy(Bucket=bucket)


def stack_is_whole(stack: Stack) -> None:
    """Everything of the stack is still there (and still in Terraform's state)."""
    assert stack.client("lambda").get_function(FunctionName="imgflow")["Configuration"]["FunctionName"] == "imgflow"
    iam = stack.client("iam")
    assert iam.get_role(RoleName=f"imgflow-function-{stack.region}")["Role"]
    assert stack.client("cloudwatch").get_dashboard(DashboardName=f"imgflow-{stack.region}")["DashboardBody"]
    for bucket in buckets_of(stack):
        stack.client("s3").head_bucket(Bucket=bucket)
    state = stack.tf("state", "list").stdout.split()
    assert "aws_lambda_function.this" in state and "aws_iam_role.function" in state


# --- two regions, one account ------------------------------------------------------------


def test_global_names_carry_the_region(regions):
    roles = {r["RoleName"] for r in regions[FIRST].client("iam").list_roles()["Roles"]}
    assert roles == {f"imgflow-function-{FIRST}", f"imgflow-function-{SECOND}"}
    for region, stack in regions.items():
        assert stack.outputs["aws_region"] == region
        assert stack.outputs["role_arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/imgflow-function-{region}"
        assert stack.outputs["dashboard_name"] == f"imgflow-{region}"
        assert stack.outputs["upload_bucket_name"] == f"imgflow-uploads-{ACCOUNT_ID}-{region}"
        dashboards = [d["DashboardName"] for d in stack.client("cloudwatch").list_dashboards()["DashboardEntries"]]
        assert dashboards == [f"imgflow-{region}"]
    # The second apply changed nothing of the first.
    plan = regions[FIRST].plan_exit_code()
    assert plan.returncode == 0, plan.stdout[-3000:]


def test_fill_the_first_stacks_buckets(regions):
    """Versions and delete markers for destroy.sh to remove (and to keep, when it fails)."""
    stack = regions[FIRST]
    s3 = stack.client("s3")
    lift_bucket_policies(stack)
    for bucket in buckets_of(stack):
        for body in (b"first", b"second"):
            s3.put_object(Bucket=bucket, Key="destroy-test/notes.txt", Body=body)
        s3.delete_object(Bucket=bucket, Key="destroy-test/notes.txt")
        s3.put_object(Bucket=bucket, Key="destroy-test/kept.txt", Body=b"kept")
        assert versions(stack, bucket) == 4


# --- destroy.sh stops before deleting ---------------------------------------------------------


def test_destroy_stops_when_terraform_cannot_plan_the_destroy(regions, fake_aws, tmp_path):
    stack = regions[FIRST]
    log = tmp_path / "aws.log"
    proc = destroy_sh(stack, "-var-file=examples/missing.tfvars", fake=fake_aws, mode="pass", log=log)
    assert proc.returncode == 1
    assert "terraform plan -destroy failed" in proc.stderr
    assert "Nothing has been deleted." in proc.stderr
    assert only_looked(log), "nothing but head-bucket before Terraform showed it can destroy"
    stack_is_whole(stack)
    assert [versions(stack, b) for b in buckets_of(stack)] == [4, 4]


def test_destroy_stops_when_the_options_plan_in_another_region(regions, fake_aws, tmp_path):
    # The second stack (us-east-2) without its -var aws_region: Terraform would
    # look for it in eu-west-1, find most of it missing, and forget it.
    stack = regions[SECOND]
    log = tmp_path / "aws.log"
    env_var = [a for a in stack.var_args if a.startswith("-var=aws_region")]
    assert env_var, "the second stack is deployed with -var aws_region"
    proc = destroy_sh(stack, fake=fake_aws, mode="pass", log=log)
    assert proc.returncode == 1
    assert f"the stack is in {SECOND}, but these options plan in {FIRST}" in proc.stderr
    assert "Nothing has been deleted." in proc.stderr
    assert only_looked(log)
    stack_is_whole(stack)


def test_destroy_asks_and_will_not_ask_without_a_terminal(regions, fake_aws, tmp_path):
    stack = regions[FIRST]
    log = tmp_path / "aws.log"
    proc = destroy_sh(stack, fake=fake_aws, mode="pass", log=log, ask=True)
    assert proc.returncode == 1
    assert "not a terminal: pass --yes to destroy without asking" in proc.stderr
    assert "Nothing has been deleted." in proc.stderr
    assert not log.exists()
    stack_is_whole(stack)


@pytest.mark.parametrize(
    "mode, message",
    [
        ("broken", "could not check the bucket (aws s3api head-bucket failed): ImportError"),
        ("head-403", "could not check the bucket (aws s3api head-bucket failed): An error occurred (403)"),
    ],
)
def test_destroy_stops_when_the_cli_cannot_check_the_buckets(regions, fake_aws, tmp_path, mode, message):
    stack = regions[FIRST]
    log = tmp_path / "aws.log"
    proc = destroy_sh(stack, fake=fake_aws, mode=mode, log=log)
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert message in proc.stderr
    assert "already gone" not in proc.stdout
    assert "Nothing has been deleted." in proc.stderr
    assert only_looked(log)
    # Checked before the plan: a broken CLI costs no plan.
    assert "terraform plan -destroy" not in proc.stdout
    stack_is_whole(stack)
    assert [versions(stack, b) for b in buckets_of(stack)] == [4, 4]


@pytest.mark.parametrize(
    "mode, message",
    [
        ("delete-refused", "some versions could not be deleted: destroy-test/kept.txt (v1): AccessDenied Access Denied"),
        ("delete-fails", "delete-objects failed: An error occurred (AccessDenied)"),
        ("delete-nothing", "the same 4 versions are still listed after they were deleted"),
    ],
)
def test_destroy_stops_when_versions_cannot_be_deleted(regions, fake_aws, tmp_path, mode, message):
    # Before: pipefail hid the failure, the same versions were listed again, forever.
    stack = regions[FIRST]
    log = tmp_path / "aws.log"
    proc = destroy_sh(stack, fake=fake_aws, mode=mode, log=log)
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert message in proc.stderr
    assert "Emptying imgflow-uploads-" in proc.stderr and "the stack itself is untouched" in proc.stderr
    assert log.read_text().count("delete-objects") <= 2
    stack_is_whole(stack)
    assert [versions(stack, b) for b in buckets_of(stack)] == [4, 4]


# --- the real destroy: one stack gone, the other whole ------------------------------------------------


def test_destroy_removes_one_region_and_leaves_the_other(regions):
    first, second = regions[FIRST], regions[SECOND]
    proc = destroy_sh(first)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    first.destroyed = True
    for bucket in buckets_of(first):
        assert f"{bucket}: empty" in proc.stdout
    assert "imgflow destroyed." in proc.stdout

    assert first.client("lambda").list_functions()["Functions"] == []
    assert first.client("cloudwatch").list_dashboards()["DashboardEntries"] == []
    assert first.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert first.client("sqs").list_queues().get("QueueUrls", []) == []
    assert first.client("sns").list_topics()["Topics"] == []
    assert first.client("logs").describe_log_groups()["logGroups"] == []
    roles = {r["RoleName"] for r in first.client("iam").list_roles()["Roles"]}
    assert roles == {f"imgflow-function-{SECOND}"}
    buckets = {b["Name"] for b in first.client("s3").list_buckets()["Buckets"]}
    assert buckets == set(buckets_of(second))

    stack_is_whole(second)
    assert len(second.client("cloudwatch").describe_alarms()["MetricAlarms"]) >= 7
    plan = second.plan_exit_code()
    assert plan.returncode == 0, f"the other region's stack changed:\n{plan.stdout[-3000:]}"


def test_destroy_goes_on_past_a_bucket_deleted_by_hand(regions):
    """The other stack, after someone deleted its processed bucket by hand:
    head-bucket's 404 reads as already gone, and the rest is destroyed."""
    stack = regions[SECOND]
    uploads, processed = buckets_of(stack)
    s3 = stack.client("s3")
    lift_bucket_policies(stack)
    s3.delete_bucket(Bucket=processed)
    proc = destroy_sh(stack, *stack.var_args)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    stack.destroyed = True
    assert f"{processed}: already gone" in proc.stdout
    assert f"{uploads}: empty" in proc.stdout
    assert "imgflow destroyed." in proc.stdout
    assert not {b["Name"] for b in s3.list_buckets()["Buckets"]} & {uploads, processed}
    assert stack.client("lambda").list_functions()["Functions"] == []
    roles = {r["RoleName"] for r in stack.client("iam").list_roles()["Roles"]}
    assert f"imgflow-function-{SECOND}" not in roles
    assert stack.client("cloudwatch").list_dashboards()["DashboardEntries"] == []
    assert stack.client("sqs").list_queues().get("QueueUrls", []) == []
