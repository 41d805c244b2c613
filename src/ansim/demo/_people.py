"""The population of the demo world: one synthetic Gyeonggi Province, held in numpy arrays.

Every person has a household with a si/gun and a road-name address, a sex and a birth date
drawn from Korea's 2021 age structure, a Korean name (registered foreigners get a Hangul
transliteration), a resident registration number (RRN) with a valid check digit and, from
age 12, a unique mobile phone. People are stored in household order. Everything is
vectorised: Python loops run over small tables (syllables, roads, age bands), never people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ansim.regions import GYEONGGI_SIGUNGU

__all__ = [
    "REFERENCE_DATE",
    "SIGUNGU",
    "Population",
    "build_population",
    "check_digits",
    "completed_years",
    "date_parts",
    "make_addresses",
    "pick_sigungu",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
DateArray = npt.NDArray[np.datetime64]

REFERENCE_DATE = np.datetime64("2021-11-01", "D")
"""The census-style reference date: ages are completed years on this day."""
_REFERENCE_YEAR = 2021
_REFERENCE_MONTH_DAY = 1101
_NO_CHECK_DIGIT_FROM = np.datetime64("2020-10-01", "D")  # RRNs issued since then are random

SIGUNGU: tuple[tuple[str, str, int], ...] = tuple(
    # (MOIS code, name, population in thousands around 2020)
    (s.code, s.name_ko, s.population_thousands)
    for s in GYEONGGI_SIGUNGU.values()
)

_AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    # (lowest age, width in years, percent of the population)
    (0, 5, 3.5), (5, 5, 4.4), (10, 5, 4.5), (15, 5, 4.6), (20, 5, 6.4), (25, 5, 6.7),
    (30, 5, 6.2), (35, 5, 7.4), (40, 5, 7.8), (45, 5, 8.5), (50, 5, 8.4), (55, 5, 8.3),
    (60, 5, 7.4), (65, 5, 5.6), (70, 5, 3.9), (75, 5, 3.0), (80, 5, 2.2), (85, 5, 1.0),
    (90, 10, 0.4),
)  # fmt: skip

_HOUSEHOLD_SIZE_SHARES = (0.31, 0.28, 0.20, 0.16, 0.04, 0.01)  # sizes 1..6, share of households

_TOP_SURNAMES: tuple[tuple[str, float], ...] = (
    ("김", 21.5), ("이", 14.7), ("박", 8.4), ("최", 4.7), ("정", 4.3),
    ("강", 2.4), ("조", 2.1), ("윤", 2.1), ("장", 2.0), ("임", 1.7),
)  # fmt: skip
_OTHER_SURNAMES = (
    *"한오서신권황안송전홍유고문양손배백허남심노하곽성차주우구민류나진지엄채원천방공현함변염",
    *"여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예경봉사부가복태목형피두감",
    "제갈", "남궁", "황보",
)  # fmt: skip
_OTHER_SURNAME_DECAY = 0.95  # each rarer surname is 5% less common than the one before
SURNAMES: tuple[str, ...] = tuple(s for s, _ in _TOP_SURNAMES) + tuple(_OTHER_SURNAMES)

GIVEN_SYLLABLES = (
    "민서준지현우수영은하도윤예연주진성정훈호재혜경희숙자미철상동석원유아나다채린인소시태"
    "건승혁규빈선범용기한종광찬명순옥란화보슬가형택환식일균률온결별담솔율향애남만길봉"
    "병대세중창충치필학홍효휘후근권덕래록문백부삼신안양언엽완웅익임장전제조천초춘탁"
    "평풍령려림매목묘봄비새설송름여운월의이잎저청"
)
_MALE = set("준우현호훈재성철상동석원태건승혁규범용기한종광찬명택환식일균도민진수영남만길봉율결")
_FEMALE = set(
    "서지수영은하윤예연주혜경희숙자미유아나다채린인소시빈선순옥란화보슬가향애정민진현담솔별온"
)
_OLD_STYLE = set("철상동석종광명순옥란화숙자희영미경식일만길봉남수용기정애향")  # born before 1970
_NEW_STYLE = set("서준윤하도예린시율온결별담솔아채은우건유지민빈")  # born 2000 or later
_SECOND_ONLY = set("자숙식률율")  # 영자, 정숙, 태식, 서율: rarely a first syllable
_FAVOURITES: dict[tuple[int, int], tuple[str, str]] = {
    # (sex, era): the syllables most often first and second in that generation's names
    (0, 0): ("영정종상성광동명용기재", "수호철식석길만남일환"),
    (0, 1): ("지성현동준재민상정승", "훈호민현우석수진원혁"),
    (0, 2): ("민서도예시하주지준은건우유", "준윤우호원민훈진현율건"),
    (1, 0): ("영정순미경명숙옥은", "자숙희순미영옥애"),
    (1, 1): ("지수은민유혜현미선", "영정희진은현지선연"),
    (1, 2): ("서지민하윤수채예다은소", "연윤우현서은아린원빈율"),
}
_FAVOURITE_WEIGHT = 2.0
_ONE_SYLLABLE_SHARE = 0.03
_OLD_ERA, _NEW_ERA = 0, 2  # born before 1970, 1970-1999 (era 1), born 2000 or later

_FOREIGN_NAMES: tuple[tuple[str, ...], tuple[str, ...]] = (
    (  # men
        "응우옌반안", "응우옌반남", "쩐반훙", "레반득", "팜반뚜안", "왕웨이", "장웨이", "리우양",
        "천하오", "자오레이", "아흐마드칸", "바트에르덴", "이바노프세르게이", "산토스호세",
        "솜차이", "라훌샤르마",
    ),
    (  # women
        "응우옌티흐엉", "응우옌티란", "쩐티마이", "레티투", "팜티홍", "왕팡", "리나", "장리",
        "천징", "류팅팅", "바트체첵", "마리아산토스", "페트로바안나", "솜분", "프리야샤르마",
        "누르아이다",
    ),
)  # fmt: skip
_FOREIGN_SHARE = 0.005
_FOREIGN_AGES = (19, 64)
_TWIN_SHARE = 0.01  # of people who have a twin sibling
_TWINS_SHARING_FIRST, _TWINS_SHARING_SECOND = 0.6, 0.2  # 민준/민서, 서준/민준
_FIRST_CHILD = 2  # rank of the first child in a household: 0 is the head, 1 the partner
_OPPOSITE_SEX_PARTNERS = 0.9
_ADULT_AGE = 19
_LEAVING_HOME_SPREAD = 6.0  # years: adults leave the parental home at varying ages
_MILLENNIUM = 2000  # RRN sex digits 3/4 (7/8 for foreigners) from this birth year
_PHONE_FROM_AGE = 12
_PHONE_LOW, _PHONE_HIGH = 20_000_000, 100_000_000  # the eight digits after 010

_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_RRN_REGIONS = 96  # digits 8-9: 00-08 Seoul, 13-15 Incheon, 16-25 Gyeonggi, ... 93-95 Jeju
_RRN_SERIAL_SHARES = (0.02, 0.45, 0.22, 0.12, 0.07, 0.05, 0.03, 0.02, 0.01, 0.01)

_ROAD_STEMS = (
    "중앙", "시청", "역전", "공원", "문화", "평화", "희망", "새마을", "시장", "학교", "산업",
    "대학", "세종", "호수", "경수대", "은행", "봉화", "청소년", "체육공원", "금곡", "매봉",
    "장터", "신촌", "구시장", "남부", "북부", "동부", "서부", "주공", "삼성", "한림", "원당",
    "도당", "향교",
)  # fmt: skip
_LOCAL_ROAD_STEMS: dict[str, tuple[str, ...]] = {
    "41110": ("정조", "효원", "광교중앙", "매산", "팔달", "권선", "영통", "창룡대", "월드컵"),
    "41130": ("판교역", "분당", "성남대", "황새울", "정자일", "불정"),
    "41150": ("의정부", "시민", "호국"),
    "41170": ("평촌대", "호계", "관악대"),
    "41190": ("부천", "길주", "소사", "경인"),
    "41220": ("평택", "송탄", "포승"),
    "41270": ("고잔", "광덕", "화랑"),
    "41280": ("일산", "백석", "화정", "정발산", "중앙"),
    "41360": ("다산중앙", "별내", "경춘"),
    "41450": ("미사강변", "하남대"),
    "41460": ("수지", "죽전", "기흥", "신갈", "구성", "포은대"),
    "41480": ("운정", "금촌", "교하"),
    "41570": ("김포한강", "사우"),
    "41590": ("동탄", "동탄대", "병점", "봉담", "향남"),
}
_LOCAL_ROAD_SHARE = 0.45
_APARTMENT_SHARE = 0.60
_SUB_NUMBER_SHARE = 0.12  # building numbers like 101-9


@dataclass(frozen=True, eq=False)
class Population:
    """One synthetic Gyeonggi: person ``i`` is row ``i`` of every array (household order).

    Attributes:
        household: Household number of each person.
        household_size: Number of people in the person's household.
        sigungu: Index into ``SIGUNGU`` of the household's si/gun.
        address: Road-name address of the household (Arrow strings).
        sex: 0 for men, 1 for women.
        birth: Birth date.
        age: Completed years on ``REFERENCE_DATE``.
        foreign: Whether the person is a registered foreigner.
        twin: Row of the person's twin sibling, or -1.
        name: Full name (Arrow strings).
        rrn: Thirteen-digit registration number without the dash (Arrow strings).
        phone: The eight digits after ``010``, null under age 12 (Arrow strings).
        income_band: 0 to 4 for Q1 to Q5.
    """

    household: IntArray
    household_size: IntArray
    sigungu: IntArray
    address: pa.Array
    sex: IntArray
    birth: DateArray
    age: IntArray
    foreign: BoolArray
    twin: IntArray
    name: pa.Array
    rrn: pa.Array
    phone: pa.Array
    income_band: IntArray

    @property
    def size(self) -> int:
        """Number of people."""
        return int(self.sex.size)


@dataclass(frozen=True)
class _Households:
    """Households as slots: slot ``i`` is person ``i``, ``rank`` 0 heads each household."""

    of: IntArray  # household of each slot
    rank: IntArray  # position in the household: 0 head, 1 partner, 2+ children
    start: IntArray  # first slot of each household
    sizes: IntArray  # size of each household


def build_population(rng: np.random.Generator, people: int) -> Population:
    """Draw a population of ``people`` persons.

    Args:
        rng: The random generator; the same state gives the same population.
        people: Number of persons (validated by the caller).

    Returns:
        The population, in household order.
    """
    homes = _households(rng, people)
    births = _draw_births(rng, people)
    births = births[_place_people(rng, _years(births), homes)]
    sex = _draw_sexes(rng, homes)
    births, twin = _pair_twins(rng, births, homes)
    age = completed_years(births)
    foreign = _pick_foreigners(rng, age, homes.rank, twin)
    name = _names(rng, sex=sex, births=births, foreign=foreign, twin=twin, homes=homes)
    home_sigungu = pick_sigungu(rng, homes.sizes.size)
    return Population(
        household=homes.of,
        household_size=homes.sizes[homes.of],
        sigungu=home_sigungu[homes.of],
        address=make_addresses(rng, home_sigungu).take(pa.array(homes.of)),
        sex=sex,
        birth=births,
        age=age,
        foreign=foreign,
        twin=twin,
        name=name,
        rrn=_rrns(rng, births, sex, foreign),
        phone=_phones(rng, age),
        income_band=_income_bands(rng, age, homes),
    )


def date_parts(dates: DateArray) -> tuple[IntArray, IntArray, IntArray]:
    """Split dates into year, month and day arrays."""
    months = dates.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (dates - months).astype(np.int64) + 1
    return year, month, day


def completed_years(births: DateArray) -> IntArray:
    """Age in completed years on ``REFERENCE_DATE``."""
    year, month, day = date_parts(births)
    before_birthday = month * 100 + day > _REFERENCE_MONTH_DAY
    return _REFERENCE_YEAR - year - before_birthday.astype(np.int64)


def check_digits(first12: IntArray) -> IntArray:
    """RRN check digits ``(11 - sum(d_i * w_i) % 11) % 10`` of twelve-digit integers."""
    total = np.zeros_like(first12)
    for power, weight in zip(range(11, -1, -1), _RRN_WEIGHTS, strict=True):
        total += (first12 // 10**power) % 10 * weight
    return (11 - total % 11) % 10


def pick_sigungu(rng: np.random.Generator, count: int) -> IntArray:
    """Draw ``count`` si/gun indices in proportion to their populations."""
    weights = np.array([thousands for *_, thousands in SIGUNGU], dtype=np.float64)
    return rng.choice(len(SIGUNGU), size=count, p=weights / weights.sum())


def make_addresses(rng: np.random.Generator, sigungu: IntArray) -> pa.Array:
    """Draw one road-name address in each given si/gun.

    Args:
        rng: The random generator.
        sigungu: Indices into ``SIGUNGU``.

    Returns:
        Strings like ``경기도 수원시 정조로 123 101동 1203호`` (about 60% are apartments).
    """
    count = sigungu.size
    city = pa.array([f"경기도 {name}" for _, name, _ in SIGUNGU]).take(pa.array(sigungu))
    main = 1 + np.minimum(rng.lognormal(3.2, 1.0, count), 998).astype(np.int64)
    sub = pa.array(rng.integers(1, 40, count), mask=rng.random(count) >= _SUB_NUMBER_SHARE)
    number = pc.binary_join_element_wise(
        _text(main), pc.cast(sub, pa.string()), "-", null_handling="skip"
    )
    dong = 100 + np.ceil(np.exp(rng.random(count) * np.log(20))).astype(np.int64)
    ho = rng.integers(1, 26, count) * 100 + rng.integers(1, 5, count)
    unit = pc.binary_join_element_wise(
        pc.binary_join_element_wise(_text(dong), "동", ""),
        pc.binary_join_element_wise(_text(ho), "호", ""),
        " ",
    )
    unit = pc.if_else(
        pa.array(rng.random(count) < _APARTMENT_SHARE), unit, pa.scalar(None, pa.string())
    )
    return pc.binary_join_element_wise(
        city, _road_names(rng, sigungu), number, unit, " ", null_handling="skip"
    )


def _text(values: IntArray) -> pa.Array:
    """Integers as Arrow strings."""
    return pc.cast(pa.array(values), pa.string())


def _road_names(rng: np.random.Generator, sigungu: IntArray) -> pa.Array:
    """Road names: a generic or local stem plus 로, 길, 대로 or 로N번길."""
    stems = list(_ROAD_STEMS)
    offsets = np.zeros(len(SIGUNGU), dtype=np.int64)
    counts = np.zeros(len(SIGUNGU), dtype=np.int64)
    for i, (code, _, _) in enumerate(SIGUNGU):
        local = _LOCAL_ROAD_STEMS.get(code, ())
        offsets[i], counts[i] = len(stems), len(local)
        stems.extend(local)
    count = sigungu.size
    u = rng.random(count)
    local_pick = (rng.random(count) < _LOCAL_ROAD_SHARE) & (counts[sigungu] > 0)
    stem = np.where(
        local_pick,
        offsets[sigungu] + (u * counts[sigungu]).astype(np.int64),
        (u * len(_ROAD_STEMS)).astype(np.int64),
    )
    side = np.arange(1, 100)
    suffixes = ["로", "길", "대로", *(f"로{n}번길" for n in side)]
    side_weights = 0.38 * (0.96**side) / (0.96**side).sum()
    shares = np.concatenate([[0.50, 0.08, 0.04], side_weights])
    suffix = rng.choice(len(suffixes), size=count, p=shares / shares.sum())
    return pc.binary_join_element_wise(
        pa.array(stems).take(pa.array(stem)), pa.array(suffixes).take(pa.array(suffix)), ""
    )


def _households(rng: np.random.Generator, people: int) -> _Households:
    """Cut ``people`` slots into households of 1 to 6 (the last one is trimmed to fit)."""
    shares = np.array(_HOUSEHOLD_SIZE_SHARES)
    mean_size = float(np.dot(np.arange(1, 7), shares))
    sizes = rng.choice(np.arange(1, 7), size=int(people / mean_size * 1.2) + 64, p=shares)
    ends = np.cumsum(sizes)
    if ends[-1] < people:  # practically never: pad with one-person households
        sizes = np.concatenate([sizes, np.ones(people - int(ends[-1]), dtype=np.int64)])
        ends = np.cumsum(sizes)
    last = int(np.searchsorted(ends, people))
    sizes = sizes[: last + 1].astype(np.int64)
    sizes[last] -= int(ends[last]) - people
    start = np.cumsum(sizes) - sizes
    of = np.repeat(np.arange(sizes.size, dtype=np.int64), sizes)
    return _Households(of=of, rank=np.arange(people) - start[of], start=start, sizes=sizes)


def _draw_births(rng: np.random.Generator, count: int) -> DateArray:
    """Birth dates: a 5-year age band by its share, then a uniform day within the band."""
    shares = np.array([share for *_, share in _AGE_BANDS])
    band = rng.choice(len(_AGE_BANDS), size=count, p=shares / shares.sum())
    latest = np.array(
        [np.datetime64(f"{_REFERENCE_YEAR - low:04d}-11-01", "D") for low, _, _ in _AGE_BANDS]
    )
    earliest = np.array(
        [
            np.datetime64(f"{_REFERENCE_YEAR - low - width:04d}-11-02", "D")
            for low, width, _ in _AGE_BANDS
        ]
    )
    span = (latest - earliest).astype(np.int64) + 1
    offset = np.floor(rng.random(count) * span[band]).astype(np.int64)
    births: DateArray = earliest[band] + offset.astype("timedelta64[D]")
    return births


def _years(births: DateArray) -> FloatArray:
    """Exact age in years (for ordering people)."""
    return (REFERENCE_DATE - births).astype(np.float64) / 365.2425


def _place_people(rng: np.random.Generator, years: FloatArray, homes: _Households) -> IntArray:
    """Choose which drawn person fills each household slot, keeping the age marginals.

    The youngest people fill the child slots (rank 2 and up): all minors and many young
    adults, siblings a couple of years apart; heads are about 29 years older than their
    eldest child, partners of similar age.
    """
    adult = years >= _ADULT_AGE
    leaving_home = years + np.where(adult, rng.normal(0.0, _LEAVING_HOME_SPREAD, years.size), 0.0)
    by_leaving = np.argsort(leaving_home, kind="stable")
    order = np.empty(years.size, dtype=np.int64)
    child_slots = np.flatnonzero(homes.rank >= _FIRST_CHILD)
    children = by_leaving[: child_slots.size]
    family_key = rng.random(homes.sizes.size)[homes.of[child_slots]]
    sibling_key = family_key + rng.normal(0.0, 0.08, child_slots.size)
    order[child_slots[np.argsort(sibling_key, kind="stable")]] = children[
        np.argsort(years[children], kind="stable")
    ]

    adults = by_leaving[child_slots.size :]
    adults = adults[np.argsort(years[adults], kind="stable")]
    head_key = years[adults][rng.integers(0, adults.size, homes.sizes.size)]
    families = np.flatnonzero(homes.sizes > _FIRST_CHILD)
    if families.size:
        children = homes.sizes[families] - _FIRST_CHILD
        segments = np.cumsum(children) - children
        eldest = np.maximum.reduceat(years[order[child_slots]], segments)
        head_key[families] = eldest + 29.0 + rng.normal(0.0, 4.0, families.size)
    adult_slots = np.flatnonzero(homes.rank < _FIRST_CHILD)
    key = head_key[homes.of[adult_slots]] + rng.normal(0.0, 2.0, adult_slots.size)
    order[adult_slots[np.argsort(key, kind="stable")]] = adults
    return order


def _draw_sexes(rng: np.random.Generator, homes: _Households) -> IntArray:
    """Sex 50/50; most partners (rank 1) are of the other sex than the head."""
    sex = rng.integers(0, 2, homes.rank.size)
    partners = np.flatnonzero(homes.rank == 1)
    partners = partners[rng.random(partners.size) < _OPPOSITE_SEX_PARTNERS]
    sex[partners] = 1 - sex[homes.start[homes.of[partners]]]
    return sex


def _pair_twins(
    rng: np.random.Generator, births: DateArray, homes: _Households
) -> tuple[DateArray, IntArray]:
    """Make the first two children of some households twins (same birth date)."""
    twin = np.full(births.size, -1, dtype=np.int64)
    candidates = np.flatnonzero(homes.sizes >= _FIRST_CHILD + 2)
    pairs = min(round(births.size * _TWIN_SHARE / 2), candidates.size)
    chosen = np.sort(rng.choice(candidates, size=pairs, replace=False))
    first = homes.start[chosen] + _FIRST_CHILD
    second = first + 1
    births = births.copy()
    births[second] = births[first]
    twin[first], twin[second] = second, first
    return births, twin


def _pick_foreigners(
    rng: np.random.Generator, age: IntArray, rank: IntArray, twin: IntArray
) -> BoolArray:
    """Registered foreigners: working-age adults heading or partnering a household."""
    youngest, oldest = _FOREIGN_AGES
    working_age = (rank < _FIRST_CHILD) & (age >= youngest) & (age <= oldest)
    candidates = np.flatnonzero(working_age & (twin < 0))
    count = min(round(age.size * _FOREIGN_SHARE), candidates.size)
    foreign = np.zeros(age.size, dtype=np.bool_)
    foreign[rng.choice(candidates, size=count, replace=False)] = True
    return foreign


def _names(
    rng: np.random.Generator,
    *,
    sex: IntArray,
    births: DateArray,
    foreign: BoolArray,
    twin: IntArray,
    homes: _Households,
) -> pa.Array:
    """Full names: surname plus given name, built by indexing tables of unique strings."""
    surname = _surnames(rng, sex, homes)
    first, second = _given_syllables(rng, sex, births)
    _name_twins(rng, first, second, twin)
    k = len(GIVEN_SYLLABLES)
    given = first * (k + 1) + second
    men, women = _FOREIGN_NAMES
    rows = np.flatnonzero(foreign)
    pick = rng.integers(0, len(men) * len(women), rows.size)
    female = sex[rows] == 1
    given[rows] = k * (k + 1) + np.where(female, len(men) + pick % len(women), pick % len(men))
    surname[rows] = len(SURNAMES)  # the empty surname: the table holds the whole name
    given_table = [a + b for a in GIVEN_SYLLABLES for b in (*GIVEN_SYLLABLES, "")]
    return pc.binary_join_element_wise(
        pa.array([*SURNAMES, ""]).take(pa.array(surname)),
        pa.array([*given_table, *men, *women]).take(pa.array(given)),
        "",
    )


def _surnames(rng: np.random.Generator, sex: IntArray, homes: _Households) -> IntArray:
    """Surnames by frequency; children take the father's (else the head's) surname."""
    top = np.array([share for _, share in _TOP_SURNAMES])
    rest = _OTHER_SURNAME_DECAY ** np.arange(len(_OTHER_SURNAMES), dtype=np.float64)
    rest *= (100.0 - top.sum()) / rest.sum()
    shares = np.concatenate([top, rest])
    surname = rng.choice(len(SURNAMES), size=sex.size, p=shares / shares.sum())
    head = homes.start
    partner = head + np.minimum(homes.sizes - 1, 1)
    father = np.where((sex[head] == 0) | (sex[partner] == 1), head, partner)
    children = np.flatnonzero(homes.rank >= _FIRST_CHILD)
    surname[children] = surname[father[homes.of[children]]]
    return surname


def _syllable_shares(sex: int, era: int) -> tuple[FloatArray, FloatArray]:
    """Probabilities of each given-name syllable, first and second position."""

    def member(chars: str | set[str]) -> BoolArray:
        return np.array([syllable in chars for syllable in GIVEN_SYLLABLES])

    weight = np.where(member(_MALE if sex == 0 else _FEMALE), 1.0, 0.4)
    old, new = member(_OLD_STYLE), member(_NEW_STYLE)
    if era == _OLD_ERA:
        weight *= np.where(old, 3.0, np.where(new, 0.2, 1.0))
    elif era == _NEW_ERA:
        weight *= np.where(new, 3.0, np.where(old, 0.15, 1.0))
    favourite_first, favourite_second = _FAVOURITES[sex, era]
    boost = 1.0 + _FAVOURITE_WEIGHT
    first = weight * np.where(
        member(favourite_first), boost, np.where(member(_SECOND_ONLY), 0.05, 1.0)
    )
    second = weight * np.where(member(favourite_second), boost, 1.0)
    return first / first.sum(), second / second.sum()


def _given_syllables(
    rng: np.random.Generator, sex: IntArray, births: DateArray
) -> tuple[IntArray, IntArray]:
    """Syllable indices of given names by sex and birth era; ``len(GIVEN_SYLLABLES)`` = none."""
    k = len(GIVEN_SYLLABLES)
    year = births.astype("datetime64[Y]").astype(np.int64) + 1970
    era = np.digitize(year, [1970, 2000])
    first = np.empty(sex.size, dtype=np.int64)
    second = np.empty(sex.size, dtype=np.int64)
    for group_sex in (0, 1):
        for group_era in (0, 1, 2):
            rows = np.flatnonzero((sex == group_sex) & (era == group_era))
            shares_first, shares_second = _syllable_shares(group_sex, group_era)
            first[rows] = rng.choice(k, size=rows.size, p=shares_first)
            second[rows] = rng.choice(k, size=rows.size, p=shares_second)
    doubled = np.flatnonzero(first == second)
    second[doubled] = (second[doubled] + rng.integers(1, k, doubled.size)) % k
    second[rng.random(sex.size) < _ONE_SYLLABLE_SHARE] = k
    return first, second


def _name_twins(
    rng: np.random.Generator, first: IntArray, second: IntArray, twin: IntArray
) -> None:
    """Give each twin pair different given names, often sharing a syllable (in place)."""
    k = len(GIVEN_SYLLABLES)
    older = np.flatnonzero(twin > np.arange(twin.size))
    younger = twin[older]
    u = rng.random(older.size)
    fresh = rng.integers(1, k, older.size)
    keep_first = u < _TWINS_SHARING_FIRST
    keep_second = (u >= _TWINS_SHARING_FIRST) & (u < _TWINS_SHARING_FIRST + _TWINS_SHARING_SECOND)
    base = np.where(second[older] < k, second[older], first[older])
    first[younger[keep_first]] = first[older[keep_first]]
    second[younger[keep_first]] = ((base + fresh) % k)[keep_first]
    second[younger[keep_second]] = second[older[keep_second]]
    first[younger[keep_second]] = ((first[older] + fresh) % k)[keep_second]
    same = (first[younger] == first[older]) & (second[younger] == second[older])
    second[younger[same]] = (second[older[same]] + 1) % k


def _rrns(
    rng: np.random.Generator, births: DateArray, sex: IntArray, foreign: BoolArray
) -> pa.Array:
    """Unique 13-digit registration numbers ``YYMMDDSRROOQC`` (no dash).

    S is 1/2 (1900s) or 3/4 (2000s) for men/women, 5-8 for registered foreigners; RR the
    region, OO the office, Q the serial and C the check digit. Numbers issued from October
    2020 have six random digits after S instead.
    """
    year, month, day = date_parts(births)
    gender = 1 + sex + 2 * (year >= _MILLENNIUM) + 4 * foreign
    prefix = ((year % 100) * 10_000 + month * 100 + day) * 10 + gender
    recent = births >= _NO_CHECK_DIGIT_FROM
    number = prefix * 1_000_000 + _rrn_tails(rng, prefix, recent)
    while (repeats := _repeats(number)).size:
        tails = _rrn_tails(rng, prefix[repeats], recent[repeats])
        number[repeats] = prefix[repeats] * 1_000_000 + tails
    return pc.utf8_lpad(_text(number), width=13, padding="0")


def _rrn_tails(rng: np.random.Generator, prefix: IntArray, recent: BoolArray) -> IntArray:
    """The last six RRN digits for the given seven-digit prefixes."""
    count = prefix.size
    regions = np.ones(_RRN_REGIONS)
    regions[0:9] = regions[16:26] = 3.0  # most residents were born in Seoul or Gyeonggi
    regions[13:16] = 2.0
    region = rng.choice(_RRN_REGIONS, size=count, p=regions / regions.sum())
    office = rng.integers(0, 100, count)
    serial = rng.choice(10, size=count, p=np.array(_RRN_SERIAL_SHARES))
    body = region * 1_000 + office * 10 + serial
    checked = body * 10 + check_digits(prefix * 100_000 + body)
    return np.where(recent, rng.integers(0, 1_000_000, count), checked)


def _repeats(values: IntArray) -> IntArray:
    """Positions holding a value already seen at a lower position."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    return order[np.flatnonzero(ordered[1:] == ordered[:-1]) + 1]


