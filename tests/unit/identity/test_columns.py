import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.errors import InvalidIdentifierError
from ansim.identity import (
    standardise_address,
    standardise_array,
    standardise_name,
    standardise_phone,
    standardise_rrn,
    standardise_sex,
)
from ansim.schema import IdentifierKind

SCALAR = {
    IdentifierKind.KOREAN_NAME: standardise_name,
    IdentifierKind.RRN: standardise_rrn,
    IdentifierKind.PHONE: standardise_phone,
    IdentifierKind.SEX: standardise_sex,
    IdentifierKind.ADDRESS: standardise_address,
}
PIECES = ["김", "민", "준", " ", "-", ".", "\u3000", "１", "0", "1", "8", "+82", "010", "(", ")",
          "\u1100\u1161", "A", "é", "남", "여", "M", "f", "123"]  # fmt: skip
PIECES += ["경기도 ", "수원시 ", "정조로"]
TEXTS = st.one_of(
    st.none(),
    st.lists(st.sampled_from(PIECES), max_size=14).map("".join),
    st.from_regex(r"\A[0-9]{6}-?[0-9]{7}\Z"),
    st.from_regex(r"\A0[0-9]{1,2}[- ]?[0-9]{3,4}[- ]?[0-9]{4}\Z"),
    st.text(max_size=8),
)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(list(SCALAR)), st.lists(TEXTS, max_size=12))
def test_bulk_standardisation_equals_the_scalar_functions(kind, raw) -> None:
    expected, invalid = [], 0
    for value in raw:
        try:
            expected.append(SCALAR[kind](value))
        except InvalidIdentifierError:
            expected.append(None)
            invalid += 1
    got = standardise_array(kind, pa.array(raw, pa.string()))
    assert got.values.to_pylist() == expected
    assert got.invalid == invalid
