"""``ansim.flow.link_files`` over the services: a failed run leaves no output folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansim.errors import IngestError
from ansim.flow import link_files

SPEC = """
dataset: {name}
custodian: x
record_id: id
columns:
  name: {{type: string, role: direct_identifier, kind: korean_name}}
  birth_date: {{type: date, role: quasi_identifier}}
"""


def _inputs(root: Path, second_rows: str) -> list[tuple[Path, Path]]:
    inputs = []
    for name, rows in (("a", "1,김민준,1980-05-22\n2,이서연,1990-01-02\n"), ("b", second_rows)):
        spec, data = root / f"{name}.yaml", root / f"{name}.csv"
        spec.write_text(SPEC.format(name=name), encoding="utf-8")
        data.write_text("id,name,birth_date\n" + rows, encoding="utf-8")
        inputs.append((spec, data))
    return inputs


@pytest.mark.parametrize("rows", ["", "1,김민준,not a date\n"], ids=["header-only", "no-valid"])
@pytest.mark.parametrize("existing", [False, True], ids=["new", "empty-existing"])
def test_a_dataset_with_no_landed_row_leaves_no_output(
    tmp_path: Path, rows: str, existing: bool
) -> None:
    out = tmp_path / "out"
    if existing:
        out.mkdir()
    with pytest.raises(IngestError, match=r"'b': no row of b\.csv landed"):
        link_files(_inputs(tmp_path, rows), out)
    assert out.exists() == existing
    assert not existing or not any(out.iterdir())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_a_good_run_writes_the_stable_outputs(tmp_path: Path) -> None:
    run = link_files(_inputs(tmp_path, "1,김민준,1980-05-22\n"), tmp_path / "out", seed=1)
    names = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.*"))
    assert "linkmap.parquet" in names and "serials/a.parquet" in names
    assert not [n for n in names if n.endswith(".ansim") or "governance" in n]
    assert run.report.records == {"a": 2, "b": 1}
