"""The analyst's workspace: vetted SQL over the project's views and checked analyses.

Opening a workspace goes through governance (the analyst role, custodians' approvals, the
processing period; the key use is audited); the project's linked tables are copied from the
encrypted hub store into a locked-down in-memory sandbox, one view per dataset
(``linked_kostat_register`` → ``kostat_register``), which runs in a worker process under
operating-system resource limits (:class:`~ansim.workspace.SandboxWorker`). Analyses become
:class:`Output` objects held in the hub with their check report, and only reviewed outputs ever
leave (see :class:`~ansim.workspace.Review`). What a free query *shows* the analyst
(:meth:`Workspace.show`) is the project's row-access policy: rows of a dummy twin (``none``,
the default), at most 20 real rows (``preview``), or real rows at the declared workstation of a
``safe_setting``; every shown row is counted in the audit log.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from ansim._closing import Closing
from ansim.errors import AccessDenied, InvalidSpecError
from ansim.governance import (
    PREVIEW_ROWS,
    Governance,
    Operation,
    Role,
    RowAccess,
    RowAccessMode,
    RowAccessRegister,
    TwinKind,
    TwinOption,
    TwinOptionRegister,
)
from ansim.workspace._analyses import (
    ModelResult,
    TableResult,
    fit_model,
    histogram_table,
    survival_table,
    tabulate,
)
from ansim.workspace._checks import CheckReport, check_model, check_table
from ansim.workspace._differencing import differencing_check
from ansim.workspace._dp_twin import content_version, dp_twin, twin_label, twin_reports
from ansim.workspace._outputs import Output, OutputStatus, OutputStore
from ansim.workspace._persons import PERSON, person_lineage
from ansim.workspace._policy import CheckPolicy, strictest
from ansim.workspace._sql import tables_read, vet_sql
from ansim.workspace._twin import ColumnDomain, dummy_twin
from ansim.workspace._worker import ResourceLimits, SandboxWorker

__all__ = ["QueryAnswer", "Workspace", "view_name"]

_LINKED = "linked_"
_SIZE = re.compile(r"^\s*(\d+)\s*(MB|GB|MIB|GIB)\s*$", re.IGNORECASE)


def _megabytes(size: str) -> int:
    """``"512MB"`` → 512, ``"2GB"`` → 2048."""
    found = _SIZE.match(size)
    if not found:
        raise InvalidSpecError(f"a memory limit is a size such as '512MB' or '2GB', not {size!r}")
    number, unit = int(found.group(1)), found.group(2).upper()
    return number * 1024 if unit.startswith("G") else number


@dataclass(frozen=True)
class QueryAnswer:
    """What a free query shows the analyst, under the project's row-access policy.

    Attributes:
        columns: The result's column names.
        rows: The rows shown.
        row_access: The policy's mode.
        dummy: Whether the rows come from the dummy twin (never real records).
        row_count: The result's row count (``None`` under ``preview``: a count of real rows
            is a statistic that no check has seen).
        more: Whether the result has rows beyond those shown.
        label: What the rows are, in English and Korean.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    row_access: str
    dummy: bool
    row_count: int | None
    more: bool
    label: str

    def to_dict(self) -> dict[str, Any]:
        """The answer as plain data (the query endpoint's body)."""
        return {
            "columns": list(self.columns), "rows": [list(r) for r in self.rows],
            "row_access": self.row_access, "dummy": self.dummy, "row_count": self.row_count,
            "more": self.more, "label": self.label,
        }  # fmt: skip


def view_name(table: str) -> str:
    """The view name of a hub table (``linked_<dataset>`` → ``<dataset>``).

    Example:
        >>> view_name("linked_kostat_register")
        'kostat_register'
    """
    return table.removeprefix(_LINKED)


def _version(table: pa.Table) -> str:
    """A view's version: the SHA-256 of its rows in a canonical order (:func:`content_version`).

    The engine returns a view's rows in any order (parallel scans): the same content must
    show the output checkers the same version in every session.
    """
    return content_version(table)


