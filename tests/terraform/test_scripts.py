"""The scripts a laptop runs, checked without AWS: shellcheck, the rules that
keep them working with macOS's bash 3.2 and BSD tools (and the runbooks'
commands with them), and deploy.sh's architecture, which must be the one
Terraform resolves from every source it reads."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import REPO, plugin_dir

SCRIPTS = sorted((REPO / "scripts").glob("*.sh"))
# What someone runs from a laptop (deploy, destroy, the tests), and what they
# source: bash 3.2 (macOS) with `set -u`, BSD userland.
LAPTOP_SCRIPTS = [
    REPO / "scripts" / name
    for name in ("deploy.sh", "destroy.sh", "python-tools.sh", "test-terraform.sh", "local-e2e.sh")
]
RUNBOOKS = sorted((REPO / "runbooks").glob("*.md"))


# --- shellcheck ---------------------------------------------------------------------


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shellcheck_clean(script: Path):
    if not shutil.which("shellcheck"):
        pytest.fail("shellcheck is not installed (scripts/test-terraform.sh installs it)")
    # -x follows `. scripts/python-tools.sh` from the repository root.
    proc = subprocess.run(["shellcheck", "-x", str(script.relative_to(REPO))], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- bash 3.2: empty arrays under set -u ---------------------------------------------


def bare_array_expansions(text: str) -> list[str]:
    """Expansions of a whole array that bash before 4.4 (macOS: 3.2) rejects
    under `set -u` when the array is empty ("unbound variable"), i.e. every
    ${a[@]} / ${a[*]} not written ${a[@]+"${a[@]}"}. ${#a[@]} is fine."""
    found = []
    for m in re.finditer(r"\$\{(\w+)\[[@*]\]\}", text):
        guard = "${%s[@]+" % m.group(1)
        start = m.start() - (1 if text[m.start() - 1 : m.start()] == '"' else 0)
        if not text[:start].endswith(guard):
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"line {line}: {text.splitlines()[line - 1].strip()}")
    return found


def test_the_empty_array_rule_catches_what_broke_destroy_sh():
    # The line that aborted destroy.sh on macOS after both buckets were emptied.
    old = 'terraform -chdir="$TF_DIR" destroy -input=false "${approve[@]}" "${zip_args[@]}" "${tf_args[@]}"'
    assert len(bare_array_expansions(old)) == 3
    assert bare_array_expansions('printf "%s" ${buckets[*]}') != []
    assert bare_array_expansions('terraform plan ${plan_args[@]+"${plan_args[@]}"}') == []
    assert bare_array_expansions('[ "${#buckets[@]}" -eq 0 ]; echo "${buckets[*]:-none}"') == []


@pytest.mark.parametrize("script", LAPTOP_SCRIPTS, ids=lambda p: p.name)
def test_no_empty_array_expansion_that_bash_3_2_rejects(script: Path):
    text = script.read_text()
    assert "set -euo pipefail" in text or script.name == "python-tools.sh"
    assert bare_array_expansions(text) == [], f"{script.name}: write ${{a[@]+\"${{a[@]}}\"}}"


# --- no GNU-only commands -------------------------------------------------------------------

# Commands and options that exist only in GNU coreutils/sed/grep or bash >= 4:
# macOS has BSD tools and bash 3.2 (or zsh), where each of these fails.
GNU_ONLY = {
    r"\bdate\b[^|;\n]*\s(-d|--date)\b": "date -d (GNU): use $(( $(date +%s) - SECONDS )) (the AWS CLI takes Unix seconds) or python3",
    r"\bmapfile\b|\breadarray\b": "mapfile/readarray (bash >= 4): use a while IFS= read -r loop",
    r"\bsed\s+(-[a-zA-Z]*\s+)*-i(\s|$|['\"])": "sed -i without a suffix (BSD sed takes the next word as one): use sed -i.bak … && rm *.bak",
    r"\bgrep\s+(-[a-zA-Z]*\s+)*-[a-zA-Z]*P": "grep -P (GNU): use grep -E",
    r"\breadlink\s+-f\b": "readlink -f (GNU before macOS 13): use cd \"$(dirname …)\" && pwd",
    r"\bxargs\s+-r\b": "xargs -r (GNU)",
    r"\bstat\s+(-c|--format)\b": "stat -c (GNU): BSD stat takes -f",
    r"\bbase64\s+-w\b": "base64 -w (GNU)",
    r"\bsort\s+(-[a-zA-Z]*\s+)*-[a-zA-Z]*V": "sort -V (GNU)",
    r"\s-printf\b": "find -printf (GNU)",
    r"\bhead\s+-n\s*-[0-9]": "head -n -N (GNU)",
    r"(^|[|;&(]|\$\()\s*(tac|numfmt|sha256sum|md5sum|timeout)\s": "a GNU coreutils command macOS does not have",
    r"\bdeclare\s+-A\b|\blocal\s+-A\b|\$\{\w+(,,|\^\^)\}|\|&|&>>": "bash >= 4 syntax",
}


