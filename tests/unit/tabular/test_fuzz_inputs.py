"""No traceback reaches a user: random and mutated files end in an Ansim error or a clean result.

About 11,000 files in all, in process: 10,000 through the shared reader (what every command
reads with, ingest and disclose alike), 500 of them through a full ingest, and smaller runs
through ``ansim disclose microdata|table|risk`` (whose counts must add up) and ``ansim link``
via the CLI runner.
"""

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ansim.cli import app
from ansim.disclosure import read_microdata
from ansim.errors import AnsimError
from ansim.ingest import ingest_file
from ansim.schema import DatasetSpec
from ansim.tabular import parse_csv, read_file

runner = CliRunner()
SPEC_TEXT = """
dataset: {name}
custodian: gyeonggi
record_id: record_id
columns:
  name: {{type: string, role: direct_identifier, kind: korean_name}}
  rrn: {{type: string, role: direct_identifier, kind: rrn}}
  birth_date: {{type: date, role: quasi_identifier}}
  sex: {{type: category, role: quasi_identifier, values: [M, F]}}
  note: {{type: string, role: attribute}}
"""
SPEC = DatasetSpec.from_yaml_text(SPEC_TEXT.format(name="cases"))
HEADER = "record_id,name,rrn,birth_date,sex,note"
_PALETTE = [
    b'"', b'""', b"\n", b"\r", b"\r\n", b"\x00", b"\xff", b"\x80", b"\xef\xbb\xbf", b",", b";",
    b"\t", b"=cmd|' /C calc'!A0", b"\xb0\xa1", "김".encode(), b"\x1b", b"\xe2\x80\xae", b"-",
    b"800522-1234567", b"1980-13-45", b" ", b"\\",
]  # fmt: skip
_VARIANTS = 20


def _base(rng: random.Random, rows: int) -> bytes:
    lines = [HEADER] + [
        f"r{i},김민준,800522-123456{i % 10},1980-05-{1 + i % 28:02d},{'MF'[i % 2]},note {i}"
        for i in range(rows)
    ]
    text = "\n".join(lines) + rng.choice(["\n", "", "\r\n"])
    return text.encode(rng.choice(["utf-8", "cp949", "utf-8"]))


def _mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        what = rng.random()
        where = rng.randint(0, len(out))
        if what < 0.55:
            out[where:where] = rng.choice(_PALETTE)
        elif what < 0.7 and out:
            del out[where : where + rng.randint(1, 12)]
        elif what < 0.8:
            out = out[: rng.randint(0, len(out))]
        elif what < 0.9:
            lines = bytes(out).split(b"\n")
            lines.insert(rng.randint(0, len(lines)), rng.choice(lines))
            out = bytearray(b"\n".join(lines))
        else:
            out[where:where] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 16)))
    return bytes(out)


def _files(seed: int, rows: int, noise: bool) -> list[bytes]:
    rng = random.Random(seed)
    if noise:  # random files, not derived from a CSV at all
        return [
            bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300))) for _ in range(_VARIANTS)
        ]
    base = _base(rng, rows)
    return [_mutate(rng, base) for _ in range(_VARIANTS)]


def _clean_or_ansim_error(call) -> object:
    try:
        return call()
    except AnsimError:
        return None


@settings(
    max_examples=500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32), rows=st.integers(0, 12), noise=st.booleans())
def test_reader_and_ingest_never_crash(tmp_path_factory, seed: int, rows: int, noise: bool) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    files = _files(seed, rows, noise)
    for i, data in enumerate(files):
        path = tmp / f"in{i}.csv"
        path.write_bytes(data)
        read = _clean_or_ansim_error(lambda p=path: read_file(p, delimiter=None))
        if read is not None:  # what the reader lands holds no stray line break or NUL
            for row in read.parsed.rows:
                assert not any("\n" in f or "\r" in f or "\x00" in f for f in row)
        _clean_or_ansim_error(lambda p=path: read_microdata(p))
    result = _clean_or_ansim_error(lambda: ingest_file(SPEC, path, tmp / "out"))
    if result is not None:
        summary = json.loads((result.directory / "summary.json").read_text(encoding="utf-8"))
        assert summary["rows_read"] == summary["rows_landed"] + summary["rows_quarantined"]


