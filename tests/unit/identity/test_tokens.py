import datetime as dt

import pyarrow as pa
import pytest

from ansim.errors import InvalidSpecError
from ansim.identity import DEFAULT_RECIPES, LinkageSecret, make_tokens, new_serials, prepare
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
    assert identity.table.column_names == ["serial", "token_rrn", "token_name_birth_sex"]
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
