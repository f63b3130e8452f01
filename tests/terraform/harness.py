"""Applies the Terraform configuration (terraform/, the stack's one module) to
moto server, in temporary copies of the repository's terraform/, alarms/ and
dashboards/ (no state or plan is left in the repository).

A scenario is the defaults or one of terraform/examples/*.tfvars, passed as
`-var-file=examples/<name>.tfvars`, the command each example's comment gives.

Each scenario has two copies, both with a test-only provider_override.tf (the
AWS provider's endpoints -> moto, fake credentials, and the skip_* settings a
local endpoint needs):
  * plan/: the configuration exactly as it deploys to AWS, only planned; its
    plan (JSON) is where the tests check what moto does not keep;
  * apply/: applied, planned again and destroyed, with one more test-only file,
    terraform/moto_gaps_override.tf, stepping around what moto does not
    implement (MOTO_GAPS_OVERRIDE below).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"  # the configuration's default region
ACCOUNT_ID = "123456789012"  # moto's account
# Services the stack talks to, with the provider's endpoint key for each.
PROVIDER_SERVICES = ["cloudwatch", "ec2", "iam", "kms", "lambda", "logs", "s3", "sns", "sqs", "sts"]

# What moto (5.x) does not implement, handled here and nowhere in the real
# configuration. Each gap is instead asserted on the plan of the *full*
# configuration, i.e. on what Terraform sends to AWS:
#  * PutFunctionRecursionConfig does not exist in moto (404), so the copy
#    creates no aws_lambda_function_recursion_config; its planned
#    recursive_loop = "Terminate" is asserted from the plan.
#  * CreateFunction's LoggingConfig and KMSKeyArn are accepted but not stored
#    or returned by GetFunction, so a second plan would want to set them again;
#    the copy ignores changes to them, and they are asserted from the plan.
# Two more, handled in the tests themselves: moto cannot evaluate the bucket
# policies' aws:SecureTransport / s3:TlsVersion conditions (it applies the
# deny to every object call, so test_stack.py checks the statements and
# test_regions.py lifts the policy before putting objects), and it does not store
# a function's DeadLetterConfig (the stack uses none: failed events go to an
# on-failure destination, which moto does store and the tests check).
MOTO_GAPS_OVERRIDE = """\
# TEST-ONLY (tests/terraform/harness.py), written into a temporary copy: moto
# has no recursion-config API and does not store LoggingConfig or KMSKeyArn.
resource "aws_lambda_function_recursion_config" "this" {
  count = 0
}

