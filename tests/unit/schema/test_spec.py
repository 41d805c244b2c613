import pytest

from ansim.errors import InvalidSpecError
from ansim.identity import EncodingSpec
from ansim.linkage import LinkageConfig
from ansim.schema import ColumnType, DatasetSpec, IdentifierKind, Role

BASE = """
dataset: cases
custodian: gyeonggi
record_id: record_id
columns:
  name: {type: string, role: direct_identifier, kind: korean_name}
  sex: {type: category, role: quasi_identifier, values: [M, F]}
  age: {type: integer, role: attribute, min: 0, max: 120}
"""


def test_round_trip() -> None:
    spec = DatasetSpec.from_yaml_text(BASE)
    assert DatasetSpec.from_yaml_text(spec.to_yaml()) == spec
    assert spec.column("age").type is ColumnType.INTEGER
    assert spec.find_kind(IdentifierKind.SEX) == spec.column("sex")
    assert [c.name for c in spec.content_columns] == ["sex", "age"]
    assert spec.column("name").role is Role.DIRECT_IDENTIFIER


def test_record_id_listed_among_columns_is_tolerated() -> None:
    text = BASE + "  record_id: {type: string, role: direct_identifier}\n"
    assert "record_id" not in [c.name for c in DatasetSpec.from_yaml_text(text).columns]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("dataset: cases", "dataset: Cases!"), "must be lower-case letters"),
        (("role: attribute", "role: secret"), "is not one of"),
        (("type: integer", "type: text"), "is not one of"),
        (("kind: korean_name", "kind: shoe_size"), "is not one of"),
        (("min: 0, max: 120", "min: 5, max: 1"), "larger than max"),
        (("values: [M, F]", "values: [M, M]"), "without repeats"),
        (("{type: string, role: direct_identifier, kind: korean_name}",
          "{type: date, role: direct_identifier, kind: korean_name}"), "needs type string"),
        (("custodian: gyeonggi", "custodian: gyeonggi\ncolour: red"), "unknown top-level keys"),
        (("record_id: record_id\n", ""), "no 'record_id'"),
    ],
)  # fmt: skip
def test_invalid_specs_say_what_is_wrong(change: tuple[str, str], message: str) -> None:
    with pytest.raises(InvalidSpecError, match=message):
        DatasetSpec.from_yaml_text(BASE.replace(*change))


def test_not_yaml() -> None:
    with pytest.raises(InvalidSpecError, match="not valid YAML"):
        DatasetSpec.from_yaml_text("a: [")


def test_spec_files_that_cannot_be_read_are_clear_errors(tmp_path) -> None:
    missing = tmp_path / "missing.yaml"
    cp949 = tmp_path / "cp949.yaml"
    cp949.write_bytes("dataset: 확진자".encode("cp949"))
    for load in (DatasetSpec.from_yaml, EncodingSpec.from_yaml, LinkageConfig.from_yaml):
        with pytest.raises(InvalidSpecError, match="cannot read"):
            load(missing)
        with pytest.raises(InvalidSpecError, match="not UTF-8"):
            load(cp949)
