"""Two concurrent releases cannot both pass the ledger's attacker LP on a stale ledger."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from ansim.release import Candidate, ProjectLedger, ReleaseKind, ReleaseService, ReleaseStatus

from .conftest import PROJECT, Project

_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from ansim.errors import DisclosureCheckFailed
    from ansim.governance import Governance
    from ansim.release import ProjectLedger, ReleaseService

    home, workspace, release, out, go = sys.argv[1:]
    audit = ProjectLedger.audit

    def slow(self, new):  # widen the window between reading the ledger and recording
        found = audit(self, new)
        time.sleep(1.0)
        return found

    ProjectLedger.audit = slow
    gov = Governance(Path(home))
    service = ReleaseService(gov, "p1", Path(workspace))
    while not Path(go).exists():
        time.sleep(0.01)
    try:
        service.release("checker", release, Path(out))
        print("released")
    except DisclosureCheckFailed:
        print("refused")
    finally:
        gov.close()
    """
)


def _approved(service: ReleaseService, people: int) -> str:
    ids = frozenset(f"p{i:05d}" for i in range(people))
    candidate = Candidate(ReleaseKind.RATE_TABLE, "count", {"n.csv": b"n\n"}, {"n": ids}, 10)
    submitted = service.submit("analyst", candidate)
    service.approve("checker", submitted.id)
    service.approve("checker2", submitted.id)
    return submitted.id


def test_two_processes_releasing_at_once_cannot_both_pass(project: Project) -> None:
    service = ReleaseService(project.gov, PROJECT, project.workspace)
    # Each alone passes; together 42 − 40 isolates two people.
    first, second = _approved(service, 40), _approved(service, 42)
    assert service.audit(first).passed and service.audit(second).passed
    go = project.tmp / "go"
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _CHILD,
                str(project.home),
                str(project.workspace),
                release,
                str(project.tmp / f"out-{release}"),
                str(go),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for release in (first, second)
    ]
    go.touch()
    outcomes = sorted(c.communicate(timeout=120)[0].strip() for c in children)
    assert [c.returncode for c in children] == [0, 0]
    assert outcomes == ["refused", "released"]
    assert len(service.ledger.entries()) == 1
    statuses = sorted(service.get(r).status for r in (first, second))
    assert statuses == sorted([ReleaseStatus.RELEASED, ReleaseStatus.APPROVED])
    assert project.gov.verify_audit().ok


def test_the_lock_is_reentrant_within_a_thread(tmp_path: Path) -> None:
    ledger = ProjectLedger(tmp_path)
    with ledger.lock(), ledger.lock():  # a release records while it holds the lock
        ledger.record([])
    assert ledger.entries() == []
