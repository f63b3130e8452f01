"""Fixtures: the three scenarios are applied to three moto servers at the same
time (most of an apply is the AWS provider's consistency waits, not CPU), the
tests look at them through boto3, and the second plans and destroys run
together at the end.

IMGFLOW_TF_KEEP=1 keeps the temporary folders (state, logs, moto log)."""

from __future__ import annotations

import os
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


def _tear_down(stack: Stack) -> dict:
    """Second plan (must show no changes), then terraform destroy.
    (scripts/destroy.sh, with versioned objects in the buckets, is
    test_regions.py's: it destroys a stack of the defaults.)"""
    return {"plan": stack.plan_exit_code(), "destroy": stack.destroy()}


@pytest.fixture(scope="session")
def teardown(stacks):
    """scenario -> {"plan": CompletedProcess, "destroy": CompletedProcess}."""
    live = {n: s for n, s in stacks.items() if isinstance(s, Stack)}
    with ThreadPoolExecutor(max(1, len(live))) as pool:
        futures = {n: pool.submit(_tear_down, s) for n, s in live.items()}
    return {n: f.result() for n, f in futures.items()}
