"""The party services: every method checks the actor's role, records its event, takes only
sealed parts; the whole flow runs through them."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ansim.errors import AccessDenied, IntegrityError
from ansim.governance import Governance, read_head_file
from ansim.identity import LinkageSecret, PreparedParts
from ansim.ingest import IngestResult
from ansim.linkage import LinkageConfig
from ansim.schema import DatasetSpec
from ansim.services import AUDIT_HEAD_FILE, Custodian, Received, SealedParts, TrialProject

SPEC = """
dataset: {dataset}
custodian: {custodian}
record_id: id
columns:
  name: {{type: string, role: direct_identifier, kind: korean_name}}
  rrn: {{type: string, role: direct_identifier, kind: rrn}}
  birth_date: {{type: date, role: quasi_identifier}}
  sex: {{type: category, role: quasi_identifier, values: [M, F]}}
  income_band: {{type: category, role: sensitive, values: [Q1, Q2]}}
"""
ROWS = [
    ("김민준", "800522-1234564", "1980-05-22", "M", "Q1"),
    ("이서연", "900102-2345678", "1990-01-02", "F", "Q2"),
    ("박지훈", "850315-1456789", "1985-03-15", "M", "Q1"),
    ("최수아", "920720-2567890", "1992-07-20", "F", "Q2"),
]
DATASETS = {"register": "kostat", "cases": "gyeonggi"}
EXACT = LinkageConfig(method="exact")


def _write(root: Path, dataset: str, custodian: str) -> tuple[DatasetSpec, Path]:
    spec = DatasetSpec.from_yaml_text(SPEC.format(dataset=dataset, custodian=custodian))
    data = root / f"{dataset}.csv"
    lines = ["id,name,rrn,birth_date,sex,income_band"]
    lines += [f"{i},{','.join(row)}" for i, row in enumerate(ROWS, 1)]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return spec, data


@pytest.fixture
def trial(tmp_path: Path) -> Iterator[TrialProject]:
    project = TrialProject.create(tmp_path / "trial", "p1", DATASETS)
    yield project
    project.close()


def _events(trial: TrialProject) -> list[Any]:
    return trial.governance.audit.events("p1")


def _refused(trial: TrialProject, call: Callable[[], object]) -> None:
    """The call raises AccessDenied and leaves an ``access_denied`` event as the last one."""
    before = len(_events(trial))
    with pytest.raises(AccessDenied):
        call()
    events = _events(trial)
    assert len(events) == before + 1
    assert events[-1].action == "access_denied"


def _prepared(
    trial: TrialProject, tmp_path: Path
) -> tuple[dict[str, IngestResult], dict[str, PreparedParts]]:
    secret = LinkageSecret.generate()
    ingested, parts = {}, {}
    for dataset, custodian in DATASETS.items():
        spec, data = _write(tmp_path, dataset, custodian)
        service, officer = trial.custodian(custodian), trial.officers[custodian]
        ingested[dataset] = service.ingest(officer, spec, data)
        parts[dataset] = service.prepare(officer, ingested[dataset].directory, secret)
    return ingested, parts


def _sent(trial: TrialProject, tmp_path: Path) -> dict[str, SealedParts]:
    _, parts = _prepared(trial, tmp_path)
    inboxes = {"linkage_unit": trial.root / "linkage_unit" / "inbox",
               "hub": trial.root / "hub" / "inbox"}  # fmt: skip
    sealed = {}
    for dataset, custodian in DATASETS.items():
        service, officer = trial.custodian(custodian), trial.officers[custodian]
        sealed[dataset] = service.seal(officer, parts[dataset])
        service.send(officer, sealed[dataset], inboxes)
    return sealed


def test_the_whole_flow_runs_through_the_services(trial: TrialProject, tmp_path: Path) -> None:
    _sent(trial, tmp_path)
    unit = trial.linkage_unit()
    received = unit.receive(trial.linker, unit.inbox())
    assert received.sealed and len(received.files) == 2
    linkmap = unit.link(trial.linker, received, EXACT)
    assert linkmap.report.persons == len(ROWS)
    package = unit.seal_link_map(trial.linker, out_dir=trial.root / "hub" / "inbox")
    assert package.suffix == ".ansim"
    hub = trial.hub()
    linked = hub.combine(trial.hub_operator, hub.receive(trial.hub_operator, hub.inbox()))
    assert linked.persons == len(ROWS)
    assert hub.views(trial.analyst) == {"linked_cases": 4, "linked_register": 4}
    actions = [e.action for e in _events(trial)]
    assert actions.count("submit_parts") == 2
    steps = [e.objects.get("step") for e in _events(trial)]
    for step in ("ingest", "prepare", "seal", "link", "seal link map", "combine"):
        assert step in steps, step
    assert "access_denied" not in actions
    assert trial.governance.verify_audit().ok


def test_custodian_methods_refuse_other_roles_and_other_custodians(
    trial: TrialProject, tmp_path: Path
) -> None:
    spec, data = _write(tmp_path, "register", "kostat")
    kostat = trial.custodian("kostat")
    other_officer = trial.officers["gyeonggi"]
    for actor in (trial.linker, trial.hub_operator, trial.analyst, other_officer, "nobody"):
        _refused(trial, lambda a=actor: kostat.ingest(a, spec, data))
    assert not (kostat.home / "ingest").exists()  # refused before anything is written
    ingested = kostat.ingest(trial.officers["kostat"], spec, data)
    assert _events(trial)[-1].objects == {
        "step": "ingest", "dataset": "register", **_hash(data)
    }  # fmt: skip
    secret = LinkageSecret.generate()
    _refused(trial, lambda: kostat.prepare(trial.linker, ingested.directory, secret))
    parts = kostat.prepare(trial.officers["kostat"], ingested.directory, secret)
    assert _events(trial)[-1].objects["step"] == "prepare"
    _refused(trial, lambda: kostat.seal(other_officer, parts))
    sealed = kostat.seal(trial.officers["kostat"], parts)
    assert set(sealed.packages) == {"linkage_unit", "hub"}
    inboxes = {"linkage_unit": tmp_path / "u", "hub": tmp_path / "h"}
    _refused(trial, lambda: kostat.send(trial.hub_operator, sealed, inboxes))
    assert not (tmp_path / "u").exists()
    kostat.send(trial.officers["kostat"], sealed, inboxes)
    event = _events(trial)[-1]
    assert event.action == "submit_parts" and set(event.objects["sent"]) == set(inboxes)
    assert kostat.outbox("register") == sealed


def _hash(path: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}


def test_sending_needs_every_custodians_approval(tmp_path: Path) -> None:
    trial = TrialProject.create(tmp_path / "t", "p1", DATASETS)
    try:
        trial.governance.revoke(trial.officers["gyeonggi"], "p1", "cases")
        _, parts = _prepared(trial, tmp_path)
        kostat = trial.custodian("kostat")
        sealed = kostat.seal(trial.officers["kostat"], parts["register"])
        with pytest.raises(AccessDenied, match=r"approv|revok"):
            kostat.send(trial.officers["kostat"], sealed, {"linkage_unit": tmp_path / "u",
                                                           "hub": tmp_path / "h"})  # fmt: skip
    finally:
        trial.close()


def test_linkage_unit_methods_refuse_other_roles(trial: TrialProject, tmp_path: Path) -> None:
    _sent(trial, tmp_path)
    unit = trial.linkage_unit()
    packages = unit.inbox()
    for actor in (trial.hub_operator, trial.analyst, trial.officers["kostat"], "admin"):
        _refused(trial, lambda a=actor: unit.receive(a, packages))
    assert not (unit.home / "received").exists()  # nothing opened for them
    received = unit.receive(trial.linker, packages)
    assert _events(trial)[-1].action == "run_linkage"
    _refused(trial, lambda: unit.link(trial.hub_operator, received, EXACT))
    unit.link(trial.linker, received, EXACT)
    assert _events(trial)[-1].objects["step"] == "link"
    _refused(trial, lambda: unit.seal_link_map(trial.analyst))
    unit.seal_link_map(trial.linker)
    assert _events(trial)[-1].objects["step"] == "seal link map"
    _refused(trial, lambda: unit.accept_unsealed(trial.hub_operator, list(received.files)))
    unit.accept_unsealed(trial.linker, list(received.files))
    assert "unsealed_trial" in _events(trial)[-1].objects


def test_hub_methods_refuse_other_roles(trial: TrialProject, tmp_path: Path) -> None:
    _sent(trial, tmp_path)
    unit = trial.linkage_unit()
    unit.link(trial.linker, unit.receive(trial.linker, unit.inbox()), EXACT)
    unit.seal_link_map(trial.linker, out_dir=trial.root / "hub" / "inbox")
    hub = trial.hub()
    packages = hub.inbox()
    for actor in (trial.linker, trial.analyst, trial.officers["kostat"], "admin"):
        _refused(trial, lambda a=actor: hub.receive(a, packages))
    received = hub.receive(trial.hub_operator, packages)
    assert _events(trial)[-1].action == "combine"
    _refused(trial, lambda: hub.combine(trial.linker, received))
    assert not hub.store_path.exists()
    hub.combine(trial.hub_operator, received)
    assert [e.action for e in _events(trial)[-2:]] == ["combine", "key_use"]
    _refused(trial, lambda: hub.views(trial.hub_operator))
    _refused(trial, lambda: hub.linkage_rates(trial.analyst, "cases", "register"))


@pytest.mark.parametrize("party", ["linkage_unit", "hub"])
def test_an_unsealed_part_is_refused(trial: TrialProject, tmp_path: Path, party: str) -> None:
    _, parts = _prepared(trial, tmp_path)
    before = len(_events(trial))
    plain = [parts["register"].identity if party == "linkage_unit" else parts["register"].content]
    service = trial.linkage_unit() if party == "linkage_unit" else trial.hub()
    actor = trial.linker if party == "linkage_unit" else trial.hub_operator
    with pytest.raises(IntegrityError, match=r"not a sealed package.*unsealed Parquet part"):
        service.receive(actor, plain)
    assert len(_events(trial)) == before  # refused before anything is received


def test_the_hub_combines_only_what_it_received_sealed(trial: TrialProject, tmp_path: Path) -> None:
    _, parts = _prepared(trial, tmp_path)
    unsealed = Received("p1", "content", (parts["register"].content,),
                        linkmap=tmp_path / "linkmap.parquet", sealed=False)  # fmt: skip
    with pytest.raises(IntegrityError, match="sealed packages"):
        trial.hub().combine(trial.hub_operator, unsealed)
    other = Received("p2", "identity", (parts["register"].identity,))
    with pytest.raises(IntegrityError, match="project 'p1'"):
        trial.linkage_unit().link(trial.linker, other, EXACT)


def test_a_custodian_keeps_the_head_after_its_submission_and_catches_a_rollback(
    tmp_path: Path,
) -> None:
    trial = TrialProject.create(tmp_path / "t", "p1", DATASETS)
    keys, home = trial.governance.keys, trial.governance.home
    _, parts = _prepared(trial, tmp_path)
    kostat, officer = trial.custodian("kostat"), trial.officers["kostat"]
    sealed = kostat.seal(officer, parts["register"])
    trial.close()
    shutil.copytree(home, tmp_path / "before")  # the attacker's copy from before the sending
    gov = Governance(home, keys=keys)
    custodian = Custodian(gov, "p1", kostat.home, kostat.keys)
    custodian.send(officer, sealed, {"linkage_unit": tmp_path / "u", "hub": tmp_path / "h"})
    head = read_head_file(kostat.home / "audit" / AUDIT_HEAD_FILE)
    assert gov.verify_audit(head=head).ok
    gov.close()
    shutil.rmtree(home)  # the submission is rolled back, older head and all
    shutil.copytree(tmp_path / "before", home)
    gov = Governance(home, keys=keys)
    try:
        assert gov.verify_audit().ok  # consistent on its own
        assert not gov.verify_audit(head=head).ok  # the custodian's head catches it
    finally:
        gov.close()
