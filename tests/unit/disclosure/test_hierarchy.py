"""Hierarchies: ARX's file format, validation, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from ansim.disclosure import Hierarchy, KAnonymity, anonymise, load_hierarchies, read_hierarchy
from ansim.errors import InvalidSpecError


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_reads_arx_format_with_crlf_and_bom(tmp_path: Path) -> None:
    path = _write(tmp_path / "h_age.csv", "\ufeff1;0-4;*\r\n2;0-4;*\r\n\r\n7;5-9;*\r\n")
    h = read_hierarchy(path, "age")
    assert h.height == 3
    assert h.domain_size == 3
    assert h.label("7", 1) == "5-9"


def test_reads_cp949_korean_labels(tmp_path: Path) -> None:
    path = _write(tmp_path / "x_sido.csv", "수원시;경기도;*\n성남시;경기도;*\n", "cp949")
    assert read_hierarchy(path, "sido").label("성남시", 1) == "경기도"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a;x;*\nb;*\n", "row 2 has 2 levels"),
        ("a;x;*\na;y;*\n", "appears twice"),
        ("a;x;*\nb;x;top\n", "levels must nest"),
        ("a;;*\n", "empty label"),
        ("a\nb\n", "one column"),
        ("", "no rows"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path / "h_v.csv", text)
    with pytest.raises(InvalidSpecError, match=message):
        read_hierarchy(path, "v")


def test_folder_lookup_by_attribute_suffix(tmp_path: Path) -> None:
    _write(tmp_path / "adult_hierarchy_marital-status.csv", "a;*\n")
    _write(tmp_path / "sex.csv", "M;*\nF;*\n")
    found = load_hierarchies(tmp_path, ["marital-status", "sex"])
    assert list(found) == ["marital-status", "sex"]
    with pytest.raises(InvalidSpecError, match="no hierarchy for attribute 'age'"):
        load_hierarchies(tmp_path, ["age"])
    _write(tmp_path / "other_sex.csv", "M;*\nF;*\n")
    with pytest.raises(InvalidSpecError, match="several hierarchy files"):
        load_hierarchies(tmp_path, ["sex"])
    with pytest.raises(InvalidSpecError, match="does not exist"):
        load_hierarchies(tmp_path / "nope", ["sex"])


def test_value_missing_from_hierarchy_names_attribute_and_value() -> None:
    h = Hierarchy("sex", (("M", "*"), ("F", "*")))
    table = pa.table({"sex": ["M", "F", "X", "X"]})
    with pytest.raises(InvalidSpecError, match=r"attribute 'sex': value 'X' \(first in record 3\)"):
        anonymise(table, {"sex": h}, ["sex"], [KAnonymity(2)])


def test_missing_column_and_models_are_clear() -> None:
    h = Hierarchy("sex", (("M", "*"), ("F", "*")))
    table = pa.table({"sex": ["M", "F"]})
    with pytest.raises(InvalidSpecError, match="column 'age' is not in the input"):
        anonymise(table, {"sex": h, "age": h}, ["age"], [KAnonymity(2)])
    with pytest.raises(InvalidSpecError, match="no privacy model"):
        anonymise(table, {"sex": h}, ["sex"], [])
    with pytest.raises(InvalidSpecError, match="k must be at least 1"):
        KAnonymity(0)


def test_trailing_delimiter_on_every_line_is_tolerated(tmp_path: Path) -> None:
    path = _write(tmp_path / "h_v.csv", "a;x;*;\nb;x;*;\n")
    assert read_hierarchy(path, "v").height == 3
