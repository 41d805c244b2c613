"""The privacy budget ledger: audited spends, exact refusals, no overspend under concurrency."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.errors import AccessDenied, BudgetExhaustedError, InvalidSpecError
from ansim.governance import Governance, PrivacyLedger
from ansim.governance._budget import privacy_budgets
from tests.unit.governance.conftest import PROJECT, TODAY, populated

UNIT = "a person of the linked project (all their rows)"


def _spend_many(home: str, url: str, attempts: int, queue: multiprocessing.Queue[int]) -> None:
    gov = Governance(Path(home), url=url, today=TODAY)
    ledger, won = PrivacyLedger(gov), 0
    for i in range(attempts):
        try:
            ledger.spend("analyst", PROJECT, rho=0.01, release=f"r{i}", mechanism="gaussian")
            won += 1
        except BudgetExhaustedError:
            pass
    gov.close()
    queue.put(won)


def test_concurrent_spends_never_overspend(tmp_path: Path, store_url: str) -> None:
    gov = populated(tmp_path / "home", store_url)
    PrivacyLedger(gov).set_budget("admin", PROJECT, 0.1, privacy_unit=UNIT)
    gov.close()
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[int] = context.Queue()
    workers = [
        context.Process(target=_spend_many, args=(str(tmp_path / "home"), store_url, 5, queue))
        for _ in range(6)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert all(w.exitcode == 0 for w in workers)
    won = sum(queue.get(timeout=5) for _ in workers)
    gov = Governance(tmp_path / "home", url=store_url, today=TODAY)
    ledger = PrivacyLedger(gov)
    balance = ledger.balance(PROJECT)
    assert won == 10  # 30 attempts of 0.01 against 0.1: exactly ten can be paid
    assert len(ledger.spends(PROJECT)) == 10
    assert balance.rho_spent == pytest.approx(0.1)
    events = [e for e in gov.audit.events(PROJECT) if e.action == "privacy_spend"]
    assert {e.objects["spend"] for e in events} == {s.id for s in ledger.spends(PROJECT)}
    assert gov.verify_audit().ok
    gov.close()


def test_budget_rules(tmp_path: Path) -> None:
    gov = populated(tmp_path / "home", f"sqlite:///{tmp_path / 'g.db'}")
    ledger = PrivacyLedger(gov)
    with pytest.raises(BudgetExhaustedError, match="no privacy budget"):
        ledger.spend("analyst", PROJECT, rho=0.01, release="t", mechanism="gaussian")
    with pytest.raises(AccessDenied):
        ledger.set_budget("analyst", PROJECT, 1.0, privacy_unit=UNIT)
    ledger.set_budget("admin", PROJECT, 0.5, privacy_unit=UNIT)
    with pytest.raises(AccessDenied):
        ledger.spend("checker", PROJECT, rho=0.01, release="t", mechanism="gaussian")
    ledger.spend("analyst", PROJECT, rho=0.3, release="t", mechanism="gaussian")
    with pytest.raises(InvalidSpecError, match="never lowered"):
        ledger.set_budget("admin", PROJECT, 0.2, privacy_unit=UNIT)
    with pytest.raises(BudgetExhaustedError, match="left"):
        ledger.spend("analyst", PROJECT, rho=0.21, release="t2", mechanism="gaussian")
    assert [e.action for e in gov.audit.events(PROJECT)][-1] == "privacy_spend_refused"
    assert ledger.balance(PROJECT).rho_spent == pytest.approx(0.3)
    gov.close()


def test_the_database_refuses_an_overspent_row(tmp_path: Path) -> None:
    gov = populated(tmp_path / "home", f"sqlite:///{tmp_path / 'g.db'}")
    PrivacyLedger(gov).set_budget("admin", PROJECT, 0.5, privacy_unit=UNIT)
    with pytest.raises(sa.exc.IntegrityError), gov.store.engine.begin() as connection:
        connection.execute(
            privacy_budgets.update().values(rho_spent=privacy_budgets.c.rho_total + 1)
        )
    gov.close()


@settings(max_examples=15, deadline=None)
@given(charges=st.lists(st.floats(0.001, 0.4), min_size=1, max_size=8))
def test_ledger_never_goes_negative(
    tmp_path_factory: pytest.TempPathFactory, charges: list[float]
) -> None:
    home = tmp_path_factory.mktemp("h")
    gov = populated(home / "home", f"sqlite:///{home / 'g.db'}")
    ledger = PrivacyLedger(gov)
    ledger.set_budget("admin", PROJECT, 1.0, privacy_unit=UNIT)
    paid = 0.0
    for i, rho in enumerate(charges):
        try:
            ledger.spend("analyst", PROJECT, rho=rho, release=f"r{i}", mechanism="gaussian")
            paid += rho
        except BudgetExhaustedError:
            assert paid + rho > 1.0 - 1e-9
        assert 0 <= ledger.balance(PROJECT).rho_remaining <= 1.0
    assert ledger.balance(PROJECT).rho_spent == pytest.approx(paid, abs=1e-9)
    assert sum(s.rho for s in ledger.spends(PROJECT)) == pytest.approx(paid, abs=1e-9)
    gov.close()
