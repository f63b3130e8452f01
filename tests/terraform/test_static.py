"""Checks on the Terraform sources themselves (no AWS): the interface habits of
STYLE.md, and the root configuration kept in step with the module."""

from __future__ import annotations

import re

from harness import REPO

TF = REPO / "terraform"
MODULE = TF / "modules" / "imgflow"
REQUIRED_OUTPUTS = {
    "upload_bucket_name",
    "processed_bucket_name",
    "function_name",
    "upload_command_example",
    "dashboard_url",
    "log_group_name",
    "alarm_topic_arn",
    "failed_events_queue_url",
}


def blocks(text: str, kind: str) -> dict[str, str]:
    """name -> body of each top-level `kind "name" { ... }` block (formatted HCL)."""
    return {
        m.group(1): m.group(2)
        for m in re.finditer(rf'^{kind} "([a-z0-9_]+)" \{{\n(.*?)^\}}\n', text, re.M | re.S)
    }


def test_every_variable_has_description_type_and_validation():
    for path in (MODULE / "variables.tf", TF / "variables.tf"):
        variables = blocks(path.read_text(), "variable")
        assert len(variables) > 30
        for name, body in variables.items():
            assert re.search(r"^  description = \".+\"$", body, re.M), f"{path.name}: {name} has no description"
            assert re.search(r"^  type\s+= ", body, re.M), f"{path.name}: {name} has no type"
            assert "  validation {" in body, f"{path.name}: {name} has no validation"


def test_root_variables_are_the_modules():
    module = blocks((MODULE / "variables.tf").read_text(), "variable")
    root = blocks((TF / "variables.tf").read_text(), "variable")
    assert set(root) == set(module) | {"aws_region"}
    for name, body in module.items():
        if name == "lambda_zip_path":
            # The root gives the path deploy.sh builds to as a default.
            assert "validation" in root[name] and 'default     = "../target/lambda/bootstrap/bootstrap.zip"' in root[name]
            continue
        assert root[name] == body, f"variable {name} differs between the root and the module"
    main = (TF / "main.tf").read_text()
    for name in module:
        assert re.search(rf"^  {name} += var\.{name}$", main, re.M), f"main.tf does not pass {name}"


def test_outputs_a_person_needs():
    module = blocks((MODULE / "outputs.tf").read_text(), "output")
    root = blocks((TF / "outputs.tf").read_text(), "output")
    assert REQUIRED_OUTPUTS <= set(root)
    assert set(root) == set(module)
    for name, body in root.items():
        assert "description" in body and f"module.imgflow.{name}" in body, name


def test_no_credentials_in_the_configuration():
    for path in TF.rglob("*.tf"):
        if ".terraform" in path.parts:
            continue
        text = path.read_text()
        assert "access_key" not in text and "secret_key" not in text, path