class Workspace(Closing):
    """An analyst's session on one project's views.

    Args:
        governance: The governance service (authorisation and audit).
        actor: The analyst.
        project: The project.
        store: The project's encrypted hub store.
        home: The project's workspace directory in the hub (outputs, ledger).
        policies: Check thresholds by custodian; the strictest of the custodians whose views
            an analysis reads applies (custodians without one get the defaults).
        memory_limit: The sandbox's memory limit (ignored when ``limits`` is given).
        timeout_s: Each query's time limit (ignored when ``limits`` is given).
        limits: The worker's resource limits (memory, address space, spill, threads, time,
            rows).
        workstation: The workstation this session is served at (for a ``safe_setting``).
        domains: View → column → declared domain, for the dummy twin.

    Raises:
        AccessDenied: The actor may not query this project.
    """

    def __init__(
        self,
        governance: Governance,
        actor: str,
        project: str,
        store: Path,
        home: Path,
        *,
        policies: Mapping[str, CheckPolicy] | None = None,
        memory_limit: str = "512MB",
        timeout_s: float = 30.0,
        limits: ResourceLimits | None = None,
        workstation: str | None = None,
        domains: Mapping[str, Mapping[str, ColumnDomain]] | None = None,
    ) -> None:
        self.governance, self.actor, self.project = governance, actor, project
        self.limits = limits or ResourceLimits(
            memory_mb=_megabytes(memory_limit), timeout_s=timeout_s
        )
        self.workstation = workstation
        self.outputs = OutputStore(home)
        self.policies = dict(policies or {})
        with governance.open_hub_store(actor, project, store) as engine:
            tables = {
                view_name(t): engine.to_pyarrow(engine.table(t))
                for t in engine.list_tables()
                if t.startswith(_LINKED)  # the linked datasets only, nothing else in the store
            }
        record = governance.project(project)
        self._custodian = {
            view_name(f"linked_{d['dataset']}"): d["custodian"] for d in record["datasets"]
        }
        self.row_access: RowAccess = RowAccessRegister(governance).policy(project)
        self.twin_option: TwinOption = TwinOptionRegister(governance).option(project)
        self._home = home
        self._tables = tables
        self._domains = {v: dict(c) for v, c in (domains or {}).items()}
        self._workers: dict[bool, SandboxWorker] = {}
        self._columns = {name: list(t.column_names) for name, t in tables.items()}
        self._versions = {name: _version(t) for name, t in tables.items()}
        self._last: tuple[str, set[str], int, int] = ("", set(), 0, 0)

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """End the session (the worker processes and their views vanish)."""
        for worker in self._workers.values():
            worker.close()
        self._workers.clear()

    def _worker(self, *, real: bool = True) -> SandboxWorker:
        """The worker on the real views, or on their dummy twin (each started when first used)."""
        if real not in self._workers:
            tables = self._tables if real else self._twin()
            self._workers[real] = SandboxWorker(tables, self.limits)
        return self._workers[real]

    @functools.cached_property
    def _twin_versions(self) -> dict[str, str]:
        """Each view's version in a canonical row order (the twin's cache key)."""
        return {name: content_version(t) for name, t in self._tables.items()}

    @property
    def _seed(self) -> int:
        return int.from_bytes(hashlib.sha256(self.project.encode()).digest()[:4], "big")

    def _twin(self) -> dict[str, pa.Table]:
        """The views' dummy twin, of the kind the project's option names.

        A DP synthetic twin is read from the workspace's cache, or paid for from the
        project's budget ledger (before its view's rows are read) and fitted once per view
        version; a domain twin reads no row at all.
        """
        schemas = {name: t.schema for name, t in self._tables.items()}
        if self.twin_option.kind is not TwinKind.DP_SYNTHETIC:
            return dummy_twin(schemas, self._domains, seed=self._seed)
        return dp_twin(
            self.governance, self.actor, self.project, schemas, self._twin_versions,
            self._tables.__getitem__, option=self.twin_option, home=self._home,
            domains=self._domains, seed=self._seed,
        ).tables  # fmt: skip

    def twin_report(self) -> dict[str, Any]:
        """What the project's dummy twin is: its option and, per view, its utility report.

        Read from the workspace's cache only: nothing is fitted and nothing spent. A DP
        synthetic twin's report gives ρ and ε, the spend that paid for it, the columns
        modelled and generated, and the average and worst total variation distance of its 1-,
        2- and 3-way marginals from the real rows (computed at the hub; not DP).

        Returns:
            ``{"option": …, "views": {view: report}}``.
        """
        self.governance.authorize(
            self.actor, self.project, Operation.QUERY, objects={"twin_report": True}
        )
        schemas = {name: t.schema for name, t in self._tables.items()}
        views = twin_reports(
            schemas, self._twin_versions, option=self.twin_option, home=self._home,
            domains=self._domains, seed=self._seed,
        )  # fmt: skip
        return {"option": self.twin_option.to_dict(), "views": views}

    @property
    def _sandbox(self) -> SandboxWorker:
        return self._worker(real=True)

    # -- queries -----------------------------------------------------------------------------
    def views(self) -> dict[str, list[str]]:
        """The project's views and their columns."""
        return dict(self._columns)

    def show(self, sql: str, limit: int = PREVIEW_ROWS) -> QueryAnswer:
        """Run one free query and show what the project's row-access policy allows.

        ``none`` (the default) runs it on the dummy twin of the views and labels the answer;
        ``preview`` shows at most 20 real rows and no count; ``safe_setting`` shows real rows
        up to ``limit``, at the declared workstation only (elsewhere it acts as ``none``).
        The audit event records the policy, whether the rows were real and how many were shown.

        Args:
            sql: A single SELECT over the project's views.
            limit: The most rows to show.

        Returns:
            The rows shown and what they are.

        Raises:
            AccessDenied: Not a single read-only query over this project's views.
            InvalidSpecError: ``limit`` is not positive.
            EngineError: It ran out of time, memory or rows.
        """
        if limit < 1:
            raise InvalidSpecError("show at least one row (limit >= 1)")
        vetted = vet_sql(sql, self._columns)
        access = self.row_access
        real = access.shows_real_rows(self.workstation)
        mode = access.mode.value
        twin = {} if real else {"twin": self.twin_option.kind.value}
        self.governance.authorize(
            self.actor, self.project, Operation.QUERY,
            objects={"query_sha256": hashlib.sha256(vetted.encode()).hexdigest(), "sql": vetted,
                     "row_access": mode, "source": "real" if real else "dummy_twin", **twin},
        )  # fmt: skip
        result = self._worker(real=real).query(vetted)
        preview = real and access.mode is RowAccessMode.PREVIEW
        cap = min(limit, PREVIEW_ROWS) if preview else limit
        shown = result.slice(0, cap)
        self.governance.audit.append(
            actor=self.actor, role=Role.ANALYST.value, action="query_result",
            project=self.project,
            objects={"rows": result.num_rows, "rows_shown": shown.num_rows, "row_access": mode,
                     "source": "real" if real else "dummy_twin"},
        )  # fmt: skip
        self.governance.audit.publish_head()
        label = twin_label(self.twin_option) if not real else (
            f"real records ({mode}) / 실제 자료 ({mode}): every row shown is audited"
        )  # fmt: skip
        return QueryAnswer(
            columns=tuple(shown.column_names),
            rows=tuple(tuple(r.values()) for r in shown.to_pylist()),
            row_access=mode, dummy=not real,
            row_count=None if preview else result.num_rows,
            more=result.num_rows > shown.num_rows, label=label,
        )  # fmt: skip

    def query(self, sql: str) -> pa.Table:
        """Run one read-only query over the real views, for the hub's own use (never shown).

        The rows stay in the hub process: checked analyses are built on them. What an
        analyst may see of a free query is :meth:`show`.

        Args:
            sql: A single SELECT over the project's views.

        Returns:
            Its rows.

        Raises:
            AccessDenied: Not a single read-only query over this project's views.
            EngineError: It ran out of time, memory or rows.
        """
        vetted = vet_sql(sql, self._columns)
        self.governance.authorize(
            self.actor, self.project, Operation.QUERY,
            objects={"query_sha256": hashlib.sha256(vetted.encode()).hexdigest(), "sql": vetted},
        )  # fmt: skip
        result = self._sandbox.query(vetted)
        self.governance.audit.append(
            actor=self.actor, role=Role.ANALYST.value, action="query_result",
            project=self.project, objects={"rows": result.num_rows},
        )  # fmt: skip
        self.governance.audit.publish_head()
        return result

    def _frame(self, sql: str) -> tuple[pd.DataFrame, CheckPolicy]:
        vetted = vet_sql(sql, self._columns)
        table = self.query(sql)
        read = tables_read(vetted, self._columns)
        self._verify_persons(vetted, table, read)
        persons = len(set(table.column(PERSON).to_pylist())) if PERSON in table.column_names else 0
        self._last = (vetted, read, table.num_rows, persons)
        custodians = {self._custodian.get(v, "") for v in read}
        policy = strictest(self.policies.get(c, CheckPolicy()) for c in sorted(custodians))
        return table.to_pandas(), policy

    def _verify_persons(self, vetted: str, table: pa.Table, read: set[str]) -> None:
        """Refuse a person-level output whose person ids are not the views' own, unchanged.

        The output must carry ``person_id`` once and on every row, traced by lineage to a
        view's ``person_id`` with no expression in between; every id must be in those views
        (a semi-join), and every column named like a view column must hold each person's own
        value there. Repeated rows are allowed: the checks count distinct persons.
        """
        persons = sorted(v for v in read if PERSON in self._columns[v])
        if not persons:
            return
        names = table.column_names
        if names.count(PERSON) != 1:
            raise AccessDenied(
                f"select {PERSON} exactly once: outputs of person-level views are checked on "
                "the people behind them"
            )
        ids = table.column(PERSON)
        if ids.null_count:
            raise AccessDenied(
                f"{ids.null_count} rows have no {PERSON} (an outer join?): every row of a "
                "person-level output must belong to a person of the views"
            )
        sources = sorted(person_lineage(vetted, self._columns))
        if self._sandbox.unmatched(PERSON, ids, sources):
            raise AccessDenied(
                f"the query's {PERSON} values are not the views' person ids: take "
                f"{PERSON} unchanged out of a view"
            )
        for i, name in enumerate(names):
            holders = [v for v in persons if name in self._columns[v]]
            if name == PERSON or not holders:
                continue
            if self._sandbox.unmatched(PERSON, ids, holders, name, table.column(i)):
                raise AccessDenied(
                    f"column {name!r} of the output is not each person's own {name!r} in "
                    f"{', '.join(holders)}: give a derived or joined column a new name"
                )

    # -- checked analyses --------------------------------------------------------------------
    def _table_output(  # noqa: PLR0917 - the parts of a table output
        self,
        result: TableResult,
        statistic: str,
        method: str,
        command: str,
        policy: CheckPolicy,
        q: float = 0.5,
    ) -> Output:
        report = check_table(result.stats, statistic, policy, q=q)
        cells = {k: frozenset(v) for k, v in result.cells.items()}
        report = report.with_result(
            differencing_check(cells, self.outputs.released_cells(), policy.threshold)
        )
        return self._save(method, statistic, command, result.columns, result.rows, report,
                          result.cells)  # fmt: skip

    def _save(  # noqa: PLR0917 - the parts of an output
        self,
        method: str,
        statistic: str,
        command: str,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        report: CheckReport,
        cells: dict[str, list[str]] | None,
    ) -> Output:
        output = Output(
            id=self.outputs.next_id(), project=self.project, author=self.actor, method=method,
            statistic=statistic, command=command, columns=tuple(columns), rows=tuple(rows),
            report=report, sql=self._last[0],
            views={v: self._versions[v] for v in sorted(self._last[1])},
            row_count=self._last[2], person_count=self._last[3],
        )  # fmt: skip
        self.outputs.save(output, cells)
        self.governance.authorize(
            self.actor, self.project, Operation.QUERY,
            objects={"output": output.id, "method": method, "checks_passed": report.passed},
        )  # fmt: skip
        return output

    def crosstab(self, sql: str, dimensions: Sequence[str]) -> Output:
        """Counts over one or more dimensions (a frequency table or cross-tabulation).

        Args:
            sql: The rows (a query selecting ``person_id`` and the dimensions).
            dimensions: Classifying columns; the last is the category for class disclosure.

        Returns:
            The output, held with its check report.
        """
        frame, policy = self._frame(sql)
        result = tabulate(frame, dimensions)
        return self._table_output(
            result, "count", "crosstab", f"crosstab({list(dimensions)})", policy
        )

    def pivot_table(
        self, sql: str, dimensions: Sequence[str], value: str, statistic: str, q: float = 0.5
    ) -> Output:
        """A statistic of ``value`` per cell (sum, mean, median, quantile, min, max, std, count).

        Args:
            sql: The rows (with ``person_id``).
            dimensions: Classifying columns.
            value: The column summarised.
            statistic: The statistic.
            q: The quantile for ``quantile``.

        Returns:
            The output, held with its check report.
        """
        frame, policy = self._frame(sql)
        result = tabulate(
            frame, dimensions, statistic, None if statistic == "count" else value, q=q
        )
        command = f"pivot_table({list(dimensions)}, values={value!r}, aggfunc={statistic!r})"
        return self._table_output(result, statistic, "pivot_table", command, policy, q)

    def histogram(self, sql: str, column: str, bins: int | Sequence[float] = 10) -> Output:
        """A histogram of a numeric column (bin counts, each checked like a table cell)."""
        frame, policy = self._frame(sql)
        result = histogram_table(frame, column, bins)
        return self._table_output(
            result, "histogram", "histogram", f"histogram({column!r}, bins={bins!r})", policy
        )

    def survival(self, sql: str, duration: str, event: str, edges: Sequence[float]) -> Output:
        """A life table of events and censoring per interval of follow-up."""
        frame, policy = self._frame(sql)
        result = survival_table(frame, duration, event, edges)
        return self._table_output(
            result, "count", "survival", f"survival({duration!r}, {event!r})", policy
        )

    def _model(self, sql: str, formula: str, kind: str) -> Output:
        frame, policy = self._frame(sql)
        fitted: ModelResult = fit_model(frame, formula, kind)
        report = check_model(
            fitted.residual_dof, policy, fitted.terms,
            max_leverage=fitted.max_leverage, exact_fit=fitted.exact_fit,
        )  # fmt: skip
        return self._save(
            kind, "model", f"{kind}({formula!r})", fitted.columns, fitted.rows, report, None
        )

    def ols(self, sql: str, formula: str) -> Output:
        """An ordinary least squares model (statsmodels formula), checked on residual dof."""
        return self._model(sql, formula, "ols")

    def logit(self, sql: str, formula: str) -> Output:
        """A logistic regression (statsmodels formula), checked on residual dof."""
        return self._model(sql, formula, "logit")

    # -- submission --------------------------------------------------------------------------
    def submit(self, output: str) -> Output:
        """Send an output to review: it goes to the queue if its checks pass, else it is held.

        Raises:
            AccessDenied: Not the author's output, or not a draft.
        """
        found = self._own(output, OutputStatus.DRAFT)
        status = OutputStatus.SUBMITTED if found.report.passed else OutputStatus.HELD
        self.governance.authorize(
            self.actor, self.project, Operation.SUBMIT_OUTPUT,
            objects={"output": output, "status": status.value},
        )  # fmt: skip
        updated = found.evolve(status=status)
        self.outputs.save(updated)
        return updated

    def request_exception(self, output: str, justification: str) -> Output:
        """Ask the output checkers to release a held output anyway, saying why.

        Raises:
            AccessDenied: Not the author's output, or not held.
            InvalidSpecError: No justification.
        """
        if len(justification.strip()) < 10:  # noqa: PLR2004 - a sentence, not a word
            raise InvalidSpecError("an exception needs a justification of at least a sentence")
        found = self._own(output, OutputStatus.HELD)
        self.governance.authorize(
            self.actor, self.project, Operation.SUBMIT_OUTPUT,
            objects={"output": output, "exception": True},
        )  # fmt: skip
        updated = found.evolve(status=OutputStatus.SUBMITTED, exception=justification.strip())
        self.outputs.save(updated)
        return updated

    def _own(self, output: str, status: OutputStatus) -> Output:
        found = self.outputs.get(output)
        if found.author != self.actor:
            raise AccessDenied(f"output {output} is not yours: only its author submits it")
        if found.status != status:
            raise AccessDenied(f"output {output} is {found.status}, not {status}")
        return found

    def output(self, output: str) -> Output:
        """One of this project's outputs."""
        return self.outputs.get(output)
