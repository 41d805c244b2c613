"""Cross-checks a custodian runs before preparing: counts for the report, never values.

Registration numbers are checked in bulk (NumPy over their digits) for kind, check digit and
the birth date and sex they encode, against the birth-date and sex columns; addresses for their
form and for the si/gun their text names against the si/gun code column. Mismatches are
reported, never fixed: the custodian decides which column is wrong.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ansim.identity._address import address_facts, bulk_sigungu_of_common, sigungu_matches
from ansim.regions import sigungu_of
from ansim.schema import DatasetSpec, IdentifierKind

__all__ = ["RrnVerdicts", "check_identifiers", "rrn_verdicts"]

_RRN_DIGITS = 13
_WEIGHTS = np.array([2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5], dtype=np.int64)
# seventh digit 0..9 → century, male?, foreign?
_CENTURY = np.array([1800, 1900, 1900, 2000, 2000, 1900, 1900, 2000, 2000, 1800], dtype=np.int64)
_MALE = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1], dtype=np.bool_)
_FOREIGN = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 0], dtype=np.bool_)
_NO_CHECK_DIGIT_FROM = np.datetime64("2020-10-01", "D")


def _digits(values: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """Digits of the non-null 13-digit numbers, and their row positions."""
    rows = np.flatnonzero(pc.is_valid(values).to_numpy(zero_copy_only=False))
    compact = pc.take(values, pa.array(rows)).cast(pa.binary())
    joined = b"".join(v for v in compact.to_pylist() if v is not None)
    digits = np.frombuffer(joined, dtype=np.uint8).astype(np.int64) - ord("0")
    return digits.reshape(-1, _RRN_DIGITS), rows


@dataclass(frozen=True)
class RrnVerdicts:
    """Per-number verdicts over the non-null values of an RRN column (NumPy, in bulk).

    Attributes:
        rows: Row positions of the non-null numbers.
        seventh: Their seventh digits.
        foreign: Foreigners' registration numbers (seventh digit 5 to 8).
        date_ok: The first six digits are a calendar day.
        born: The birth date they encode (meaningless where ``date_ok`` is false).
        absent: Issued from October 2020, so without a check digit.
        valid: The check digit matches.
    """

    rows: npt.NDArray[np.intp]
    seventh: npt.NDArray[np.int64]
    foreign: npt.NDArray[np.bool_]
    date_ok: npt.NDArray[np.bool_]
    born: npt.NDArray[np.datetime64]
    absent: npt.NDArray[np.bool_]
    valid: npt.NDArray[np.bool_]


def rrn_verdicts(rrn: pa.Array) -> RrnVerdicts:
    """Kind, date and check-digit verdicts of standardised (13-digit) registration numbers.

    Example:
        >>> v = rrn_verdicts(pa.array(["8005221234564", None, "8013221234567"]))
        >>> v.rows.tolist(), v.valid.tolist(), v.date_ok.tolist()
        ([0, 2], [True, False], [True, False])
    """
    d, rows = _digits(rrn)
    seventh = d[:, 6]
    foreign = _FOREIGN[seventh]
    year = _CENTURY[seventh] + d[:, 0] * 10 + d[:, 1]
    month = d[:, 2] * 10 + d[:, 3]
    day = d[:, 4] * 10 + d[:, 5]
    month_ok = (month >= 1) & (month <= 12)  # noqa: PLR2004
    first = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    days_in_month = ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(
        np.int64
    )
    date_ok = month_ok & (day >= 1) & (day <= days_in_month)
    born = first.astype("datetime64[D]") + np.maximum(day - 1, 0)
    total = d[:, :12] @ _WEIGHTS
    expected = (np.where(foreign, 13, 11) - total % 11) % 10
    absent = date_ok & (born >= _NO_CHECK_DIGIT_FROM)
    valid = ~absent & (expected == d[:, 12])
    return RrnVerdicts(rows, seventh, foreign, date_ok, born, absent, valid)


def _rrn_checks(rrn: pa.Array, birth: pa.Array | None, sex: pa.Array | None) -> dict[str, int]:
    v = rrn_verdicts(rrn)
    rows, seventh, foreign, date_ok, born = v.rows, v.seventh, v.foreign, v.date_ok, v.born
    absent, valid = v.absent, v.valid
    out = {
        "resident": int((~foreign).sum()),
        "foreign": int(foreign.sum()),
        "check_digit_valid": int(valid.sum()),
        "check_digit_invalid": int((~absent & ~valid).sum()),
        "check_digit_absent": int(absent.sum()),
        "birth_date_impossible": int((~date_ok).sum()),
    }
    if birth is not None:
        stated = pc.take(birth, pa.array(rows)).cast(pa.date32())
        known = pc.is_valid(stated).to_numpy(zero_copy_only=False) & date_ok
        days = stated.fill_null(0).to_numpy(zero_copy_only=False).astype("datetime64[D]")
        out["birth_date_mismatch"] = int((known & (days != born)).sum())
    if sex is not None:
        stated_sex = pc.take(sex, pa.array(rows)).to_numpy(zero_copy_only=False)
        known = stated_sex != None  # noqa: E711  (elementwise on an object array)
        out["sex_mismatch"] = int((known & ((stated_sex == "M") != _MALE[seventh])).sum())
    return out


def _address_checks(address: pa.Array, codes: pa.Array | None) -> dict[str, int]:
    """Forms and si/gun agreement of standardised addresses, by distinct (address, code)."""
    code_text = pa.nulls(len(address), pa.string()) if codes is None else codes.cast(pa.string())
    pairs = pc.binary_join_element_wise(address, pc.fill_null(code_text, ""), "\x1e")
    encoded = pc.dictionary_encode(pc.if_else(pc.is_null(address), None, pairs))
    weights = np.bincount(
        encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False) + 1,
        minlength=len(encoded.dictionary) + 1,
    )[1:]
    split = pc.split_pattern(encoded.dictionary, "\x1e", max_splits=1)
    texts, stated = pc.list_element(split, 0), pc.list_element(split, 1)
    derived = bulk_sigungu_of_common(texts)  # the common shape, in bulk
    common = pc.is_valid(derived).to_numpy(zero_copy_only=False)
    stated_si = pa.array([sigungu_of(c) if c else None for c in stated.to_pylist()], pa.string())
    disagree = pc.fill_null(pc.not_equal(derived, stated_si), False).to_numpy(zero_copy_only=False)
    counts: Counter[str] = Counter()
    counts["road"] = counts["sigungu_derived"] = int(weights[common].sum())
    counts["sigungu_mismatch"] = int(weights[common & disagree].sum())
    rest = np.flatnonzero(~common)
    for weight, text, code in zip(
        weights[rest].tolist(),
        pc.take(texts, pa.array(rest)).to_pylist(),
        pc.take(stated, pa.array(rest)).to_pylist(),
        strict=True,
    ):
        facts = address_facts(text)
        if facts is None:
            continue
        counts[facts.form.value] += weight
        counts["outside_gyeonggi"] += weight * facts.outside_gyeonggi
        counts["sigungu_derived"] += weight * (facts.sigungu_code is not None)
        counts["sigungu_mismatch"] += weight * (sigungu_matches(facts, code or None) is False)
    return {k: counts.get(k, 0) for k in (
        "road", "lot", "unknown", "outside_gyeonggi", "sigungu_derived", "sigungu_mismatch"
    )}  # fmt: skip


def _name_checks(names: pa.Array) -> dict[str, int]:
    hangul = int(pc.sum(pc.match_substring_regex(names, r"^[가-힣]+$")).as_py() or 0)
    # split_name splits exactly the names of two to five Hangul syllables
    split = int(pc.sum(pc.match_substring_regex(names, r"^[가-힣]{2,5}$")).as_py() or 0)
    return {
        "hangul": hangul,
        "other_script": len(names) - names.null_count - hangul,
        "split": split,
    }


def check_identifiers(
    spec: DatasetSpec, records: pa.Table, standardised: dict[IdentifierKind, pa.Array]
) -> dict[str, dict[str, int]]:
    """Counts of what the identifiers say, for the preparation report (no values).

    Args:
        spec: The dataset spec.
        records: Ingested rows (for the birth-date, sex and si/gun code columns).
        standardised: Standardised identifiers from :func:`standardise_columns`.

    Returns:
        Per identifier kind, counts: for ``rrn`` the kinds (resident, foreign), check-digit
        verdicts, impossible birth dates and disagreements with the birth-date and sex
        columns; for ``address`` the forms and disagreements with the si/gun code column;
        for ``korean_name`` Hangul, other-script and split names.
    """
    out: dict[str, dict[str, int]] = {}
    standardised = {
        k: v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v
        for k, v in standardised.items()
    }
    birth = spec.find_kind(IdentifierKind.BIRTH_DATE)
    code = spec.find_kind(IdentifierKind.SIGUNGU_CODE)
    if IdentifierKind.RRN in standardised:
        out["rrn"] = _rrn_checks(
            standardised[IdentifierKind.RRN],
            None if birth is None else records[birth.name].combine_chunks(),
            standardised.get(IdentifierKind.SEX),
        )
    if IdentifierKind.ADDRESS in standardised:
        out["address"] = _address_checks(
            standardised[IdentifierKind.ADDRESS],
            None if code is None else records[code.name].combine_chunks(),
        )
    if IdentifierKind.KOREAN_NAME in standardised:
        out["korean_name"] = _name_checks(standardised[IdentifierKind.KOREAN_NAME])
    return out
