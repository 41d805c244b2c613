"""No file a custodian sends contains any raw or standardised identifier of its input."""

import contextlib
import datetime as dt
import unicodedata
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.demo import demo_spec, generate_world
from ansim.identity import (
    DEFAULT_RECIPES,
    LinkageSecret,
    make_tokens,
    parse_date,
    prepare,
    standardise_columns,
)
from ansim.ingest import ingest_file, load_ingested
from ansim.packages import PartyKeyStore, introduce, seal_part
from ansim.schema import IdentifierKind

NAME_BIRTH_SEX = DEFAULT_RECIPES[1]


def _forms(value: str) -> set[bytes]:
    """A value as bytes in the encodings and normal forms a file could hold it in."""
    out = set()
    for text in {value, value.replace("-", ""), value.replace(" ", "")}:
        for form in ("NFC", "NFD"):
            normal = unicodedata.normalize(form, text)
            out.add(normal.encode("utf-8"))
            out.add(normal.encode("utf-16-le"))
            with contextlib.suppress(UnicodeEncodeError):
                out.add(normal.encode("cp949"))
    return {b for b in out if len(b) >= 6}  # shorter byte strings occur by chance


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], set[bytes]]:
    root = tmp_path_factory.mktemp("scan")
    world = generate_world(1000, 11, root / "world")
    spec = demo_spec("gyeonggi_cases")
    result = ingest_file(spec, world.datasets["gyeonggi_cases"], root / "ingest")
    _, records = load_ingested(result.directory)
    secret = LinkageSecret.generate()
    parts = prepare(spec, records, secret, root / "prepared", project="scan")
    me, unit, hub = (PartyKeyStore.create(root / p, p) for p in ("gyeonggi", "unit", "hub"))
    introduce([me, unit, hub])
    packages = [
        seal_part(parts.identity, sender=me, recipient="unit", out_dir=root / "out"),
        seal_part(parts.content, sender=me, recipient="hub", out_dir=root / "out"),
    ]
    identifiers: set[bytes] = set()
    values, _ = standardise_columns(spec, records)
    for column in spec.direct_identifiers:
        for value in records[column.name].to_pylist():
            if value:
                identifiers |= _forms(value)
    for kind in (IdentifierKind.KOREAN_NAME, IdentifierKind.RRN, IdentifierKind.PHONE):
        identifiers |= {f for v in values[kind].to_pylist() if v for f in _forms(v)}
    assert len(identifiers) > 2000  # the scan below is not vacuous
    sent_files = [*packages, parts.identity, parts.content, parts.report]
    # nor any key: the project secret, its derived keys, the custodian's private keys
    identifiers |= {secret.key, secret.derive("tokens"), secret.derive("bloom")}
    private = bytes.fromhex((me.root / "private.key").read_text())
    identifiers |= {secret.key.hex().encode(), private[:32], private[32:]}
    return sent_files, identifiers


def test_no_sent_file_contains_an_identifier(sent) -> None:
    files, identifiers = sent
    for path in files:
        blob = path.read_bytes()
        leaked = [i for i in identifiers if i in blob]
        assert not leaked, f"{path.name} holds {len(leaked)} identifier forms"


def test_plain_parts_hold_no_identifier_column(sent) -> None:
    files, _ = sent
    identity = pq.read_table(files[2])
    assert all(c == "serial" or c.startswith(("token_", "bf_")) or c == "clk"
               for c in identity.column_names)  # fmt: skip
    content = pq.read_table(files[3])
    assert not {"name", "rrn", "phone", "address"} & set(content.column_names)


NAMES = st.text(st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), min_size=2, max_size=4)
DATE_FORMS = ("{:%Y-%m-%d}", "{:%Y%m%d}", "{:%Y.%m.%d}", "{d.year}-{d.month}-{d.day}",
              "{d.year}년 {d.month}월 {d.day}일")  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(NAMES, st.dates(dt.date(1930, 1, 1), dt.date(2020, 12, 31)), st.sampled_from(["M", "F"]),
       st.sampled_from(["NFC", "NFD"]), st.integers(0, 3), st.sampled_from(DATE_FORMS))  # fmt: skip
def test_same_person_same_token_across_variants(  # noqa: PLR0917  (one argument per variant)
    name, born, sex, form, cut, date_form
) -> None:
    secret = LinkageSecret(bytes(32))
    variant = unicodedata.normalize(form, name[:cut] + " " + name[cut:])
    written = date_form.format(born, d=born)
    spec = demo_spec("snu_cohort")
    table = pa.table({
        "record_id": ["a", "b"],
        "name": [name, variant],
        "birth_date": pa.array([born, parse_date(written)], pa.date32()),
        "sex": [sex, {"M": "남", "F": "여"}[sex]],
    })  # fmt: skip
    columns = {c.name: table[c.name] if c.name in table.column_names else
               pa.nulls(2, pa.string()) for c in spec.columns}  # fmt: skip
    records = pa.table({"record_id": table["record_id"], **columns})
    values, _ = standardise_columns(spec, records)
    tokens = make_tokens(NAME_BIRTH_SEX, values, secret).to_pylist()
    assert tokens[0] is not None and tokens[0] == tokens[1]


def test_projects_give_unlinkable_tokens_and_serials(tmp_path) -> None:
    spec = demo_spec("snu_cohort")
    records = pa.table({
        "record_id": ["a"], "name": ["김민준"], "rrn": ["800522-1234564"],
        "birth_date": pa.array([dt.date(1980, 5, 22)], pa.date32()), "sex": ["남"],
        "phone": ["010-1234-5678"], "sigungu_code": ["41110"], "address": ["수원시 정조로 1"],
        "self_rated_health": [3], "vaccinated": ["Y"], "vaccine_doses": [2],
        "chronic_condition": ["N"],
    })  # fmt: skip
    a = prepare(spec, records, LinkageSecret.generate(), tmp_path / "a", project="p1")
    b = prepare(spec, records, LinkageSecret.generate(), tmp_path / "b", project="p2")
    ta, tb = pq.read_table(a.identity), pq.read_table(b.identity)
    for column in ta.column_names:
        assert ta[column].to_pylist() != tb[column].to_pylist(), column
    assert pc.all(pc.is_valid(ta["token_rrn"])).as_py()
