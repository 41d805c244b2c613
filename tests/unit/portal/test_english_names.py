"""The open API's names in English: the table's English where it has it, Korean otherwise."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.portal import kosis_rows, plain_rows
from ansim.regions import GYEONGGI_SIGUNGU
from tests.unit.portal.tables import cases_by_sigungu_sex

_NAME = st.one_of(st.just(""), st.just("  "), st.text(min_size=1, max_size=12))


@given(sex_en=st.dictionaries(st.sampled_from(["M", "F"]), _NAME), item_en=_NAME,
       unit_en=_NAME, title_en=_NAME)  # fmt: skip
@settings(max_examples=60, deadline=None)
def test_each_english_name_is_the_english_label_when_given_else_the_korean(
    sex_en: dict[str, str], item_en: str, unit_en: str, title_en: str
) -> None:
    base = cases_by_sigungu_sex()
    table = dataclasses.replace(base, labels_en=({}, sex_en), items_en={"rate": item_en},
                                unit_en=unit_en, title_en=title_en)  # fmt: skip

    def pick(english: str, korean: str) -> str:
        return english if english.strip() else korean

    korean, english = kosis_rows(table), kosis_rows(table, lang="en")
    assert [list(r) for r in english] == [list(r) for r in korean]  # the same fields
    for ko, en in zip(korean, english, strict=True):
        assert en["TBL_NM"] == pick(title_en, base.title_ko)
        assert en["C1_NM"] == GYEONGGI_SIGUNGU[en["C1"]].name_en
        assert en["C2_NM"] == pick(sex_en.get(en["C2"], ""), ko["C2_NM"])
        assert en["ITM_NM"] == pick(item_en, ko["ITM_NM"])
        assert en["UNIT_NM"] == pick(unit_en, ko["UNIT_NM"])
        assert all(en[f] for f in en if f.endswith("_NM"))  # never an empty name
        assert {f: en[f] for f in en if not f.endswith("_NM")} == {
            f: ko[f] for f in ko if not f.endswith("_NM")
        }  # codes and numbers do not change with the language
    plain_ko, plain_en = plain_rows(table), plain_rows(table, lang="en")
    assert [list(r) for r in plain_en] == [list(r) for r in plain_ko]
    assert [r["value"] for r in plain_en] == [r["value"] for r in plain_ko]
    assert all(r["sex_name"] and r["item"] and r["unit"] for r in plain_en)
