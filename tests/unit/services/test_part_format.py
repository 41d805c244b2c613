"""The part format is owned by ``ansim.packages``: no other module names its metadata keys."""

from __future__ import annotations

import ast
from pathlib import Path

import pyarrow as pa

from ansim.packages import PartLabel, label_part, part_label

SRC = Path(__file__).parents[3] / "src" / "ansim"
KEYS = {"ansim.part", "ansim.dataset", "ansim.project", "ansim.encoding"}
OWNERS = {"packages", "services"}


def _constants(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            value = node.value.decode() if isinstance(node.value, bytes) else node.value
            found.add(value)
    return found


def test_no_module_outside_packages_and_services_names_a_part_metadata_key() -> None:
    offenders = {
        str(path.relative_to(SRC)): sorted(KEYS & _constants(path))
        for path in SRC.rglob("*.py")
        if path.relative_to(SRC).parts[0] not in OWNERS and KEYS & _constants(path)
    }
    assert offenders == {}


def test_the_scan_would_find_a_key_if_one_were_named() -> None:
    assert KEYS & _constants(SRC / "packages" / "_parts.py") == KEYS


def test_a_label_round_trips_and_replaces_old_metadata() -> None:
    table = pa.table({"serial": ["a"]}).replace_schema_metadata({"other": "x"})
    labelled = label_part(table, project="p", dataset="d", kind="identity")
    assert part_label(labelled.schema) == PartLabel("d", "identity", "p")
    assert part_label(table.schema) == PartLabel("", "", "")
    assert b"other" not in (labelled.schema.metadata or {})
