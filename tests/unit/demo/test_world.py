"""The synthetic Gyeonggi demo world: population, custodian files, errors and truth."""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from ansim.demo import WorldFiles, generate_world
from ansim.demo._people import SIGUNGU, Population, build_population, check_digits
from ansim.errors import InvalidSpecError

PEOPLE = 4_000
SEED = 20211101
ENCODINGS = {"gyeonggi_cases": "utf-8", "kostat_register": "cp949", "snu_cohort": "utf-8-sig"}
COLUMNS = {
    "gyeonggi_cases": "record_id,name,rrn,birth_date,sex,phone,sigungu_code,address,case_date,"
    "isolation_support_krw,disaster_income_krw",
    "kostat_register": "record_id,name,rrn,birth_date,sex,phone,sigungu_code,address,age,"
    "household_size,income_band",
    "snu_cohort": "record_id,name,rrn,birth_date,sex,phone,sigungu_code,address,"
    "self_rated_health,vaccinated,vaccine_doses,chronic_condition",
}
RECORD_ID = {
    "gyeonggi_cases": r"GG\d{7}",
    "kostat_register": r"KS\d{7}",
    "snu_cohort": r"SNU\d{6}",
}


def read_rows(world: WorldFiles, dataset: str) -> list[dict[str, str]]:
    text = world.datasets[dataset].read_bytes().decode(ENCODINGS[dataset])
    return list(csv.DictReader(io.StringIO(text)))


def read_truth(world: WorldFiles) -> dict[str, dict[str, str]]:
    truth: dict[str, dict[str, str]] = {name: {} for name in ENCODINGS}
    with world.truth.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            truth[row["dataset"]][row["record_id"]] = row["person_id"]
    return truth


