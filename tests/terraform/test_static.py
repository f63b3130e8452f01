"""Checks on the Terraform sources themselves (no AWS): terraform/ is one
module with one definition of each variable, every variable and output is
described, the examples set real variables, and docs/configuration.md's table
is the one generated from variables.tf."""

from __future__ import annotations

import re
import subprocess
import sys

from harness import REPO, trust_the_mirror

TF = REPO / "terraform"
SOURCES = sorted(TF.glob("*.tf"))
EXAMPLES = sorted((TF / "examples").glob("*.tfvars"))
INPUTS_SCRIPT = REPO / "scripts" / "terraform-inputs.py"
CONFIGURATION_DOC = REPO / "docs" / "configuration.md"
# What the README, the scripts and the runbooks tell people to read.
REQUIRED_OUTPUTS = {
    "aws_region",
    "upload_bucket_name",
    "processed_bucket_name",
    "function_name",
    "function_arn",
    "role_arn",
    "upload_command_example",
    "reprocess_command_example",
    "dashboard_name",
    "dashboard_url",
    "log_group_name",
    "alarm_topic_arn",
    "alarm_names",
    "failed_events_queue_url",
    "failed_events_queue_arn",
    "kms_key_arn",
    "vpc_id",
    "subnet_ids",
    "security_group_ids",
}


def blocks(text: str, kind: str) -> list[tuple[str, str]]:
    """(name, body) of each top-level `kind "name" { ... }` block (formatted HCL),
    in order, repeats included."""
    return [
        (m.group(1), m.group(2))
        for m in re.finditer(rf'^{kind} "([a-z0-9_]+)" \{{\n(.*?)^\}}\n', text, re.M | re.S)
    ]


def without_comments(text: str) -> str:
    return re.sub(r"(?m)^\s*(#|//).*$", "", text)


def defined_variables() -> dict[str, str]:
    return dict(blocks((TF / "variables.tf").read_text(), "variable"))


def tfvars_names(text: str) -> list[str]:
    return re.findall(r"(?m)^([a-z0-9_]+)\s*=", without_comments(text))


def test_the_stack_is_one_module():
    assert SOURCES, "no terraform/*.tf"
    assert not (TF / "modules").exists(), "terraform/ is the stack's only module"
    for path in SOURCES:
        assert not re.search(r'(?m)^module "', path.read_text()), f"{path.name} calls a module"
    for name in ("main.tf", "variables.tf", "outputs.tf", "providers.tf", "versions.tf"):
        assert (TF / name).is_file(), name


def test_every_variable_is_defined_once_with_description_type_and_validation():
    for path in SOURCES:
        found = blocks(path.read_text(), "variable")
        declared = re.findall(r'(?m)^variable "', path.read_text())
        assert len(found) == len(declared), f"{path.name}: a variable block is not formatted (terraform fmt)"
        if path.name != "variables.tf":
            assert not found, f"{path.name} defines variables {[n for n, _ in found]}: they belong in variables.tf"
    found = blocks((TF / "variables.tf").read_text(), "variable")
    names = [n for n, _ in found]
    assert len(names) > 30
    assert len(names) == len(set(names)), f"defined twice: {sorted({n for n in names if names.count(n) > 1})}"
    for name, body in found:
        assert re.search(r"^  description = \".+\"$", body, re.M), f"{name} has no description"
        assert re.search(r"^  type\s+= ", body, re.M), f"{name} has no type"
        assert "  validation {" in body, f"{name} has no validation"


def test_every_variable_is_used_and_every_use_is_defined():
    defined = set(defined_variables())
    used_anywhere: set[str] = set()
    used_by_resources: set[str] = set()
    for path in SOURCES:
        refs = set(re.findall(r"\bvar\.([a-z0-9_]+)", without_comments(path.read_text())))
        used_anywhere |= refs
        # A variable named only in validations (its own or another's) sets nothing.
        if path.name != "variables.tf":
            used_by_resources |= refs
    assert used_anywhere <= defined, f"var.X without a definition: {sorted(used_anywhere - defined)}"
    assert defined <= used_by_resources, f"defined but never used: {sorted(defined - used_by_resources)}"


def test_lambda_zip_path_defaults_to_what_deploy_builds():
    body = defined_variables()["lambda_zip_path"]
    # Relative to terraform/: `terraform -chdir=terraform apply` after scripts/deploy.sh.
    assert re.search(r'(?m)^  default\s+= "\.\./target/lambda/bootstrap/bootstrap\.zip"$', body)
    deploy = (REPO / "scripts" / "deploy.sh").read_text()
    assert 'lambda_dir="${CARGO_TARGET_DIR:-$PWD/target}/lambda"' in deploy
    assert 'zip_path="$lambda_dir/bootstrap/bootstrap.zip"' in deploy


def test_the_provider_is_configured_once_in_providers_tf():
    for path in SOURCES:
        providers = re.findall(r'(?m)^provider "aws" \{', path.read_text())
        assert len(providers) == (1 if path.name == "providers.tf" else 0), path.name
    text = (TF / "providers.tf").read_text()
    assert "region = var.aws_region" in text
    assert 'Project   = "imgflow"' in text and 'ManagedBy = "terraform"' in text


