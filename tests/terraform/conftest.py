"""Fixtures: the three scenarios are applied to three moto servers at the same
time (most of an apply is the AWS provider's consistency waits, not CPU), the
tests look at them through boto3, and the second plans and destroys run
together at the end.

IMGFLOW_TF_KEEP=1 keeps the temporary folders (state, logs, moto log)."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness import REPO, Stack

# name -> the -var-file of the scenario, relative to terraform/ (lambda_zip_path
# is added by the harness). Besides the defaults (what `scripts/deploy.sh`
# deploys), every example in terraform/examples/ is a scenario, so that each is
# applied as written: kms (customer-managed key, alarm e-mail) and vpc (new VPC,
# trigger prefix, x86_64).
EXAMPLES = sorted((REPO / "terraform" / "examples").glob("*.tfvars"))
SCENARIOS: dict[str, str | None] = {
    "default": None,
    **{example.stem: f"examples/{example.name}" for example in EXAMPLES},
}

KEEP = os.environ.get("IMGFLOW_TF_KEEP") == "1"


def _bring_up(name: str) -> Stack:
    stack = Stack(name, SCENARIOS[name])
    try:
        stack.init()
        # The plan of the full configuration (its own copy) runs during the apply.
        with ThreadPoolExecutor(1) as pool:
            planned = pool.submit(stack.plan_full_configuration)
            stack.apply()
            planned.result()
    except BaseException:
        stack.close(keep=True)
        raise
    return stack


@pytest.fixture(scope="session")
def stacks():
    """scenario -> Stack, or the exception that stopped it."""
    with ThreadPoolExecutor(len(SCENARIOS)) as pool:
        futures = {name: pool.submit(_bring_up, name) for name in SCENARIOS}
    result: dict[str, Stack | BaseException] = {}
    for name, future in futures.items():
        try:
            result[name] = future.result()
        except BaseException as e:  # reported by each test of the scenario
            result[name] = e
    yield result
    for s in result.values():
        if isinstance(s, Stack):
            s.close(keep=KEEP)


@pytest.fixture(params=list(SCENARIOS))
def stack(request, stacks) -> Stack:
    s = stacks[request.param]
    if isinstance(s, BaseException):
        pytest.fail(f"scenario {request.param} did not apply: {s}", pytrace=False)
    return s


def _fill_versioned_buckets(stack: Stack) -> None:
    """Two versions and a delete marker in each bucket: what destroy.sh must remove."""
    s3 = stack.client("s3")
    for bucket in (stack.outputs["upload_bucket_name"], stack.outputs["processed_bucket_name"]):
        # moto gap: it evaluates bucket-policy denies on object calls without
        # the request's condition keys, so the TLS-only deny
        # (aws:SecureTransport = false, s3:TlsVersion < 1.2) refuses every
        # object call (403), TLS or not. The policy was checked by
        # test_buckets_…; it is removed here only so that objects can be put
        # and destroy.sh can delete them.
        s3.delete_bucket_policy(Bucket=bucket)
        # Outside any trigger prefix, and not an image: nothing to process.
        for body in (b"first", b"second"):
            s3.put_object(Bucket=bucket, Key="destroy-test/notes.txt", Body=body)
        s3.delete_object(Bucket=bucket, Key="destroy-test/notes.txt")
        s3.put_object(Bucket=bucket, Key="destroy-test/kept.txt", Body=b"kept")


def _tear_down(stack: Stack) -> dict:
    """Second plan (must show no changes), then destroy. The default scenario is
    destroyed by scripts/destroy.sh --yes, with versioned objects in its buckets."""
    out: dict = {}
    plan = stack.plan_exit_code()
    out["plan"] = plan
    if stack.scenario == "default":
        _fill_versioned_buckets(stack)
        proc = subprocess.run(
            ["bash", str(REPO / "scripts" / "destroy.sh"), "--yes", "-no-color", "-parallelism=20"],
            env={**stack.env, "IMGFLOW_TF_DIR": str(stack.tf_dir)},
            capture_output=True,
            text=True,
        )
        (stack.root / "destroy-script.log").write_text(proc.stdout + proc.stderr)
        stack.destroyed = proc.returncode == 0
        out["destroy"] = proc
    else:
        out["destroy"] = stack.destroy()
    return out


@pytest.fixture(scope="session")
def teardown(stacks):
    """scenario -> {"plan": CompletedProcess, "destroy": CompletedProcess}."""
    live = {n: s for n, s in stacks.items() if isinstance(s, Stack)}
    with ThreadPoolExecutor(max(1, len(live))) as pool:
        futures = {n: pool.submit(_tear_down, s) for n, s in live.items()}
    return {n: f.result() for n, f in futures.items()}