def population(people: int, seed: int) -> Population:
    """The population generate_world draws for the same arguments."""
    return build_population(np.random.default_rng(seed).spawn(4)[0], people)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> WorldFiles:
    return generate_world(PEOPLE, SEED, tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def rows(world: WorldFiles) -> dict[str, list[dict[str, str]]]:
    return {name: read_rows(world, name) for name in ENCODINGS}


@pytest.fixture(scope="module")
def truth(world: WorldFiles) -> dict[str, dict[str, str]]:
    return read_truth(world)


@pytest.fixture(scope="module")
def pop() -> Population:
    return population(PEOPLE, SEED)


def test_world_files_describe_what_was_written(world: WorldFiles) -> None:
    assert world.people == PEOPLE
    assert world.seed == SEED
    assert set(world.datasets) == set(ENCODINGS)
    assert world.truth == world.directory / "truth.csv"
    written = sorted(p.name for p in world.directory.iterdir())
    assert written == sorted([*(f"{name}.csv" for name in ENCODINGS), "truth.csv"])


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    first = generate_world(2_000, 3, tmp_path / "a")
    again = generate_world(2_000, 3, tmp_path / "b")
    other = generate_world(2_000, 4, tmp_path / "c")
    for name in ENCODINGS:
        assert first.datasets[name].read_bytes() == again.datasets[name].read_bytes()
        assert first.datasets[name].read_bytes() != other.datasets[name].read_bytes()
    assert first.truth.read_bytes() == again.truth.read_bytes()


def test_regenerating_replaces_files_in_place(tmp_path: Path) -> None:
    first = generate_world(1_000, 1, tmp_path)
    before = first.truth.read_bytes()
    second = generate_world(1_000, 2, tmp_path)
    assert second.truth.read_bytes() != before
    assert len(list(tmp_path.iterdir())) == 4  # no temporary files left behind


@pytest.mark.parametrize("dataset", sorted(ENCODINGS))
def test_headers_and_record_ids(world: WorldFiles, dataset: str) -> None:
    text = world.datasets[dataset].read_bytes().decode(ENCODINGS[dataset])
    assert text.splitlines()[0] == COLUMNS[dataset]
    ids = [row["record_id"] for row in read_rows(world, dataset)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(RECORD_ID[dataset], record_id) for record_id in ids)


def test_sizes_and_overlap_are_plausible(
    rows: dict[str, list[dict[str, str]]], truth: dict[str, dict[str, str]], pop: Population
) -> None:
    people = {name: set(links.values()) for name, links in truth.items()}
    assert 0.21 * PEOPLE < len(people["gyeonggi_cases"]) < 0.29 * PEOPLE
    assert 0.95 * PEOPLE < len(people["kostat_register"]) < 0.99 * PEOPLE
    adults = int((pop.age >= 19).sum())
    assert 0.035 * adults < len(people["snu_cohort"]) < 0.065 * adults
    for name in ENCODINGS:
        assert len(rows[name]) == len(truth[name])
        overlap = people[name] & people["kostat_register"]
        assert len(overlap) > 0.94 * len(people[name])
    assert people["gyeonggi_cases"] & people["snu_cohort"]


def test_truth_covers_every_record_and_nothing_else(
    rows: dict[str, list[dict[str, str]]], truth: dict[str, dict[str, str]]
) -> None:
    for name in ENCODINGS:
        assert {row["record_id"] for row in rows[name]} == set(truth[name])
    person_ids = {p for links in truth.values() for p in links.values()}
    assert all(re.fullmatch(r"P\d{8}", p) for p in person_ids)
    assert max(int(p[1:]) for p in person_ids) <= PEOPLE


def test_register_is_cp949_not_utf8(world: WorldFiles) -> None:
    data = world.datasets["kostat_register"].read_bytes()
    text = data.decode("cp949")
    assert text.encode("cp949") == data
    assert "경기도" in text
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


def test_bom_only_in_the_cohort(world: WorldFiles) -> None:
    assert world.datasets["snu_cohort"].read_bytes().startswith(codecs.BOM_UTF8)
    assert not world.datasets["gyeonggi_cases"].read_bytes().startswith(codecs.BOM_UTF8)
    assert not world.truth.read_bytes().startswith(codecs.BOM_UTF8)


def test_formats_keep_leading_zeros(rows: dict[str, list[dict[str, str]]]) -> None:
    register = rows["kostat_register"]
    assert any(row["rrn"].startswith("0") for row in register)  # born 2000-2009
    phones = [row["phone"] for row in register if row["phone"]]
    assert all(p.startswith("010") for p in phones)
    assert sum(re.fullmatch(r"010\d{8}", p) is not None for p in phones) > 0.99 * len(phones)
    assert sum(
        re.fullmatch(r"\d{8}", row["birth_date"]) is not None for row in register
    ) > 0.98 * len(register)
    cases = rows["gyeonggi_cases"]
    assert sum(re.fullmatch(r"\d{6}-\d{7}", r["rrn"]) is not None for r in cases) > 0.96 * len(
        cases
    )
    assert sum(re.fullmatch(r"010-\d{4}-\d{4}", r["phone"]) is not None for r in cases) > 0.8 * len(
        cases
    )
    cohort = rows["snu_cohort"]
    assert {row["sex"] for row in cohort} == {"남", "여"}
    assert sum(
        re.fullmatch(r"\d{4}\.\d{2}\.\d{2}", r["birth_date"]) is not None for r in cohort
    ) > 0.97 * len(cohort)


def test_rrn_check_digits_hold_for_natives_born_before_october_2020(pop: Population) -> None:
    rrns = np.array(pop.rrn.to_pylist(), dtype=np.int64)
    checked = ~pop.foreign & (pop.birth < np.datetime64("2020-10-01"))
    assert (check_digits(rrns[checked] // 10) == rrns[checked] % 10).all()
    assert len(set(pop.rrn.to_pylist())) == pop.size
    sex_digit = rrns // 1_000_000 % 10
    assert set(sex_digit[~pop.foreign]) <= {1, 2, 3, 4}
    assert set(sex_digit[pop.foreign]) <= {5, 6, 7, 8}
    assert pop.foreign.mean() == pytest.approx(0.005, abs=0.002)


def test_rrn_check_digits_mostly_valid_in_the_register(
    rows: dict[str, list[dict[str, str]]],
) -> None:
    usable = [
        row["rrn"]
        for row in rows["kostat_register"]
        if re.fullmatch(r"\d{6}[1-4]\d{6}", row["rrn"])
        and row["rrn"][:2] != "20"
        and row["rrn"][:2] != "21"
    ]
    numbers = np.array([int(r) for r in usable], dtype=np.int64)
    valid = check_digits(numbers // 10) == numbers % 10
    assert valid.mean() > 0.98  # the rest have two digits swapped


def test_sigungu_proportions(tmp_path: Path) -> None:
    world = generate_world(20_000, 9, tmp_path)
    counts = Counter(row["sigungu_code"] for row in read_rows(world, "kostat_register"))
    total = sum(counts.values())
    assert set(counts) == {code for code, _, _ in SIGUNGU}
    expected_total = sum(thousands for *_, thousands in SIGUNGU)
    for code, _, thousands in SIGUNGU:
        expected = thousands / expected_total
        assert abs(counts[code] / total - expected) < max(0.3 * expected, 0.004), code


def test_households_share_residence(pop: Population) -> None:
    addresses = np.array(pop.address.to_pylist(), dtype=object)
    same_household = pop.household[1:] == pop.household[:-1]
    assert (pop.sigungu[1:] == pop.sigungu[:-1])[same_household].all()
    assert (addresses[1:] == addresses[:-1])[same_household].all()
    sizes = np.bincount(pop.household)
    assert (pop.household_size == sizes[pop.household]).all()
    share_single = (sizes == 1).mean()
    assert 0.25 < share_single < 0.37
    assert all(a.startswith("경기도 ") for a in addresses[:100])


def test_twins_share_birth_surname_and_home_but_not_name_or_rrn(pop: Population) -> None:
    first = np.flatnonzero(pop.twin > np.arange(pop.size))
    second = pop.twin[first]
    assert 0.004 * pop.size <= first.size <= 0.006 * pop.size
    names = pop.name.to_pylist()
    rrns = pop.rrn.to_pylist()
    assert (pop.birth[first] == pop.birth[second]).all()
    assert (pop.household[first] == pop.household[second]).all()
    for a, b in zip(first.tolist(), second.tolist(), strict=True):
        assert names[a][0] == names[b][0]
        assert names[a] != names[b]
        assert rrns[a] != rrns[b]


def test_phones_unique_from_age_12(pop: Population) -> None:
    phones = pop.phone.to_pylist()
    owned = [p for p, age in zip(phones, pop.age.tolist(), strict=True) if age >= 12]
    assert None not in owned
    assert len(set(owned)) == len(owned)
    assert all(p is None for p, age in zip(phones, pop.age.tolist(), strict=True) if age < 12)


def test_duplicates_within_each_source(truth: dict[str, dict[str, str]]) -> None:
    for name in ("gyeonggi_cases", "kostat_register"):
        repeated = [p for p, n in Counter(truth[name].values()).items() if n > 1]
        assert 0.003 * len(truth[name]) < len(repeated) < 0.02 * len(truth[name])


def test_nfd_names_only_in_unicode_files(rows: dict[str, list[dict[str, str]]]) -> None:
    def decomposed(name: str) -> int:
        return sum(row["name"] != unicodedata.normalize("NFC", row["name"]) for row in rows[name])

    cases = rows["gyeonggi_cases"]
    assert 0.02 * len(cases) < decomposed("gyeonggi_cases") < 0.09 * len(cases)
    assert decomposed("kostat_register") == 0
    assert any(" " in row["name"] for row in cases)
    assert any(row["name"] == "" for row in rows["kostat_register"])


def test_quarantine_material_in_gyeonggi(rows: dict[str, list[dict[str, str]]]) -> None:
    cases = rows["gyeonggi_cases"]
    malformed = [r for r in cases if r["rrn"] and not re.fullmatch(r"\d{6}-\d{7}", r["rrn"])]
    assert malformed
    impossible = [
        r
        for r in cases
        if r["case_date"][5:] in {"02-30", "02-31", "04-31", "06-31", "09-31", "11-31", "13-01"}
    ]
    assert impossible
    assert all("2020-01-20" <= r["case_date"] <= "2022-12-31" for r in cases if r not in impossible)


def test_moved_records_show_another_sigungu(
    rows: dict[str, list[dict[str, str]]], truth: dict[str, dict[str, str]], pop: Population
) -> None:
    home = {f"P{i + 1:08d}": SIGUNGU[s][0] for i, s in enumerate(pop.sigungu.tolist())}
    cases = rows["gyeonggi_cases"]
    moved = sum(r["sigungu_code"] != home[truth["gyeonggi_cases"][r["record_id"]]] for r in cases)
    assert 0.05 * len(cases) < moved < 0.11 * len(cases)
    register = rows["kostat_register"]
    assert all(
        r["sigungu_code"] == home[truth["kostat_register"][r["record_id"]]] for r in register
    )


def test_age_structure_is_plausible(rows: dict[str, list[dict[str, str]]]) -> None:
    ages = np.array([int(row["age"]) for row in rows["kostat_register"]])
    assert ages.min() >= 0
    assert ages.max() <= 100
    assert 0.13 < (ages < 20).mean() < 0.21
    assert 0.12 < (ages >= 65).mean() < 0.20
    assert 40 < ages.mean() < 47


def test_cohort_answers_are_consistent(rows: dict[str, list[dict[str, str]]]) -> None:
    for row in rows["snu_cohort"]:
        assert row["self_rated_health"] in {"1", "2", "3", "4", "5"}
        assert (row["vaccinated"] == "N") == (row["vaccine_doses"] == "0")
        assert row["chronic_condition"] in {"Y", "N"}


def test_income_band_and_payments(rows: dict[str, list[dict[str, str]]]) -> None:
    bands = Counter(row["income_band"] for row in rows["kostat_register"])
    assert set(bands) == {"Q1", "Q2", "Q3", "Q4", "Q5"}
    assert min(bands.values()) > 0.15 * sum(bands.values())
    cases = rows["gyeonggi_cases"]
    income = Counter(row["disaster_income_krw"] for row in cases)
    assert set(income) == {"100000", ""}
    assert income["100000"] > 0.85 * len(cases)
    assert any(row["isolation_support_krw"] == "" for row in cases)


@pytest.mark.parametrize(
    ("people", "seed"),
    [(999, 1), (10_000_001, 1), (True, 1), ("5000", 1), (5_000.0, 1), (5_000, -1), (5_000, 1.5)],
)
def test_bad_arguments_are_refused(tmp_path: Path, people: object, seed: object) -> None:
    with pytest.raises(InvalidSpecError):
        generate_world(people, seed, tmp_path / "never")  # type: ignore[arg-type]
    assert not (tmp_path / "never").exists()