def test_paths_stay_inside_the_repository():
    repo = TF.parent
    for path in SOURCES:
        text = path.read_text()
        assert "../../" not in text, path.name
        # Every folder the module reaches beside itself is part of this
        # repository, or cargo's output (target/, the package deploy.sh
        # builds: absent on a fresh clone until something is built).
        for folder in re.findall(r"\.\./([A-Za-z0-9_.-]+)", text):
            if folder == "target":
                assert "/target" in (repo / ".gitignore").read_text().splitlines(), "target/ is a build output"
                continue
            assert (repo / folder).exists(), f"{path.name}: ../{folder}"
    main = (TF / "main.tf").read_text()
    assert '"${path.module}/../alarms"' in main
    assert '"${path.module}/../dashboards/imgflow.json.tftpl"' in main


def test_outputs_a_person_needs():
    outputs = []
    for path in SOURCES:
        found = blocks(path.read_text(), "output")
        if path.name != "outputs.tf":
            assert not found, f"{path.name} defines outputs: they belong in outputs.tf"
        outputs += found
    names = [n for n, _ in outputs]
    assert len(names) == len(set(names))
    assert REQUIRED_OUTPUTS <= set(names), f"missing outputs: {sorted(REQUIRED_OUTPUTS - set(names))}"
    for name, body in outputs:
        assert re.search(r"^  description = \".+\"$", body, re.M), f"output {name} has no description"


def test_examples_are_documented_and_set_only_defined_variables():
    # conftest.py applies each of them; docs/configuration.md names these two.
    assert {"kms", "vpc"} <= {e.stem for e in EXAMPLES}
    defined = set(defined_variables())
    for example in EXAMPLES:
        text = example.read_text()
        assert text.startswith("# "), f"{example.name}: starts with a comment saying what it is for"
        command = f"terraform -chdir=terraform apply -var-file=examples/{example.name}"
        assert command in text, f"{example.name}: its comment gives the command `{command}`"
        names = tfvars_names(text)
        assert names, f"{example.name} sets nothing"
        assert set(names) <= defined, f"{example.name}: not variables: {sorted(set(names) - defined)}"
    sample = tfvars_names((TF / "terraform.tfvars.example").read_text())
    assert set(sample) <= defined, f"terraform.tfvars.example: not variables: {sorted(set(sample) - defined)}"


def test_moved_blocks_name_resources_of_this_configuration():
    # A stack deployed when this was module "imgflow" keeps its objects.
    resources = {
        f"{m.group(1)}.{m.group(2)}"
        for path in SOURCES
        for m in re.finditer(r'(?m)^resource "([a-z0-9_]+)" "([a-z0-9_]+)"', path.read_text())
    }
    moved = re.findall(r"(?m)^moved \{\n  from = (\S+)\n  to   = (\S+)\n\}", (TF / "moved.tf").read_text())
    assert moved
    for source, target in moved:
        assert target in resources, f"moved to {target}, which is not a resource here"
        assert source == f"module.imgflow.{target}", (source, target)
    # Every resource of the module layout is moved, none twice (no resource was
    # added since; a new one needs no moved block and is not in this list).
    assert len({t for _, t in moved}) == len(moved) == 35


def test_no_credentials_in_the_configuration():
    for path in TF.rglob("*"):
        if ".terraform" in path.parts or not path.is_file():
            continue
        text = path.read_text()
        assert "access_key" not in text and "secret_key" not in text, path


def run_inputs_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(INPUTS_SCRIPT), *args], capture_output=True, text=True)


def test_configuration_doc_lists_the_variables_as_variables_tf_defines_them():
    proc = run_inputs_script("--check", str(CONFIGURATION_DOC))
    assert proc.returncode == 0, proc.stderr
    table = run_inputs_script().stdout
    rows = re.findall(r"(?m)^\| `([a-z0-9_]+)` \|", table)
    assert rows == [n for n, _ in blocks((TF / "variables.tf").read_text(), "variable")]


def test_configuration_doc_check_fails_on_a_stale_table(tmp_path):
    doc = tmp_path / "configuration.md"
    doc.write_text(CONFIGURATION_DOC.read_text().replace("| `memory_size` | `number` | `2048` |", "| `memory_size` | `number` | `1024` |"))
    assert doc.read_text() != CONFIGURATION_DOC.read_text()
    proc = run_inputs_script("--check", str(doc))
    assert proc.returncode == 1
    assert "stale" in proc.stderr and "--write" in proc.stderr
    assert run_inputs_script("--write", str(doc)).returncode == 0
    assert doc.read_text() == CONFIGURATION_DOC.read_text()


def test_trusting_the_mirror_drops_only_the_checksums(tmp_path):
    lock = tmp_path / ".terraform.lock.hcl"
    lock.write_text(
        "# This file is maintained automatically by \"terraform init\".\n"
        'provider "registry.terraform.io/hashicorp/aws" {\n'
        '  version     = "5.100.0"\n'
        '  constraints = ">= 5.100.0, < 6.0.0"\n'
        "  hashes = [\n"
        '    "h1:edXOJWE4ORX8Fm+dpVpICzMZJat4AX0VRCAy/xkcOc0=",\n'
        "  ]\n"
        "}\n"
    )
    trust_the_mirror(tmp_path)
    assert lock.read_text() == (
        "# This file is maintained automatically by \"terraform init\".\n"
        'provider "registry.terraform.io/hashicorp/aws" {\n'
        '  version     = "5.100.0"\n'
        '  constraints = ">= 5.100.0, < 6.0.0"\n'
        "}\n"
    )
