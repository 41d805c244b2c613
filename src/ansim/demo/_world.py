"""The demo world: three custodians' files about one synthetic Gyeonggi, and the true links.

Gyeonggi Province holds confirmed COVID-19 cases and support payments, KOSTAT a population
register extract (in CP949, as much Korean public data is) and SNU a research cohort survey.
The same people appear in several files under independently corrupted identifiers; the
truth file says which records are the same person so linkage quality can be measured.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ansim.demo._corruption import (
    corrupt_birth_dates,
    corrupt_names,
    corrupt_phones,
    corrupt_rrns,
    impossible_dates,
    vary_addresses,
)
from ansim.demo._people import (
    SIGUNGU,
    Population,
    build_population,
    make_addresses,
    pick_sigungu,
)
from ansim.errors import InvalidSpecError

__all__ = ["MAX_PEOPLE", "MIN_PEOPLE", "WorldFiles", "generate_world"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
DateArray = npt.NDArray[np.datetime64]

MIN_PEOPLE = 1_000
MAX_PEOPLE = 10_000_000

_DUPLICATE_SHARE = 0.01
_CASE_SHARE = 0.25
_HIGH_RISK_AGES = (10, 49)  # more cases among school children and working-age adults
_HIGH_RISK_WEIGHT, _LOW_RISK_WEIGHT = 1.35, 0.75
_UNCLAIMED_SUPPORT = 0.12
_MEANS_TESTED_BANDS = 2  # Q1 and Q2 still got isolation support after July 2022
_NO_DISASTER_INCOME = 0.07
_SENIOR_AGE = 60
_VACCINATED = (0.92, 0.96)  # under 60, 60 and over
_FOURTH_DOSE = (0.03, 0.35)
_THIRD_DOSE_BELOW, _SECOND_DOSE_BELOW = 0.65, 0.97  # cumulative shares of 3 and 2 doses
_REGISTER_SHARE = 0.97
_COHORT_SHARE = 0.05
_COHORT_MIN_AGE = 19
_CHUNK_ROWS = 250_000
_PERSON_ID_DIGITS = 8  # P00000001 ... P10000000
_FIRST_CASE, _LAST_CASE = np.datetime64("2020-01-20", "D"), np.datetime64("2022-12-31", "D")
_WAVES: tuple[tuple[str, float, float], ...] = (
    # (peak day, width in days, relative height): Korea's waves, Omicron in early 2022 largest
    ("2020-03-05", 10, 0.02), ("2020-08-28", 12, 0.05), ("2020-12-25", 18, 0.12),
    ("2021-08-10", 25, 0.25), ("2021-12-15", 18, 0.6), ("2022-03-12", 20, 4.0),
    ("2022-08-10", 22, 1.2), ("2022-12-20", 25, 0.7),
)  # fmt: skip
_FLAT_SUPPORT_FROM = np.datetime64("2022-03-16", "D")  # 100,000 won, or 150,000 for 2+ people
_MEANS_TESTED_FROM = np.datetime64("2022-07-11", "D")  # only low-income households


@dataclass(frozen=True)
class WorldFiles:
    """Where a generated demo world was written.

    Attributes:
        directory: The output directory.
        datasets: Dataset name to CSV path: ``gyeonggi_cases``, ``kostat_register``,
            ``snu_cohort``.
        truth: ``truth.csv``: ``dataset,record_id,person_id`` for every record (evaluation only).
        people: Number of people in the world.
        seed: The random seed it was generated from.
    """

    directory: Path
    datasets: dict[str, Path]
    truth: Path
    people: int
    seed: int


@dataclass(frozen=True)
class _Layout:
    """How one custodian writes its records."""

    prefix: str  # record ids look like GG0000001
    digits: int
    rrn_dash: bool
    date_separator: str
    phone_dash: bool
    sex_labels: tuple[str, str]
    unicode: bool  # NFD names and malformed RRNs only occur in the Unicode files
    moved_share: float  # records whose si/gun and address differ from the register's
    encoding: str


_LAYOUTS = {
    "gyeonggi_cases": _Layout("GG", 7, True, "-", True, ("M", "F"), True, 0.08, "utf-8"),
    "kostat_register": _Layout("KS", 7, False, "", False, ("M", "F"), False, 0.0, "cp949"),
    "snu_cohort": _Layout("SNU", 6, True, ".", True, ("남", "여"), True, 0.03, "utf-8-sig"),
}


def generate_world(people: int, seed: int, out: Path) -> WorldFiles:
    """Generate the demo world's three custodian files and its truth file.

    The same ``people`` and ``seed`` always give byte-identical files. Each file is written
    to a temporary name in ``out`` and then moved into place, so a reader never sees half a
    file.

    Args:
        people: Number of people in the synthetic Gyeonggi, 1,000 to 10,000,000.
        seed: A non-negative random seed.
        out: Directory to write to (created if missing; existing files are replaced).

    Returns:
        The paths written.

    Raises:
        InvalidSpecError: ``people`` or ``seed`` is out of range.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     world = generate_world(people=1_000, seed=7, out=Path(tmp))
        ...     sorted(world.datasets)
        ['gyeonggi_cases', 'kostat_register', 'snu_cohort']
    """
    _check_arguments(people, seed)
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    streams = np.random.default_rng(seed).spawn(1 + len(_BUILDERS))
    population = build_population(streams[0], people)
    datasets: dict[str, Path] = {}
    links: list[tuple[str, pa.Array, IntArray]] = []
    for (name, build), rng in zip(_BUILDERS.items(), streams[1:], strict=True):
        table, persons = build(rng, population)
        datasets[name] = directory / f"{name}.csv"
        _write_csv(table, datasets[name], _LAYOUTS[name].encoding)
        links.append((name, table.column("record_id").combine_chunks(), persons))
        del table
    truth = directory / "truth.csv"
    _write_truth(links, truth)
    return WorldFiles(directory=directory, datasets=datasets, truth=truth, people=people, seed=seed)


def _check_arguments(people: object, seed: object) -> None:
    """Raise InvalidSpecError unless people and seed are usable."""
    if isinstance(people, bool) or not isinstance(people, int):
        msg = f"people must be a whole number, not {type(people).__name__}."
        raise InvalidSpecError(msg)
    if not MIN_PEOPLE <= people <= MAX_PEOPLE:
        msg = (
            f"people must be between {MIN_PEOPLE:,} and {MAX_PEOPLE:,}; got {people:,}. "
            "Choose a size in that range."
        )
        raise InvalidSpecError(msg)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        msg = "seed must be a non-negative whole number, such as 42."
        raise InvalidSpecError(msg)


def _gyeonggi(rng: np.random.Generator, pop: Population) -> tuple[pa.Table, IntArray]:
    """Confirmed cases (more among ages 10-49) with isolation support and disaster income."""
    youngest, oldest = _HIGH_RISK_AGES
    high_risk = (pop.age >= youngest) & (pop.age <= oldest)
    weight = np.where(high_risk, _HIGH_RISK_WEIGHT, _LOW_RISK_WEIGHT)
    base = np.flatnonzero(rng.random(pop.size) < _CASE_SHARE * weight / weight.mean())
    persons, source = _sample_records(rng, base)
    case_day = _case_days(rng, pop.birth[base])
    flat = np.where(pop.household_size[base] > 1, 150_000, 100_000)
    support = np.where(case_day < _FLAT_SUPPORT_FROM, 100_000 * pop.household_size[base], flat)
    means_tested_out = (case_day >= _MEANS_TESTED_FROM) & (
        pop.income_band[base] >= _MEANS_TESTED_BANDS
    )
    unpaid = (rng.random(base.size) < _UNCLAIMED_SUPPORT) | means_tested_out
    income_unpaid = rng.random(base.size) < _NO_DISASTER_INCOME
    columns = _identity(rng, pop, persons, _LAYOUTS["gyeonggi_cases"])
    columns["case_date"] = impossible_dates(rng, _iso(case_day[source]))
    columns["isolation_support_krw"] = pa.array(support[source], mask=unpaid[source])
    columns["disaster_income_krw"] = pa.array(
        np.full(persons.size, 100_000, dtype=np.int64), mask=income_unpaid[source]
    )
    return pa.table(columns), persons


def _kostat(rng: np.random.Generator, pop: Population) -> tuple[pa.Table, IntArray]:
    """The register: nearly everyone, with age, household size and income band."""
    base = np.flatnonzero(rng.random(pop.size) < _REGISTER_SHARE)
    persons, _ = _sample_records(rng, base)
    columns = _identity(rng, pop, persons, _LAYOUTS["kostat_register"])
    columns["age"] = pa.array(pop.age[persons])
    columns["household_size"] = pa.array(pop.household_size[persons])
    bands = pa.array(["Q1", "Q2", "Q3", "Q4", "Q5"])
    columns["income_band"] = bands.take(pa.array(pop.income_band[persons]))
    return pa.table(columns), persons


def _snu(rng: np.random.Generator, pop: Population) -> tuple[pa.Table, IntArray]:
    """The cohort: a sample of adults with self-rated health, vaccination and chronic illness."""
    adult = pop.age >= _COHORT_MIN_AGE
    base = np.flatnonzero(adult & (rng.random(pop.size) < _COHORT_SHARE))
    persons, source = _sample_records(rng, base)
    age = pop.age[base].astype(np.float64)
    chronic = rng.random(base.size) < 0.05 + 0.8 / (1.0 + np.exp(-(age - 62.0) / 9.0))
    latent = rng.normal(size=base.size) + 0.025 * (age - 45.0) + 0.6 * chronic
    health = 1 + np.searchsorted([-1.4, -0.3, 0.9, 1.7], latent)  # 1 very good .. 5 very poor
    senior = (age >= _SENIOR_AGE).astype(np.int64)
    vaccinated = rng.random(base.size) < np.array(_VACCINATED)[senior]
    u = rng.random(base.size)
    doses = np.select(
        [~vaccinated, u < np.array(_FOURTH_DOSE)[senior], u < _THIRD_DOSE_BELOW],
        [0, 4, 3],
        default=np.where(u < _SECOND_DOSE_BELOW, 2, 1),
    )
    yes_no = pa.array(["N", "Y"])
    columns = _identity(rng, pop, persons, _LAYOUTS["snu_cohort"])
    columns["self_rated_health"] = pa.array(health[source].astype(np.int64))
    columns["vaccinated"] = yes_no.take(pa.array(vaccinated[source].astype(np.int64)))
    columns["vaccine_doses"] = pa.array(doses[source].astype(np.int64))
    columns["chronic_condition"] = yes_no.take(pa.array(chronic[source].astype(np.int64)))
    return pa.table(columns), persons


_BUILDERS: dict[str, Callable[[np.random.Generator, Population], tuple[pa.Table, IntArray]]] = {
    "gyeonggi_cases": _gyeonggi,
    "kostat_register": _kostat,
    "snu_cohort": _snu,
}


def _sample_records(rng: np.random.Generator, base: IntArray) -> tuple[IntArray, IntArray]:
    """Add ~1% duplicate records and shuffle.

    Returns:
        The person of each record and its position in ``base`` (duplicates share one).
    """
    duplicates = np.flatnonzero(rng.random(base.size) < _DUPLICATE_SHARE)
    source = np.concatenate([np.arange(base.size, dtype=np.int64), duplicates])
    source = source[rng.permutation(source.size)]
    return base[source], source


def _case_days(rng: np.random.Generator, births: DateArray) -> DateArray:
    """Case dates with Korea's wave shape, never before the person was born."""
    days = np.arange(_FIRST_CASE, _LAST_CASE + 1)
    offset = (days - _FIRST_CASE).astype(np.float64)
    weight = np.full(days.size, 0.005)
    for peak, width, height in _WAVES:
        centre = float((np.datetime64(peak, "D") - _FIRST_CASE).astype(np.float64))
        weight += height * np.exp(-0.5 * ((offset - centre) / width) ** 2)
    case = days[rng.choice(days.size, size=births.size, p=weight / weight.sum())]
    early = np.flatnonzero(case < births)
    if early.size:
        span = (_LAST_CASE - births[early]).astype(np.int64) + 1
        later = np.floor(rng.random(early.size) * span).astype(np.int64)
        case[early] = births[early] + later.astype("timedelta64[D]")
    return case


