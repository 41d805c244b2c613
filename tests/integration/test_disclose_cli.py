"""``ansim disclose microdata`` and ``ansim disclose table``: the forms evaluations run."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ansim.cli import app

runner = CliRunner()
ARX = Path(__file__).parents[1] / ".." / ".." / "shared" / "data" / "arx-benchmark"
SIX = "age,education,marital-status,occupation,sex,native-country"


def _ansim(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from ansim.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


@pytest.mark.skipif(not (ARX / "adult.csv").is_file(), reason="ARX benchmark data not present")
def test_microdata_on_adult_matches_arx(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "disclose", "microdata", "--input", str(ARX / "adult.csv"), "--delimiter", ";",
            "--hierarchies", str(ARX), "--qi", SIX, "--k", "10", "--suppression-limit", "0.05",
            "--metric", "loss", "--out", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["levels"] == {
        "age": 3, "education": 2, "marital-status": 0, "occupation": 1, "sex": 0,
        "native-country": 1,
    }  # fmt: skip
    assert 0 < report["suppressed"] <= 1508
    assert 0 < report["loss"] < 1
    assert report["seconds"] > 0
    with (out / "anonymised.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert len(rows) == 30162
    qis = SIX.split(",")
    suppressed = [r for r in rows if all(r[q] == "*" for q in qis)]
    assert len(suppressed) == report["suppressed"]
    groups = Counter(tuple(r[q] for q in qis) for r in rows if r not in suppressed)
    assert min(groups.values()) >= 10
    assert report["risk"]["after"]["prosecutor_max"] <= 0.1 or suppressed


def _small(tmp_path: Path, encoding: str = "utf-8") -> tuple[Path, Path]:
    data = tmp_path / "people.csv"
    lines = ["나이;시군구;소득"] + [
        f"{30 + i % 4};{'41110' if i % 3 else '41135'};{i}" for i in range(24)
    ]
    data.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    folder = tmp_path / "h"
    folder.mkdir()
    ages = "\n".join(f"{a};{a // 10 * 10}대;*" for a in range(20, 50))
    (folder / "h_나이.csv").write_text(ages + "\n", encoding="utf-8")
    (folder / "h_시군구.csv").write_bytes(
        "41110;41110;경기도\n41135;41130;경기도\n".encode("cp949")
    )
    return data, folder


@pytest.mark.parametrize("encoding", ["utf-8", "cp949"])
def test_microdata_korean_columns_and_encodings(tmp_path: Path, encoding: str) -> None:
    data, folder = _small(tmp_path, encoding)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "disclose", "microdata", "--input", str(data), "--delimiter", ";", "--hierarchies",
            str(folder), "--qi", "나이,시군구", "--k", "3", "--out", str(out), "--keep", "소득",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert set(report["levels"]) == {"나이", "시군구"}
    text = (out / "anonymised.csv").read_text(encoding="utf-8")
    assert text.startswith("나이;시군구;소득")


def test_value_missing_from_hierarchy_is_a_clear_error(tmp_path: Path) -> None:
    data, folder = _small(tmp_path)
    (folder / "h_나이.csv").write_text("30;30대;*\n31;30대;*\n32;30대;*\n", encoding="utf-8")
    proc = _ansim(
        ["disclose", "microdata", "--input", str(data), "--delimiter", ";", "--hierarchies",
         str(folder), "--qi", "나이", "--k", "2", "--out", str(tmp_path / "o")],
        tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "'나이'" in proc.stderr
    assert "'33'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--qi", "나이,없음"], "no hierarchy for attribute '없음'"),
        (["--qi", "나이", "--metric", "speed"], "unknown metric"),
        (["--qi", "나이", "--delimiter", ","], "column '나이' is not in the input"),
        (["--qi", "나이", "--suppression-limit", "2"], "suppression limit"),
    ],
)
def test_microdata_errors_exit_2(tmp_path: Path, extra: list[str], message: str) -> None:
    data, folder = _small(tmp_path)
    args = ["disclose", "microdata", "--input", str(data), "--hierarchies", str(folder)]
    if "--delimiter" not in extra:
        args += ["--delimiter", ";"]
    proc = _ansim([*args, *extra, "--out", str(tmp_path / "o")], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr.replace("\n", " ")
    assert "Traceback" not in proc.stderr


def test_table_command_protects_and_reports(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    rows = ["si,sex"] + [f"s{1 + i % 5},{'FM'[i % 2]}" for i in range(23)] + ["s1,F"] * 9
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    folder = tmp_path / "h"
    folder.mkdir()
    (folder / "h_si.csv").write_text(
        "s1;north;all\ns2;north;all\ns3;north;all\ns4;south;all\ns5;south;all\n"
    )
    for method in ("heuristic", "optimal"):
        out = tmp_path / method
        result = runner.invoke(
            app,
            [
                "disclose", "table", "--input", str(data), "--by", "si,sex", "--hierarchies",
                str(folder), "--threshold", "4", "--method", method, "--out", str(out),
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        report = json.loads((out / "report.json").read_text())
        assert report["audit_passed"] is True
        assert report["primary"] > 0
        assert report["secondary"] > 0
        with (out / "table.csv").open(encoding="utf-8", newline="") as f:
            cells = list(csv.DictReader(f))
        assert "status" not in cells[0]  # the status stays in the hub's report
        statuses = [c["status"] for c in report["status"]]
        assert len(statuses) == len(cells)
        pairs = zip(cells, statuses, strict=True)
        assert all((c["value"] == "x") == (s != "published") for c, s in pairs)
        assert {c["value"] for c in cells if c["value"] == "x"} == {"x"}


def test_builtin_hierarchies_tab_delimiter_and_blanks(tmp_path: Path) -> None:
    data = tmp_path / "people.tsv"
    codes = ["41135", "41110", " 41610", "41610 "]
    lines = ["age\tsigungu_code\tvisit"] + [
        f"{25 + i % 30}\t{codes[i % 4]}\t2021-0{1 + i % 3}-1{i % 10}" for i in range(40)
    ]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "disclose", "microdata", "--input", str(data), "--delimiter", "\\t",
            "--builtin", "age=age", "--builtin", "sigungu_code=sigungu",
            "--builtin", "visit=date:2021-01-01:2021-03-31",
            "--qi", "age,sigungu_code,visit", "--k", "4", "--out", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert set(report["levels"]) == {"age", "sigungu_code", "visit"}
    with (out / "anonymised.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    groups = Counter((r["age"], r["sigungu_code"], r["visit"]) for r in rows)
    assert all(n >= 4 for key, n in groups.items() if key != ("*", "*", "*"))
    bad = runner.invoke(
        app, ["disclose", "microdata", "--input", str(data), "--delimiter", "tab",
              "--builtin", "age=decade", "--qi", "age", "--out", str(out)],
    )  # fmt: skip
    assert "use ATTR=age" in str(bad.exception)


def test_table_command_controlled_rounding(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    rows = ["si,sex"] + [f"s{1 + i % 4},{'FM'[i % 3 % 2]}" for i in range(29)]
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "rounded"
    result = runner.invoke(
        app,
        ["disclose", "table", "--input", str(data), "--by", "si,sex", "--round", "5",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with (out / "table.csv").open(encoding="utf-8", newline="") as f:
        cells = {(c["si"], c["sex"]): int(c["value"]) for c in csv.DictReader(f)}
    assert all(v % 5 == 0 for v in cells.values())
    assert cells[("Total", "Total")] == sum(v for (si, sex), v in cells.items()
                                            if si != "Total" and sex != "Total")  # fmt: skip
    assert json.loads((out / "report.json").read_text())["base"] == 5


def test_table_command_links_tables(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    rows = ["si,sex,age"] + [
        f"s{1 + i % 5},{'FM'[i % 2]},{('0-29', '30-59', '60+')[i % 3]}" for i in range(41)
    ]
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "linked"
    result = runner.invoke(
        app,
        ["disclose", "table", "--input", str(data), "--by", "si,sex", "--by", "si,age",
         "--threshold", "4", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["audit_passed"] is True
    assert report["cells"] == 6 * 3 + 6 * 4 - 6


def test_risk_command_writes_profile(tmp_path: Path) -> None:
    data, _ = _small(tmp_path)
    out = tmp_path / "risk.json"
    result = runner.invoke(
        app,
        ["disclose", "risk", "--input", str(data), "--delimiter", ";", "--qi", "나이,시군구",
         "--sampling-fraction", "0.5", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    profile = json.loads(out.read_text(encoding="utf-8"))
    assert profile["records"] == 24
    assert 0 < profile["prosecutor_max"] <= 1
    assert profile["population_uniques"] is not None