def _cli(args: list[str]) -> int:
    result = runner.invoke(app, args)
    if isinstance(result.exception, AnsimError):
        return 2
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code


def _disclosed(out: Path, report: Path) -> None:
    """A clean disclose result: the counts add up and the quarantine lists exactly the rest."""
    counts = json.loads(report.read_text(encoding="utf-8"))
    assert counts["rows_read"] == counts["rows_used"] + counts["rows_quarantined"] > 0
    assert counts["rows_used"] > 0
    lines = counts["rows_read"] + counts["blank_lines"] + counts["multiline_continuation_lines"]
    assert counts["data_lines"] == lines
    listing = out.read_text(encoding="utf-8").splitlines()
    assert listing[0] == "row_number,line_range,reason"
    assert len(listing) - 1 == counts["rows_quarantined"]
    assert "800522" not in "".join(listing)  # no value of a damaged row (only reasons)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32), rows=st.integers(0, 12))
def test_disclose_never_crashes(tmp_path_factory, seed: int, rows: int) -> None:  # fmt: skip
    """Random damaged files end in a clean result whose counts add up, or in exit 2 and no OUT."""
    tmp = tmp_path_factory.mktemp("fuzzd")
    path = tmp / "in.csv"
    path.write_bytes(_files(seed, rows, noise=False)[0])
    (tmp / "h").mkdir()
    (tmp / "h" / "h_sex.csv").write_text("M;*\nF;*\n", encoding="utf-8")
    runs = {
        "m": ["microdata", "--qi", "sex", "--k", "1", "--hierarchies", str(tmp / "h"),
              "--suppression-limit", "1", "--out", str(tmp / "m")],
        "t": ["table", "--by", "sex", "--threshold", "2", "--out", str(tmp / "t")],
        "r": ["risk", "--qi", "sex", "--out", str(tmp / "r" / "risk.json")],
    }  # fmt: skip
    for name, args in runs.items():
        code = _cli(["disclose", args[0], "--input", str(path), *args[1:]])
        assert code in (0, 2)
        out = tmp / name
        if code == 2:
            assert not out.exists()
        elif name == "r":
            _disclosed(out / "risk.quarantine.csv", out / "risk.json")
        else:
            _disclosed(out / "quarantine.csv", out / "report.json")


@pytest.mark.parametrize("case", range(12))
def test_link_never_crashes_and_leaves_no_folder_when_it_fails(tmp_path: Path, case: int) -> None:
    rng = random.Random(case)
    args = ["link"]
    for name in ("a", "b"):
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(SPEC_TEXT.format(name=name), encoding="utf-8")
        data = tmp_path / f"{name}.csv"
        base = _base(rng, rng.randint(0, 6))
        data.write_bytes(_mutate(rng, base) if case % 3 else HEADER.encode() + b"\n")
        args += ["--spec", str(spec), str(data)]
    out = tmp_path / "out"
    code = _cli([*args, "--out", str(out)])
    assert code in (0, 2)
    if case % 3 == 0:  # header-only files: a clear error, and no output folder left
        assert code == 2 and not out.exists()
    if code == 2:
        assert not out.exists() or not any(out.iterdir())


def test_unclosed_quote_on_the_last_line_is_quarantined() -> None:
    """Found by the fuzz run: the csv module hands an unclosed last field back with its CRLF."""
    parsed = parse_csv('id,note\n1,a\n2,"b\r\n')
    assert parsed.row_numbers == [2]
    assert [(r.row_number, "unclosed quote" in r.reason) for r in parsed.rejected] == [(3, True)]