def _identity(
    rng: np.random.Generator, pop: Population, persons: IntArray, layout: _Layout
) -> dict[str, pa.Array]:
    """Record ids and the identifier columns, with errors, in the custodian's formats."""
    rows = pa.array(persons)
    rrn = corrupt_rrns(rng, pop.rrn.take(rows), malformed=layout.unicode)
    phone = corrupt_phones(rng, pop.phone.take(rows))
    sigungu, address = _residence(rng, pop, persons, layout.moved_share)
    return {
        "record_id": _record_ids(layout.prefix, layout.digits, persons.size),
        "name": corrupt_names(rng, pop.name.take(rows), nfd=layout.unicode),
        "rrn": _join_slices(rrn, [(0, 6), (6, None)], "-") if layout.rrn_dash else rrn,
        "birth_date": _format_date(corrupt_birth_dates(rng, _iso(pop.birth[persons])), layout),
        "sex": pa.array(layout.sex_labels).take(pa.array(pop.sex[persons])),
        "phone": _format_phone(phone, layout.phone_dash),
        "sigungu_code": pa.array([code for code, _, _ in SIGUNGU]).take(pa.array(sigungu)),
        "address": vary_addresses(rng, address),
    }


def _residence(
    rng: np.random.Generator, pop: Population, persons: IntArray, moved_share: float
) -> tuple[IntArray, pa.Array]:
    """Si/gun and address, for a share of records those of another si/gun (they moved)."""
    sigungu = pop.sigungu[persons].copy()
    address = pop.address.take(pa.array(persons))
    moved = np.flatnonzero(rng.random(persons.size) < moved_share)
    if moved.size == 0:
        return sigungu, address
    new = pick_sigungu(rng, moved.size)
    same = np.flatnonzero(new == sigungu[moved])
    new[same] = (new[same] + rng.integers(1, len(SIGUNGU), same.size)) % len(SIGUNGU)
    sigungu[moved] = new
    mask = np.zeros(persons.size, dtype=np.bool_)
    mask[moved] = True
    address = pc.replace_with_mask(address, pa.array(mask), make_addresses(rng, new))
    return sigungu, address