def _phones(rng: np.random.Generator, age: IntArray) -> pa.Array:
    """Unique eight-digit mobile numbers (after 010) for everyone aged 12 or over."""
    owners = age >= _PHONE_FROM_AGE
    numbers = rng.integers(_PHONE_LOW, _PHONE_HIGH, int(owners.sum()))
    while (repeats := _repeats(numbers)).size:
        numbers[repeats] = rng.integers(_PHONE_LOW, _PHONE_HIGH, repeats.size)
    values = np.zeros(age.size, dtype=np.int64)
    values[owners] = numbers
    return pc.cast(pa.array(values, mask=~owners), pa.string())


def _income_bands(rng: np.random.Generator, age: IntArray, homes: _Households) -> IntArray:
    """Income quintiles 0-4: mostly the household's level, mildly peaking in the late 40s.

    Minors count as middle-aged: their band is their household's.
    """
    level = rng.normal(size=homes.sizes.size)[homes.of]
    earning_age = np.where(age < _ADULT_AGE, 40.0, age)
    prime = -np.minimum(((earning_age - 48.0) / 25.0) ** 2, 1.5)
    score = 0.8 * level + 0.35 * prime + 0.45 * rng.normal(size=age.size)
    cuts = np.quantile(score, [0.2, 0.4, 0.6, 0.8])
    return np.searchsorted(cuts, score).astype(np.int64)
