#!/usr/bin/env python3
"""The Terraform variables table of docs/configuration.md, generated from
terraform/variables.tf (name, type, default, description), so that the
documentation cannot drift from the one definition of each variable.

  scripts/terraform-inputs.py                  print the table
  scripts/terraform-inputs.py --write [DOC]    put it between DOC's markers
  scripts/terraform-inputs.py --check [DOC]    exit 1 if DOC's table is stale
DOC is docs/configuration.md by default; the table sits between the lines
<!-- terraform-inputs:begin --> and <!-- terraform-inputs:end -->.

Standard library only: variables.tf is read as `terraform fmt` writes it
(top-level `variable "name" {` blocks closed by a `}` line, attributes
indented by two spaces). What this reader does not understand is an error
(exit 2), never a row silently left out.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIABLES = REPO / "terraform" / "variables.tf"
DEFAULT_DOC = REPO / "docs" / "configuration.md"
BEGIN = "<!-- terraform-inputs:begin -->"
END = "<!-- terraform-inputs:end -->"
PAIRS = {"(": ")", "[": "]", "{": "}"}


class InputError(Exception):
    """variables.tf or the document is not in the shape this script reads."""


@dataclass
class Variable:
    name: str
    type: str
    default: str | None  # HCL source of the default; None: required
    description: str


def scan(expr: str) -> tuple[int, int | None]:
    """(bracket depth at the end, index of a trailing comment or None), with
    quoted strings skipped."""
    depth, in_string, escaped = 0, False, False
    for i, ch in enumerate(expr):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#" or expr.startswith("//", i):
            return depth, i
        elif ch in PAIRS:
            depth += 1
        elif ch in PAIRS.values():
            depth -= 1
    if in_string:
        raise InputError(f"a string is not closed on its line: {expr!r}")
    return depth, None


def without_comment(expr: str) -> str:
    _, comment = scan(expr)
    return (expr if comment is None else expr[:comment]).strip()


def attributes(name: str, body: str) -> dict[str, str]:
    """Top-level attributes of a block body (nested blocks skipped), each as
    its HCL source on one line."""
    attrs: dict[str, str] = {}
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith(("#", "//")):
            continue
        block = re.fullmatch(r"  ([a-z_]+) \{", line)
        if block:  # e.g. validation { ... }: skip to its closing line
            while i < len(lines) and lines[i] != "  }":
                i += 1
            if i == len(lines):
                raise InputError(f"variable {name}: block {block.group(1)} is not closed")
            i += 1
            continue
        attr = re.fullmatch(r"  ([a-z_]+)\s*= (.+)", line)
        if not attr:
            raise InputError(f"variable {name}: cannot read the line {line!r}")
        key, expr = attr.groups()
        expr = without_comment(expr)
        # A multi-line value (a list or a map): joined into one line.
        while scan(expr)[0] > 0:
            if i == len(lines):
                raise InputError(f"variable {name}: {key} is not closed")
            expr += " " + without_comment(lines[i])
            i += 1
        if key in attrs:
            raise InputError(f"variable {name}: {key} is set twice")
        # Joined lines leave "[ " and ", ]": tidy them as one would write them.
        expr = re.sub(r",?\s+([\])}])", r"\1", re.sub(r"([\[({])\s+", r"\1", expr))
        attrs[key] = expr
    return attrs


def string_literal(name: str, expr: str) -> str:
    """The value of a plain HCL string (escapes as in JSON, no templates)."""
    if not re.fullmatch(r'"(?:[^"\\]|\\.)*"', expr):
        raise InputError(f"variable {name}: description must be one quoted string, got {expr!r}")
    if re.search(r"(?<![$%])[$%]\{", expr):
        raise InputError(f"variable {name}: description has a template sequence")
    try:
        return json.loads(expr).replace("$${", "${").replace("%%{", "%{")
    except json.JSONDecodeError as e:
        raise InputError(f"variable {name}: cannot read the description: {e}") from None


def read_variables(path: Path) -> list[Variable]:
    text = path.read_text()
    blocks = list(re.finditer(r'^variable "([A-Za-z0-9_-]+)" \{\n(.*?)^\}$', text, re.M | re.S))
    declared = re.findall(r"^variable\b", text, re.M)
    if not declared:
        raise InputError(f"{path}: no variable block")
    if len(blocks) != len(declared):
        raise InputError(f"{path}: {len(declared)} variable blocks, but only {len(blocks)} in the shape terraform fmt writes")
    result = []
    for m in blocks:
        name = m.group(1)
        attrs = attributes(name, m.group(2))
        for required in ("description", "type"):
            if required not in attrs:
                raise InputError(f"variable {name} has no {required}")
        result.append(Variable(name, attrs["type"], attrs.get("default"), string_literal(name, attrs["description"])))
    return result


def code(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`"


def prose(text: str) -> str:
    """Markdown for a description: code spans kept; elsewhere <, >, * and |
    escaped, so that "<name>" is text and not an HTML tag."""
    parts = text.split("`")
    if len(parts) % 2 == 0:
        raise InputError(f"unbalanced backquotes in {text!r}")
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(code(part))
        else:
            part = part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            out.append(part.replace("*", "\\*").replace("|", "\\|"))
    return "".join(out)


def table(variables: list[Variable]) -> str:
    rows = [
        "| Name | Type | Default | Description |",
        "|------|------|---------|-------------|",
    ]
    for v in variables:
        default = "required" if v.default is None else code(v.default)
        rows.append(f"| {code(v.name)} | {code(v.type)} | {default} | {prose(v.description)} |")
    return "\n".join(rows) + "\n"


def split_doc(doc: Path) -> tuple[str, str, str]:
    """(up to the begin marker's line, the table, from the end marker's line)."""
    lines = doc.read_text().splitlines(keepends=True)
    begins = [i for i, line in enumerate(lines) if line.strip() == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if len(begins) != 1 or len(ends) != 1 or begins[0] > ends[0]:
        raise InputError(f"{doc}: needs one line {BEGIN} and, after it, one line {END}")
    b, e = begins[0], ends[0]
    return "".join(lines[: b + 1]), "".join(lines[b + 1 : e]), "".join(lines[e:])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if the document's table is stale")
    mode.add_argument("--write", action="store_true", help="regenerate the document's table")
    parser.add_argument("doc", nargs="?", type=Path, default=DEFAULT_DOC, help="default: docs/configuration.md")
    args = parser.parse_args(argv)
    try:
        wanted = table(read_variables(VARIABLES))
        if not (args.check or args.write):
            sys.stdout.write(wanted)
            return 0
        head, current, tail = split_doc(args.doc)
    except (InputError, OSError) as e:
        print(f"terraform-inputs: {e}", file=sys.stderr)
        return 2
    shown = args.doc.relative_to(REPO) if args.doc.is_relative_to(REPO) else args.doc
    if current == wanted:
        return 0
    if args.write:
        args.doc.write_text(head + wanted + tail)
        print(f"terraform-inputs: {shown}: table regenerated from terraform/variables.tf")
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True), wanted.splitlines(keepends=True), "in the document", "from variables.tf"
    )
    sys.stderr.writelines(diff)
    print(
        f"terraform-inputs: {shown}: the Terraform variables table is stale (terraform/variables.tf changed);"
        f" regenerate it: scripts/terraform-inputs.py --write {shown}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
