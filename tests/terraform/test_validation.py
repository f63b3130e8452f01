"""Inputs AWS would refuse (or silently mishandle) are refused at plan time,
each with its message. Every variable gets one bad value per plan, so one
plan checks several rules.

The variables' validation rules are planned on terraform/variables.tf alone,
copied as it is: its rules read only variables, so a configuration of that
file evaluates them exactly as the stack does, without loading the AWS
provider (0.2 CPU-s a plan instead of ~4.5). A rule that came to read
anything else would fail that plan, and so its test. The preconditions
(which need the provider's region) and a plan of good edge values, which
shows the rules refuse nothing AWS accepts, plan the whole configuration
against moto (nothing is applied)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness import REGION, REPO, Stack, terraform_env

OTHER_ACCOUNT_KEY = "arn:aws:kms:{region}:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"

# name -> ({variable: value}, [messages expected, one per variable])
CASES: dict[str, tuple[dict, list[str]]] = {
    "adjacent-dots-ip-aws-tag-non-ascii-over-900": (
        {
            "upload_bucket_name": "photos..uploads",
            "processed_bucket_name": "192.168.5.4",
            "tags": {"aws:owner": "me"},
            "service_name": "imgflow-é",
            "reserved_concurrency": 1000,
        },
        [
            "upload_bucket_name must not contain two adjacent dots.",
            "processed_bucket_name must not be formatted as an IP address.",
            'tag keys must not start with "aws:" (reserved for AWS).',
            "service_name must be 1-255 printable ASCII characters, not only spaces",
            "reserved_concurrency must be null (unreserved) or a whole number from 1 to 900",
        ],
    ),
    "prefix-suffix-tag-value-blank-zero": (
        {
            "upload_bucket_name": "xn--photos",
            "processed_bucket_name": "photos-s3alias",
            "tags": {"team": "images!"},
            "service_name": "   ",
            "reserved_concurrency": 0,
        },
        [
            "upload_bucket_name must not start with xn--, sthree- or amzn-s3-demo-",
            "processed_bucket_name must not start with xn--, sthree- or amzn-s3-demo-, nor end with -s3alias",
            "tag values must be at most 256 characters of letters, digits, spaces and _ . : / = + - @.",
            "service_name must be 1-255 printable ASCII characters",
            "reserved_concurrency must be null (unreserved) or a whole number",
        ],
    ),
    "characters-lengths-fraction": (
        {
            "upload_bucket_name": "Photos",
            "processed_bucket_name": "photos--x-s3",
            "tags": {"k" * 129: "v"},
            "service_name": "s" * 256,
            "reserved_concurrency": 2.5,
        },
        [
            "upload_bucket_name must be 3-63 characters of lower-case letters, digits, dots and hyphens",
            "processed_bucket_name must not start with xn--, sthree- or amzn-s3-demo-, nor end with",
            "tag keys must be 1-128 characters of letters, digits, spaces and _ . : / = + - @.",
            "service_name must be 1-255 printable ASCII characters",
            "reserved_concurrency must be null (unreserved) or a whole number",
        ],
    ),
    "reserved-prefixes-long-value-control-character": (
        {
            "upload_bucket_name": "amzn-s3-demo-photos",
            "processed_bucket_name": "sthree-photos",
            "tags": {"team": "v" * 257},
            "service_name": "imgflow\t1",
        },
        [
            "upload_bucket_name must not start with xn--, sthree- or amzn-s3-demo-",
            "processed_bucket_name must not start with xn--, sthree- or amzn-s3-demo-",
            "tag values must be at most 256 characters",
            "service_name must be 1-255 printable ASCII characters",
        ],
    ),
    "reserved-suffixes-too-long": (
        {"upload_bucket_name": "photos.mrap", "processed_bucket_name": "p" * 64, "tags": {"team:a": "b", "": "x"}},
        [
            "upload_bucket_name must not start with xn--, sthree- or amzn-s3-demo-, nor end with",
            "processed_bucket_name must be 3-63 characters",
            "tag keys must be 1-128 characters",
        ],
    ),
}

# Preconditions (the region is known only from the provider; the two
# buckets compared once both names are known): one plan each.
PRECONDITION_CASES = {
    "same-bucket-twice": (
        {"upload_bucket_name": "photos-1", "processed_bucket_name": "photos-1"},
        "The upload and processed buckets must differ: the function would otherwise process its own output.",
    ),
    "kms-key-of-another-region": (
        {"enable_kms": True, "kms_key_arn": OTHER_ACCOUNT_KEY.format(region="us-east-1")},
        f"kms_key_arn must be a key in the stack's region ({REGION}) and partition (aws): KMS keys are regional",
    ),
    "kms-key-of-another-partition": (
        {"enable_kms": True, "kms_key_arn": "arn:aws-cn:kms:eu-west-1:210987654321:key/1234abcd"},
        f"kms_key_arn must be a key in the stack's region ({REGION}) and partition (aws)",
    ),
}

# What AWS accepts must pass: edge values of every rule above.
GOOD = {
    "upload_bucket_name": "my.photos-2024.uploads",
    "processed_bucket_name": "a1b",
    "tags": {"Team": "Équipe Données/Images", "cost:center": "a+b=c@d_e.f", "empty": "", "k" * 128: "v" * 256},
    "service_name": "svc name:1 (prod)/~",
    "reserved_concurrency": 900,
    "enable_kms": True,
    "kms_key_arn": OTHER_ACCOUNT_KEY.format(region=REGION),  # another account's key is allowed
}


def flat(text: str) -> str:
    """Terraform wraps its messages: compare with whitespace collapsed."""
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def variables_only(tmp_path_factory):
    """terraform/variables.tf alone, initialised (no provider to install)."""
    work = tmp_path_factory.mktemp("variables-only")
    shutil.copy(REPO / "terraform" / "variables.tf", work / "variables.tf")
    # The package, as the harness and scripts/deploy.sh pass it.
    (work / "test.auto.tfvars.json").write_text(json.dumps({"lambda_zip_path": str(work / "bootstrap.zip")}))
    env = terraform_env(work)
    proc = subprocess.run(
        ["terraform", "init", "-input=false", "-no-color"], cwd=work, env=env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return work, env


@pytest.fixture(scope="module")
def planner():
    """A moto server and an initialised copy of the configuration; plans only."""
    stack = Stack("validation", None)
    try:
        stack.init()
        yield stack
    finally:
        stack.close()


def plan(variables: dict, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Plans the configuration in `cwd` with `variables`: the exit code and
    the output, whitespace collapsed."""
    with tempfile.TemporaryDirectory() as tmp:
        var_file = Path(tmp) / "case.tfvars.json"
        var_file.write_text(json.dumps(variables))
        proc = subprocess.run(
            ["terraform", "plan", "-input=false", "-no-color", "-lock=false", "-refresh=false", f"-var-file={var_file}"],
            cwd=cwd, env=env, capture_output=True, text=True,
        )
    return proc.returncode, flat(proc.stdout + proc.stderr)