def gnu_only(text: str) -> list[str]:
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        # A comment may name what it avoids.
        code = "" if line.lstrip().startswith("#") else line.split(" # ")[0]
        for pattern, why in GNU_ONLY.items():
            if re.search(pattern, code):
                found.append(f"line {n}: {line.strip()}  <- {why}")
    return found


def runbook_code(text: str) -> str:
    """The fenced code blocks of a Markdown page (shell and Logs Insights),
    with blank lines where the prose was, so that line numbers still match."""
    out, inside = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            inside = not inside
            out.append("")
        else:
            out.append(line if inside else "")
    return "\n".join(out)


def test_the_gnu_rule_catches_what_the_runbooks_had():
    assert gnu_only("""--start-time "$(date -u -d '-1 hour' +%FT%TZ)" --end-time "$(date -u +%FT%TZ)\"""")
    assert gnu_only("mapfile -t urls < <(jq -r '.Messages[]' failed-batch.json)")
    assert gnu_only("sed -i 's/a/b/' f") and gnu_only("sed -E -i 's/a/b/' f")
    assert not gnu_only("sed -i.bak 's/a/b/' f && rm f.bak")
    assert gnu_only("x=$(timeout 5 aws s3 ls)")
    assert not gnu_only('--start-time "$(( $(date +%s) - 3600 ))" --end-time "$(date +%s)"')
    assert not gnu_only("--visibility-timeout 60 --cli-read-timeout 960")


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=lambda p: p.name)
def test_runbook_commands_run_on_macos(runbook: Path):
    assert gnu_only(runbook_code(runbook.read_text())) == []


@pytest.mark.parametrize("script", LAPTOP_SCRIPTS, ids=lambda p: p.name)
def test_laptop_scripts_use_no_gnu_only_commands(script: Path):
    assert gnu_only(script.read_text()) == []


def test_scripts_install_python_tools_only_into_their_own_environments():
    # PEP 668: Homebrew's and Debian's Python refuse `pip install`; elsewhere
    # it can break (or be broken by) the user's own tools.
    for script in LAPTOP_SCRIPTS:
        if script.name != "python-tools.sh":
            assert not re.search(r"python3? -m pip install|\bpip3? install", script.read_text()), script.name
    tools = (REPO / "scripts" / "python-tools.sh").read_text()
    installs = [line.strip() for line in tools.splitlines() if "pip install" in line and not line.lstrip().startswith("#")]
    assert installs == ['if ! "$venv/bin/python" -m pip install --require-virtualenv --disable-pip-version-check -q \\']
    for name in ("test", "cargo-lambda", "checkov"):
        reqs = REPO / "scripts" / "requirements" / f"{name}.txt"
        pins = [line for line in reqs.read_text().splitlines() if line and not line.startswith("#")]
        assert pins and all(re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?==[0-9][^ ]*", p) for p in pins), (name, pins)


def test_python_tools_refuses_an_unknown_set(tmp_path):
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "python-tools.sh"), "nope"],
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)}, capture_output=True, text=True,
    )
    assert proc.returncode == 1
    assert "python-tools: no such set: nope (scripts/requirements/nope.txt)" in proc.stderr
    assert not any(tmp_path.iterdir()), "nothing installed"


def test_python_tools_needs_a_python(tmp_path):
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "python-tools.sh"), "test"],
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path), "PYTHON": "no-such-python3"}, capture_output=True, text=True,
    )
    assert proc.returncode == 1
    assert "no-such-python3 not found: Python 3.9 or later is needed" in proc.stderr


def test_python_tools_puts_the_asked_set_first_even_when_on_path_already():
    # local-e2e asks for cargo-lambda, then test, under a PATH where test.sh
    # put test already: test's python3 (with boto3) must answer.
    script = (
        '. scripts/python-tools.sh; python_tools_venv() { PYTHON_TOOLS_VENV=/venvs/$1; }; '
        'PATH=/venvs/test/bin:/usr/bin:/bin; python_tools_path cargo-lambda; python_tools_path test; '
        'printf %s "$PATH"'
    )
    proc = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "/venvs/test/bin:/venvs/cargo-lambda/bin:/usr/bin:/bin"


def test_destroy_needs_an_initialised_configuration(tmp_path):
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "destroy.sh"), "--yes"],
        env={**os.environ, "IMGFLOW_TF_DIR": str(tmp_path)}, capture_output=True, text=True,
    )
    assert proc.returncode == 1
    assert "is not initialised: nothing was deployed from here" in proc.stderr
    assert "Nothing has been deleted." in proc.stderr