def _record_ids(prefix: str, digits: int, count: int) -> pa.Array:
    """``GG0000001``, ``GG0000002``, ... (wider if the file needs more digits)."""
    width = max(digits, len(str(count)))
    numbers = pc.cast(pa.array(np.arange(1, count + 1, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width, "0"), "")


def _iso(dates: DateArray) -> pa.Array:
    """Dates as ``YYYY-MM-DD`` strings."""
    return pc.cast(pa.array(dates.astype("datetime64[D]")), pa.string())


def _format_date(iso: pa.Array, layout: _Layout) -> pa.Array:
    """ISO dates in the custodian's format (``YYYYMMDD``, ``YYYY.MM.DD``)."""
    if layout.date_separator == "-":
        return iso
    return pc.replace_substring(iso, "-", layout.date_separator)


def _format_phone(digits: pa.Array, dash: bool) -> pa.Array:
    """``010-1234-5678`` or ``01012345678`` from the eight digits after 010."""
    if dash:
        return _join_slices(digits, [(0, 4), (4, None)], "-", lead="010")
    return pc.binary_join_element_wise("010", digits, "")


def _join_slices(
    values: pa.Array, spans: list[tuple[int, int | None]], separator: str, lead: str = ""
) -> pa.Array:
    """Cut strings at fixed positions and rejoin them with a separator (nulls stay null)."""
    parts = [pc.utf8_slice_codeunits(values, start, stop) for start, stop in spans]
    if lead:
        parts.insert(0, lead)
    return pc.binary_join_element_wise(*parts, separator)


def _write_csv(table: pa.Table, path: Path, encoding: str) -> None:
    """Write ``table`` as CSV in ``encoding`` via a temporary file, then move it into place."""
    header = ",".join(table.column_names) + "\n"
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as sink:
            if encoding == "utf-8-sig":
                sink.write(codecs.BOM_UTF8)
            sink.write(header.encode("utf-8"))
            for batch in table.to_batches(max_chunksize=_CHUNK_ROWS):
                buffer = io.BytesIO()
                pacsv.write_csv(batch, buffer, options)
                data = buffer.getvalue()
                if encoding == "cp949":
                    data = data.decode("utf-8").encode("cp949")
                sink.write(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_truth(links: list[tuple[str, pa.Array, IntArray]], path: Path) -> None:
    """``dataset,record_id,person_id`` for every record, ordered by dataset and record id."""
    tables = []
    for name, record_ids, persons in links:
        person_ids = pc.utf8_lpad(
            pc.cast(pa.array(persons + 1), pa.string()), _PERSON_ID_DIGITS, "0"
        )
        tables.append(
            pa.table(
                {
                    "dataset": pa.array([name]).take(pa.array(np.zeros(persons.size, np.int64))),
                    "record_id": record_ids,
                    "person_id": pc.binary_join_element_wise("P", person_ids, ""),
                }
            )
        )
    _write_csv(pa.concat_tables(tables), path, "utf-8")