resource "aws_lambda_function" "this" {
  lifecycle {
    ignore_changes = [logging_config, kms_key_arn]
  }
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    """moto server on a free loopback port, for the life of the object."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).read()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start; see {log_path}")
                time.sleep(0.2)
        atexit.register(self.stop)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self._log.closed:
            self._log.close()


def provider_override(endpoint: str) -> str:
    endpoints = "\n".join(f'    {svc:<10} = "{endpoint}"' for svc in PROVIDER_SERVICES)
    return f"""\
# TEST-ONLY (tests/terraform/harness.py), written into a temporary copy: the
# AWS provider talks to moto server on loopback with fake credentials.
provider "aws" {{
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
"""


def placeholder_zip(path: Path) -> Path:
    """A deployment package with a `bootstrap` that moto stores and never runs."""
    info = zipfile.ZipInfo("bootstrap", date_time=(2024, 1, 1, 0, 0, 0))
    info.external_attr = 0o755 << 16
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(info, "#!/bin/sh\necho 'placeholder: the real package is built by scripts/deploy.sh' >&2\nexit 1\n")
    return path


def terraform_env(scratch: Path) -> dict[str, str]:
    """The environment Terraform runs in: the caller's without its AWS_*
    settings, no update checks, and an empty CLI configuration (in
    `scratch`) when the caller's names a file that does not exist."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    cli_config = os.environ.get("TF_CLI_CONFIG_FILE")
    if cli_config is None or not Path(cli_config).exists():
        empty = scratch / "terraformrc"
        empty.write_text("")
        env["TF_CLI_CONFIG_FILE"] = str(empty)
    env.update(TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    return env


def plugin_dir() -> str | None:
    d = os.environ.get("TF_PLUGIN_DIR") or "/opt/tf-plugins"
    return d if Path(d).is_dir() else None


def trust_the_mirror(tf_dir: Path) -> None:
    """Drops the provider's checksums from the lock file `init -plugin-dir`
    wrote. With them, every later command hashes the 700 MB provider again
    to check it (0.55 s of CPU; the tests run about 120 commands). The
    package came from the local mirror a moment ago; a deploy's own lock
    file keeps its checksums."""
    lock = tf_dir / ".terraform.lock.hcl"
    kept, in_hashes = [], False
    for line in lock.read_text().splitlines(keepends=True):
        if line.strip() == "hashes = [":
            in_hashes = True
        elif in_hashes:
            in_hashes = line.strip() != "]"
        else:
            kept.append(line)
    lock.write_text("".join(kept))


@dataclass
class Stack:
    """One scenario: a moto server, a temporary copy of the configuration, the
    plan of the full configuration, then the applied stack. var_file is the
    scenario's example (relative to terraform/), None for the defaults.
    region (aws_region) and shared_moto: for several stacks in one emulated
    account (test_regions.py); the server is then the caller's to stop."""

    scenario: str
    var_file: str | None
    region: str = REGION
    shared_moto: MotoServer | None = None
    root: Path = field(init=False)
    tf_dir: Path = field(init=False)
    plan_dir: Path = field(init=False)
    moto: MotoServer = field(init=False)
    env: dict[str, str] = field(init=False)
    plan: dict = field(init=False, default_factory=dict)
    outputs: dict = field(init=False, default_factory=dict)
    destroyed: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"imgflow-tf-{self.scenario}-"))
        self.zip_path = placeholder_zip(self.root / "bootstrap.zip")
        self.moto = self.shared_moto or MotoServer(self.root / "moto.log")
        # Two copies: one applied (with the moto-gaps override), one only
        # planned, exactly as it deploys to AWS.
        self.tf_dir = self._copy(self.root / "apply")
        self.plan_dir = self._copy(self.root / "plan")

        self.env = terraform_env(self.root)
        self.env.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=self.region,
            AWS_REGION=self.region,
            AWS_ENDPOINT_URL=self.moto.url,
        )

    def _copy(self, base: Path) -> Path:
        # A developer's own settings (terraform.tfvars, *.auto.tfvars) are not
        # the scenario's; examples/ is copied, for -var-file.
        ignore = shutil.ignore_patterns(
            ".terraform", "*.tfstate*", ".terraform.lock.hcl", "*_override.tf",
            "terraform.tfvars", "terraform.tfvars.json", "*.auto.tfvars", "*.auto.tfvars.json",
        )
        for folder in ("terraform", "alarms", "dashboards"):
            shutil.copytree(REPO / folder, base / folder, ignore=ignore)
        tf_dir = base / "terraform"
        if self.var_file and not (tf_dir / self.var_file).is_file():
            raise FileNotFoundError(f"terraform/{self.var_file}")
        # The package, as scripts/deploy.sh passes it.
        (tf_dir / "test.auto.tfvars.json").write_text(json.dumps({"lambda_zip_path": str(self.zip_path)}))
        (tf_dir / "provider_override.tf").write_text(provider_override(self.moto.url))
        return tf_dir

    @property
    def var_args(self) -> list[str]:
        args = [f"-var-file={self.var_file}"] if self.var_file else []
        return args + ([f"-var=aws_region={self.region}"] if self.region != REGION else [])

    @property
    def variables(self) -> dict[str, object]:
        """Every input variable's value in this scenario (the example's, else
        the default), as Terraform resolved it for the plan."""
        return {k: v["value"] for k, v in self.plan["variables"].items()}

    # --- terraform -------------------------------------------------------------

    def tf(self, *args: str, check: bool = True, log: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            ["terraform", *args],
            cwd=cwd or self.tf_dir,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if log:
            (self.root / f"{log}.log").write_text(proc.stdout + proc.stderr)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"[{self.scenario}] terraform {' '.join(args)} exited {proc.returncode}\n"
                f"{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
            )
        return proc

    def init(self) -> None:
        args = ["init", "-input=false", "-no-color"]
        if plugin_dir():
            args.append(f"-plugin-dir={plugin_dir()}")
        self.tf(*args, log="init")
        self.tf(*args, log="init-plan", cwd=self.plan_dir)
        if plugin_dir():
            trust_the_mirror(self.tf_dir)
            trust_the_mirror(self.plan_dir)

    def plan_full_configuration(self) -> None:
        """Plans the configuration exactly as it deploys to AWS (only the
        provider is pointed at moto) and keeps the plan as JSON."""
        self.tf("plan", "-input=false", "-no-color", "-lock=false", "-out=full.tfplan", *self.var_args,
                log="plan-full", cwd=self.plan_dir)
        shown = self.tf("show", "-json", "full.tfplan", cwd=self.plan_dir)
        self.plan = json.loads(shown.stdout)

    def apply(self) -> None:
        (self.tf_dir / "moto_gaps_override.tf").write_text(MOTO_GAPS_OVERRIDE)
        self.tf("apply", "-input=false", "-no-color", "-auto-approve", "-parallelism=20", *self.var_args, log="apply")
        out = self.tf("output", "-json")
        self.outputs = {k: v["value"] for k, v in json.loads(out.stdout).items()}

    def plan_exit_code(self) -> subprocess.CompletedProcess:
        return self.tf(
            "plan", "-input=false", "-no-color", "-detailed-exitcode", "-parallelism=20", *self.var_args,
            check=False, log="plan-after-apply",
        )

    def destroy(self) -> subprocess.CompletedProcess:
        # -refresh=false: the state is the apply's, and the second plan has
        # just read every resource back (a third of the destroy's CPU).
        proc = self.tf("destroy", "-input=false", "-no-color", "-auto-approve", "-parallelism=20", "-refresh=false",
                       *self.var_args, check=False, log="destroy")
        self.destroyed = proc.returncode == 0
        return proc

    def close(self, keep: bool = False) -> None:
        try:
            if not self.destroyed and self.outputs:
                self.destroy()
        finally:
            if self.shared_moto is None:
                self.moto.stop()
            if not keep:
                shutil.rmtree(self.root, ignore_errors=True)

    # --- what the plan says -----------------------------------------------------

    def planned(self, address: str) -> dict:
        """Planned values of one resource of the full configuration (all of
        them are in the root module: the stack has no child module)."""
        for r in self.plan["planned_values"]["root_module"].get("resources", []):
            if r["address"] == address:
                return r["values"]
        raise KeyError(f"{address} is not in the plan")

    def change(self, address: str) -> dict:
        """The planned change of one resource (before, after, after_unknown)."""
        for r in self.plan["resource_changes"]:
            if r["address"] == address:
                return r["change"]
        raise KeyError(f"{address} is not in the plan")

    def references(self, address: str, attribute: str) -> list[str]:
        """What an attribute of a resource is computed from."""
        for r in self.plan["configuration"]["root_module"]["resources"]:
            if r["address"] == address:
                return r["expressions"].get(attribute, {}).get("references", [])
        raise KeyError(f"{address} is not in the configuration")

    # --- AWS clients --------------------------------------------------------------

    def client(self, service: str):
        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.moto.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
