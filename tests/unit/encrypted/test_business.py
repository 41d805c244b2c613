"""The small-business scenario's generator: valid numbers, Gyeonggi's si/gun, realistic overlap."""

import numpy as np
import pytest

from ansim.demo._business import SECTORS, _brn_numbers, generate_business_world
from ansim.encrypted import brn_check_digit, standardise_brn
from ansim.errors import InvalidIdentifierError, InvalidSpecError
from ansim.regions import GYEONGGI_SIGUNGU


@pytest.fixture(scope="module")
def world():
    return generate_business_world(5000, 11)


def test_the_same_seed_gives_the_same_files():
    a, b = generate_business_world(300, 3), generate_business_world(300, 3)
    assert a.register.equals(b.register) and a.support.equals(b.support)
    assert not a.register.equals(generate_business_world(300, 4).register)


def test_vectorised_check_digits_are_the_official_ones():
    for number in _brn_numbers(np.random.default_rng(0), 2000).tolist():
        digits = f"{number:010d}"
        assert brn_check_digit(digits[:9]) == int(digits[9])


def test_register_numbers_are_valid_and_distinct(world):
    numbers = [standardise_brn(b) for b in world.register.column("brn").to_pylist()]
    assert len(set(numbers)) == world.register.num_rows


def test_codes_are_gyeonggi_si_gun_and_ksic_sections(world):
    for table in (world.register, world.support):
        assert set(table.column("sigungu_code").to_pylist()) <= set(GYEONGGI_SIGUNGU)
    assert len(set(world.register.column("sigungu_code").to_pylist())) == 31
    assert set(world.register.column("sector").to_pylist()) == set(SECTORS)
    assert set(world.register.column("representative_sex").to_pylist()) == {"M", "F"}


def test_overlap_and_errors_are_realistic(world):
    truth = world.truth
    assert len(truth) == world.support.num_rows
    linked = np.unique(truth[truth >= 0])
    assert 0.45 < len(linked) / world.register.num_rows < 0.7  # about 55 % supported
    assert 0.01 < (truth < 0).mean() < 0.05  # payments to firms outside the extract
    assert len(truth[truth >= 0]) > len(linked)  # second rounds: some firms paid twice
    refused = matched = 0
    register = world.register.column("brn").to_pylist()
    for written, row in zip(world.support.column("brn").to_pylist(), truth.tolist(), strict=True):
        try:
            number = standardise_brn(written)
        except InvalidIdentifierError:
            refused += 1
            continue
        matched += row >= 0 and number == standardise_brn(register[row])
    assert 0.97 < matched / (truth >= 0).sum() < 0.999  # the rest mistyped
    assert 0.002 < refused / len(truth) < 0.02
    brns = world.support.column("brn").to_pylist()
    assert any("-" in b for b in brns) and any(b.isdigit() for b in brns)
    support = world.support.column("support_krw").to_numpy()
    assert (support >= 1_000_000).all() and (support % 10_000 == 0).all()


def test_sizes_out_of_range_are_refused():
    with pytest.raises(InvalidSpecError, match="firms must be"):
        generate_business_world(10, 1)