@pytest.fixture(scope="module")
def results(planner, variables_only):
    """Every case planned: the variables' cases on variables.tf alone, the
    others two at a time (each plan mostly waits on the provider)."""
    cases = {**{k: v[0] for k, v in PRECONDITION_CASES.items()}, "good": GOOD}
    with ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(plan, v, planner.plan_dir, planner.env) for name, v in cases.items()}
        done = {name: plan(v, *variables_only) for name, (v, _) in CASES.items()}
    return {**done, **{name: f.result() for name, f in futures.items()}}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_variables_are_refused_with_their_message(results, case):
    code, out = results[case]
    variables, messages = CASES[case]
    assert code == 1, out[-3000:]
    for message in messages:
        assert flat(message) in out, f"{message!r} not in:\n{out[-6000:]}"
    # One error per bad variable, nothing else failed.
    assert out.count("Error: Invalid value for variable") == len(variables), out[-6000:]
    assert out.count("Error:") == len(variables), out[-6000:]


@pytest.mark.parametrize("case", list(PRECONDITION_CASES))
def test_preconditions_refuse_what_validations_cannot_see(results, case):
    code, out = results[case]
    assert code == 1, out[-3000:]
    assert flat(PRECONDITION_CASES[case][1]) in out, out[-4000:]
    assert "Error: Resource precondition failed" in out


def test_values_aws_accepts_are_accepted(results):
    code, out = results["good"]
    assert code == 0, out[-6000:]
    assert "Error:" not in out and "Warning:" not in out, out[-6000:]
