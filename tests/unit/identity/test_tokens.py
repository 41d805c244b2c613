import datetime as dt
import hmac
import json

import pyarrow as pa
import pytest

from ansim.errors import InvalidSpecError
from ansim.identity import (
    DEFAULT_ENCODING_SPEC,
    DEFAULT_RECIPES,
    ENCODING_METADATA_KEY,
    EncodingSpec,
    LinkageSecret,
    TokenRecipe,
    make_tokens,
    new_serials,
    prepare,
)
from ansim.packages import read_part
from ansim.schema import DatasetSpec, IdentifierKind

RRN = DEFAULT_RECIPES[0]


def test_tokens_depend_on_the_secret_and_the_recipe() -> None:
    values = {IdentifierKind.RRN: ["8005221234567"], IdentifierKind.PHONE: ["8005221234567"]}
    a, b = LinkageSecret.generate(), LinkageSecret.generate()
    assert make_tokens(RRN, values, a) == make_tokens(RRN, values, a)
    assert make_tokens(RRN, values, a) != make_tokens(RRN, values, b)
    phone_recipe = type(RRN)("phone", (IdentifierKind.PHONE,))
    assert make_tokens(RRN, values, a) != make_tokens(phone_recipe, values, a)


def test_secret_never_shows_itself(tmp_path) -> None:
    secret = LinkageSecret.generate()
    assert secret.key.hex() not in repr(secret) + str(secret)
    path = secret.save(tmp_path / "k")
    assert path.stat().st_mode & 0o777 == 0o600
    assert LinkageSecret.load(path).key == secret.key
    with pytest.raises(InvalidSpecError):
        LinkageSecret(b"short")


def test_serials_are_fresh() -> None:
    assert not set(new_serials(1000)) & set(new_serials(1000))


SPEC = DatasetSpec.from_yaml_text(
    """
dataset: cases
custodian: gyeonggi
record_id: record_id
columns:
  name: {type: string, role: direct_identifier, kind: korean_name}
  rrn: {type: string, role: direct_identifier, kind: rrn}
  birth_date: {type: date, role: quasi_identifier}
  sex: {type: category, role: quasi_identifier, values: [M, F]}
  case_date: {type: date, role: attribute}
"""
)


def _records() -> pa.Table:
    return pa.table(
        {
            "record_id": ["r1", "r2"],
            "name": ["김 민준", None],
            "rrn": ["800522-1234567", "9001011234568"],
            "birth_date": pa.array([dt.date(1980, 5, 22), None], pa.date32()),
            "sex": ["M", "F"],
            "case_date": pa.array([dt.date(2021, 1, 1)] * 2, pa.date32()),
        }
    )


def test_prepare_splits_identity_from_content(tmp_path) -> None:
    parts = prepare(SPEC, _records(), LinkageSecret.generate(), tmp_path, project="p1")
    identity = read_part(parts.identity, "identity")
    content = read_part(parts.content, "content")
    assert identity.table.column_names == [
        "serial", "token_rrn", "token_name_birth_sex",
        "bf_name", "bf_birth_date", "bf_rrn", "clk",  # no bf_sex: sex only in the CLK
    ]  # fmt: skip
    assert identity.table.schema.field("token_rrn").type == pa.binary(32)
    assert identity.table.schema.field("bf_name").type == pa.binary(128)  # 512 bits, balanced
    assert identity.table.schema.field("clk").type == pa.binary(256)
    encoding = EncodingSpec.from_yaml_text(
        identity.table.schema.metadata[ENCODING_METADATA_KEY.encode()].decode()
    )
    assert encoding == DEFAULT_ENCODING_SPEC.for_kinds(
        {
            IdentifierKind.KOREAN_NAME,
            IdentifierKind.RRN,
            IdentifierKind.BIRTH_DATE,
            IdentifierKind.SEX,
        }
    )
    assert identity.table["bf_name"].to_pylist()[1] is None  # blank name: null filter
    assert content.table.column_names == ["serial", "birth_date", "sex", "case_date"]
    assert identity.dataset == content.dataset == "cases"
    assert identity.project == "p1"
    assert identity.table["serial"].to_pylist() == content.table["serial"].to_pylist()
    # a record missing its name gets no name-based token
    assert identity.table["token_name_birth_sex"].to_pylist()[1] is None
    report = parts.report.read_text()
    for raw in ("김", "800522", "1234567"):
        assert raw not in report


def test_serials_differ_between_projects(tmp_path) -> None:
    secret = LinkageSecret.generate()
    a = prepare(SPEC, _records(), secret, tmp_path / "a", project="p1")
    b = prepare(SPEC, _records(), secret, tmp_path / "b", project="p2")
    sa = read_part(a.identity, "identity").table["serial"].to_pylist()
    sb = read_part(b.identity, "identity").table["serial"].to_pylist()
    assert not set(sa) & set(sb)


def test_tokens_are_rfc2104_hmac_sha256_under_the_derived_key() -> None:
    secret = LinkageSecret.generate()
    values = {IdentifierKind.RRN: ["8005221234567", "한글도됩니다", None]}
    tokens = make_tokens(RRN, values, secret).to_pylist()
    key = secret.derive("tokens")
    for value, token in zip(values[IdentifierKind.RRN][:2], tokens, strict=False):
        assert token == hmac.new(key, f"rrn\x1f{value}".encode(), "sha256").digest()
    assert tokens[2] is None
    assert secret.derive("tokens") != secret.derive("bloom") != secret.key


def test_prepare_reports_chunks_like_one_pass(tmp_path) -> None:
    secret = LinkageSecret.generate()
    seen: list[tuple[int, int]] = []
    whole = prepare(SPEC, _records(), secret, tmp_path / "a", project="p1")
    chunked = prepare(
        SPEC, _records(), secret, tmp_path / "b", project="p1", chunk_rows=1,
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    assert seen == [(1, 2), (2, 2)]
    a, b = (read_part(p.identity, "identity").table for p in (whole, chunked))
    assert a.drop(["serial"]).equals(b.drop(["serial"]))
    ra, rb = (json.loads(p.report.read_text()) for p in (whole, chunked))
    assert ra["identifier_checks"] == rb["identifier_checks"]
    assert ra["bloom_filters"] == rb["bloom_filters"]


def test_prepare_without_encoding_makes_tokens_only(tmp_path) -> None:
    parts = prepare(
        SPEC, _records(), LinkageSecret.generate(), tmp_path, project="p", encoding=None
    )
    table = read_part(parts.identity, "identity").table
    assert table.column_names == ["serial", "token_rrn", "token_name_birth_sex"]
    assert ENCODING_METADATA_KEY.encode() not in table.schema.metadata


def test_token_recipes_parse_and_refuse_nonsense() -> None:
    recipe = TokenRecipe.parse("nbs=korean_name+birth_date+sex")
    assert recipe.column == "token_nbs" and len(recipe.kinds) == 3
    with pytest.raises(InvalidSpecError, match="unknown token"):
        TokenRecipe.parse("shoe")
    with pytest.raises(InvalidSpecError, match="kinds must be among"):
        TokenRecipe.parse("x=korean_name+shoe_size")
    with pytest.raises(InvalidSpecError, match="distinct"):
        TokenRecipe.parse("x=rrn+rrn")