def test_nothing_refers_to_this_machine():
    # The repository stands alone: no folder beside it, no paths of the
    # machines it was built on (spelled in two halves so as not to match here).
    beside, machine = "../" + "shared", "/" + "work/"
    for path in [*SCRIPTS, *RUNBOOKS, *(REPO / "tests" / "terraform").glob("*.py"), *(REPO / "terraform").rglob("*.tf")]:
        text = path.read_text()
        assert beside not in text and machine not in text, path
        for m in re.finditer(r"/opt/[\w.-]+", text):
            assert m.group(0) == "/opt/tf-plugins", f"{path}: {m.group(0)}"


# --- deploy.sh: the architecture Terraform resolves ---------------------------------------


@pytest.fixture(scope="module")
def deploy_copy(tmp_path_factory):
    """A copy of the configuration deploy.sh can init (IMGFLOW_TF_DIR)."""
    base = tmp_path_factory.mktemp("deploy")
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", "*_override.tf", "*.auto.tfvars*", "terraform.tfvars*")
    for folder in ("terraform", "alarms", "dashboards"):
        shutil.copytree(REPO / folder, base / folder, ignore=ignore)
    (base / "terraformrc").write_text("")
    return base / "terraform"


def print_architecture(tf_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_VAR_"))}
    environ.update(
        IMGFLOW_TF_DIR=str(tf_dir),
        TF_CLI_CONFIG_FILE=str(tf_dir.parent / "terraformrc"),
        TF_IN_AUTOMATION="1",
        CHECKPOINT_DISABLE="1",
        **({"TF_PLUGIN_DIR": plugin_dir()} if plugin_dir() else {}),
        **(env or {}),
    )
    return subprocess.run(
        ["bash", str(REPO / "scripts" / "deploy.sh"), "--print-architecture", *args],
        env=environ, capture_output=True, text=True,
    )


# (files written in terraform/, options, environment) -> what Terraform applies.
ARCHITECTURE_CASES = {
    "default": ({}, [], {}, "arm64"),
    # The sources the former script did not read:
    "tfvars-json": ({"terraform.tfvars.json": '{"architecture": "x86_64"}'}, [], {}, "x86_64"),
    "auto-tfvars-over-tfvars": (
        {"terraform.tfvars": 'architecture = "x86_64"\n', "mine.auto.tfvars": 'architecture = "arm64"\n'},
        [], {}, "arm64",
    ),
    "auto-tfvars-json": ({"z.auto.tfvars.json": '{"architecture": "x86_64"}'}, [], {}, "x86_64"),
    "env": ({}, [], {"TF_VAR_architecture": "x86_64"}, "x86_64"),
    "var-file-two-words": ({}, ["-var-file", "examples/vpc.tfvars"], {}, "x86_64"),
    "var-after-var-file": ({}, ["-var-file=examples/vpc.tfvars", "-var", "architecture=arm64"], {}, "arm64"),
    "var-equals": ({"terraform.tfvars": 'architecture = "arm64"\n'}, ["-var=architecture=x86_64", "-auto-approve"], {}, "x86_64"),
}


@pytest.mark.parametrize("case", list(ARCHITECTURE_CASES))
def test_deploy_builds_for_the_architecture_terraform_resolves(deploy_copy: Path, case: str):
    files, args, env, expected = ARCHITECTURE_CASES[case]
    for name, text in files.items():
        (deploy_copy / name).write_text(text)
    try:
        proc = print_architecture(deploy_copy, *args, env=env)
    finally:
        for name in files:
            (deploy_copy / name).unlink()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.splitlines()[-1] == expected


def test_deploy_refuses_an_architecture_terraform_refuses(deploy_copy: Path):
    proc = print_architecture(deploy_copy, "-var", "architecture=sparc")
    assert proc.returncode == 1
    assert 'architecture must be "arm64" or "x86_64"' in proc.stdout + proc.stderr
    assert "deploy.sh: architecture must be arm64 or x86_64" in proc.stderr


def test_deploy_applies_the_architecture_it_built():
    text = (REPO / "scripts" / "deploy.sh").read_text()
    apply = re.search(r'terraform -chdir="\$TF_DIR" apply .*?\n(?:.*\\\n)*.*\n', text)
    assert apply, "deploy.sh runs terraform apply"
    # Given last, so that it wins over every other source of the variable.
    assert apply.group(0).rstrip().endswith('-var "architecture=$arch"'), apply.group(0)
    assert "cargo lambda build" in text and '"$arch_flag"' in text
