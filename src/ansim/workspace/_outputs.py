"""Outputs held in the hub: the aggregated result, its check report and its review state.

An output never holds a record: tables hold one row per cell (labels and the statistic), models
one row per term. The per-cell sets of person ids needed for the differencing ledger are kept
beside it in the hub and never leave it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa

from ansim._atomic import write_text_atomic
from ansim.errors import InvalidSpecError
from ansim.workspace._checks import CheckReport

__all__ = ["WORKSPACE_PREFIX", "Output", "OutputStatus", "OutputStore", "ReviewDecision"]

WORKSPACE_PREFIX = "workspace "
"""How the project's release ledger names a workspace output (``workspace out-0001``)."""

_ID = re.compile(r"^out-[0-9]{4,}$")


class OutputStatus(StrEnum):
    """Where an output is in its life: draft → submitted or held → approved → released."""

    DRAFT = "draft"
    HELD = "held"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    RELEASED = "released"


@dataclass(frozen=True)
class ReviewDecision:
    """One output checker's decision on an output."""

    reviewer: str
    approve: bool
    comment: str
    at: str

    def __post_init__(self) -> None:
        """Require a comment on a rejection."""
        if not self.approve and not self.comment.strip():
            raise InvalidSpecError("a rejection needs a comment saying what to change")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Output:
    """An analysis result held in the hub with its disclosure-check report.

    Attributes:
        id: ``out-0001`` …
        project: The project.
        author: The analyst who made it.
        method: ``crosstab``, ``pivot_table``, ``histogram``, ``ols``, ``logit``, ``survival``.
        statistic: The statistic tabulated (``count``, ``mean`` …; ``model`` for models).
        command: The call that made it (for the results file).
        columns: Column names of the result.
        rows: The result's rows (cells or model terms, never records).
        report: The automatic checks' report.
        status: Review state.
        reviews: Output checkers' decisions.
        exception: The author's justification when asking for an exception.
        created: When it was made (UTC, ISO 8601).
        sql: The full vetted SQL that chose its rows (what the checker reads).
        views: The views it read and each one's version (SHA-256 of its content).
        row_count: Rows the query returned.
        person_count: Distinct persons behind it (0 when not person-level).
    """

    id: str
    project: str
    author: str
    method: str
    statistic: str
    command: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    report: CheckReport
    status: OutputStatus = OutputStatus.DRAFT
    reviews: tuple[ReviewDecision, ...] = ()
    exception: str = ""
    created: str = field(default_factory=_now)
    sql: str = ""
    views: dict[str, str] = field(default_factory=dict)
    row_count: int = 0
    person_count: int = 0

    def __post_init__(self) -> None:
        """Check the id and the row shape."""
        if not _ID.match(self.id):
            raise InvalidSpecError(f"output id {self.id!r} is not of the form out-0001")
        if any(len(r) != len(self.columns) for r in self.rows):
            raise InvalidSpecError(f"output {self.id}: rows differ in length from the columns")

    @property
    def approvals(self) -> tuple[str, ...]:
        """Reviewers who approved it."""
        return tuple(r.reviewer for r in self.reviews if r.approve)

    def table(self) -> pa.Table:
        """The result as an Arrow table."""
        return pa.table({c: [r[i] for r in self.rows] for i, c in enumerate(self.columns)})

    def evolve(self, **changes: Any) -> Output:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON)."""
        return {
            "id": self.id,
            "project": self.project,
            "author": self.author,
            "method": self.method,
            "statistic": self.statistic,
            "command": self.command,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
            "report": self.report.to_dict(),
            "status": self.status.value,
            "reviews": [r.__dict__ for r in self.reviews],
            "exception": self.exception,
            "created": self.created,
            "sql": self.sql,
            "views": dict(self.views),
            "row_count": self.row_count,
            "person_count": self.person_count,
        }

    def shown_to(self, reader: str, *, checker: bool, real_rows: bool) -> dict[str, Any]:
        """The output as one reader may see it (what every route and page returns).

        Its cells, coefficients, row and person counts and the checks' measured figures are
        what the output checkers review: an analyst sees them once the output is released,
        or where the project's row-access policy already shows them real rows (``preview``,
        or ``safe_setting`` at its workstation). Before that the author, at home, sees the
        check verdicts and which cells fail, not the figures (else the release checks would
        guard nothing from the one who ran the query), and the project's other analysts see
        only its state (no rows, no comments, no justification).

        Args:
            reader: The user asking.
            checker: Whether they are an output checker of the project.
            real_rows: Whether the project's row-access policy shows them real rows here.

        Returns:
            Plain data (JSON); ``withheld`` says what was left out and why.

        Example:
            >>> from ansim.workspace._checks import CheckReport
            >>> out = Output("out-0001", "p1", "ana", "crosstab", "count", "crosstab(['sex'])",
            ...              ("sex", "count"), (("F", 3),), CheckReport(()), person_count=3)
            >>> seen = out.shown_to("ana", checker=False, real_rows=False)
            >>> seen["rows"], seen["person_count"], out.shown_to("chk", checker=True,
            ...     real_rows=False)["rows"]
            ([], None, [['F', 3]])
        """
        full = self.to_dict()
        if checker or real_rows or self.status is OutputStatus.RELEASED:
            return full
        report = dict(full["report"])
        report["results"] = [
            {k: v for k, v in r.items() if k != "measured"} for r in report["results"]
        ]
        withheld = full | {
            "rows": [], "row_count": None, "person_count": None, "report": report,
            "withheld": (
                "cells, counts and measured figures are shown to the output checkers until "
                "the output is released / 반출 승인 전에는 셀 값과 인원 수를 출력 검토자만 봅니다"
            ),
        }  # fmt: skip
        if reader != self.author:
            withheld |= {"reviews": [], "exception": ""}
        return withheld

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Output:
        """Read an output back."""
        return cls(
            id=data["id"],
            project=data["project"],
            author=data["author"],
            method=data["method"],
            statistic=data["statistic"],
            command=data["command"],
            columns=tuple(data["columns"]),
            rows=tuple(tuple(r) for r in data["rows"]),
            report=CheckReport.from_dict(data["report"]),
            status=OutputStatus(data["status"]),
            reviews=tuple(ReviewDecision(**r) for r in data["reviews"]),
            exception=data["exception"],
            created=data["created"],
            sql=data.get("sql", ""),
            views=dict(data.get("views", {})),
            row_count=int(data.get("row_count", 0)),
            person_count=int(data.get("person_count", 0)),
        )


class OutputStore:
    """A project's outputs, their cell sets and its release ledger, as files in the hub.

    Layout under ``root``: ``outputs/<id>.json``, ``cells/<id>.json`` (person ids per cell, for
    the differencing ledger; never released) and ``ledger.json`` (released output ids in order).
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, kind: str, output: str) -> Path:
        if not _ID.match(output):
            raise InvalidSpecError(f"output id {output!r} is not of the form out-0001")
        return self.root / kind / f"{output}.json"

    def next_id(self) -> str:
        """A fresh output id."""
        taken = [int(p.stem[4:]) for p in (self.root / "outputs").glob("out-*.json")]
        return f"out-{max(taken, default=0) + 1:04d}"

    def save(self, output: Output, cells: dict[str, list[str]] | None = None) -> None:
        """Store an output (and, for tables, the person ids of each cell)."""
        if cells is not None:
            write_text_atomic(json.dumps(cells), self._path("cells", output.id))
        write_text_atomic(
            json.dumps(output.to_dict(), ensure_ascii=False, indent=1, default=str),
            self._path("outputs", output.id),
        )

    def get(self, output: str) -> Output:
        """An output by id.

        Raises:
            InvalidSpecError: No such output.
        """
        path = self._path("outputs", output)
        if not path.is_file():
            raise InvalidSpecError(f"no output {output!r} in this project's workspace")
        return Output.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def all(self) -> list[Output]:
        """Every output, oldest first."""
        return [self.get(p.stem) for p in sorted((self.root / "outputs").glob("out-*.json"))]

    def cells(self, output: str) -> dict[str, frozenset[str]]:
        """The person ids per cell of a table output (empty for models)."""
        path = self._path("cells", output)
        if not path.is_file():
            return {}
        data: dict[str, list[str]] = json.loads(path.read_text(encoding="utf-8"))
        return {k: frozenset(v) for k, v in data.items()}

    def ledger(self) -> list[str]:
        """Ids of released outputs, in release order."""
        path = self.root / "ledger.json"
        if not path.is_file():
            return []
        released: list[str] = json.loads(path.read_text(encoding="utf-8"))
        return released

    def released_cells(self) -> dict[str, dict[str, frozenset[str]]]:
        """Released cells' person ids by release, from every release path of the project.

        This workspace's tables are keyed by output id; the project's other person-level
        releases (rate tables, protected tables) by their ledger id.
        """
        from ansim.release import ProjectLedger  # noqa: PLC0415 - the release package is heavier

        mine = {o: self.cells(o) for o in self.ledger()}
        others = {
            r.release: dict(r.cells)
            for r in ProjectLedger(self.root).released()
            if r.unit == "person" and not r.release.startswith(WORKSPACE_PREFIX)
        }
        return mine | others

    def add_to_ledger(self, outputs: list[str]) -> None:
        """Record outputs as released."""
        write_text_atomic(json.dumps([*self.ledger(), *outputs]), self.root / "ledger.json")
