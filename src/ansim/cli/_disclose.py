"""Disclosure-control commands: ``ansim disclose microdata`` and ``ansim disclose table``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ansim.cli._app import app, console
from ansim.cli._release import ServerOpt

if TYPE_CHECKING:
    from ansim.disclosure import Hierarchy, Records, SuppressionRule

__all__: list[str] = []

disclose_app = typer.Typer(
    help="Statistical disclosure control: anonymise microdata, protect tables.",
    no_args_is_help=True,
)
app.add_typer(disclose_app, name="disclose")


_NAMED_DELIMITERS = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def _delimiter(text: str) -> str:
    r"""``\t``, ``tab``, ``comma``, ``semicolon`` and ``pipe`` name their characters."""
    return _NAMED_DELIMITERS.get(text.lower(), text)


def _read(path: Path, delimiter: str, encoding: str | None) -> Records:
    """The usable records of ``path``; unreadable rows are quarantined, not refused."""
    from ansim.disclosure import read_records

    return read_records(path, delimiter=_delimiter(delimiter), encoding=encoding)


def _quarantined(records: Records, path: Path | None) -> str:
    """Write the quarantine list to ``path`` and say what was set aside (``""`` if nothing)."""
    if path is not None:
        records.write_quarantine(path)
    if not records.rows_quarantined:
        return ""
    where = f"listed in {path}" if path is not None else "give --out to write the list"
    return (
        f"; {records.rows_quarantined:,} of {records.rows_read:,} rows could not be read and "
        f"were set aside ({where})"
    )


def _builtin(specs: list[str]) -> dict[str, Hierarchy]:
    """Built-in hierarchies from ``attr=age``, ``attr=sigungu`` or ``attr=date:START:END``."""
    import datetime as dt

    from ansim.disclosure import age_hierarchy, date_hierarchy, sigungu_hierarchy
    from ansim.errors import InvalidSpecError

    found: dict[str, Hierarchy] = {}
    for spec in specs:
        attribute, _, kind = spec.partition("=")
        name, *args = kind.split(":")
        try:
            if name == "age" and not args:
                found[attribute] = age_hierarchy(attribute)
            elif name == "sigungu" and not args:
                found[attribute] = sigungu_hierarchy(attribute)
            elif name == "date" and len(args) == 2:  # noqa: PLR2004 - start and end
                start, end = (dt.date.fromisoformat(a) for a in args)
                found[attribute] = date_hierarchy(attribute, start, end)
            else:
                raise ValueError(name)
        except ValueError as e:
            raise InvalidSpecError(
                f"--builtin {spec!r}: use ATTR=age, ATTR=sigungu or ATTR=date:YYYY-MM-DD:YYYY-MM-DD"
            ) from e
    return found


class _LVariant(StrEnum):
    distinct = "distinct"
    entropy = "entropy"
    recursive = "recursive"


@disclose_app.command("microdata")
def disclose_microdata(
    *,
    input_path: Annotated[Path, typer.Option("--input", help="Delimited file with a header.")],
    hierarchies: Annotated[
        Path | None,
        typer.Option("--hierarchies", help="Folder of ARX hierarchies '<anything>_<attr>.csv'."),
    ] = None,
    qi: Annotated[str, typer.Option("--qi", help="Quasi-identifiers, comma-separated.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the CSV and report.json.")],
    k: Annotated[int, typer.Option("--k", help="k-anonymity: smallest class size.")] = 2,
    suppression_limit: Annotated[
        float, typer.Option("--suppression-limit", help="Fraction of records that may go.")
    ] = 0.0,
    metric: Annotated[
        str, typer.Option("--metric", help="loss (ARX's), entropy, discernibility or aecs.")
    ] = "loss",
    delimiter: Annotated[str, typer.Option("--delimiter", help="Field separator.")] = ",",
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="Input encoding (default: UTF-8, CP949).")
    ] = None,
    hierarchy_delimiter: Annotated[
        str, typer.Option("--hierarchy-delimiter", help="Separator in hierarchy files.")
    ] = ";",
    sensitive: Annotated[
        str | None, typer.Option("--sensitive", help="Sensitive attribute (l-div., t-closeness).")
    ] = None,
    l_value: Annotated[float | None, typer.Option("--l", help="l-diversity's l.")] = None,
    l_variant: Annotated[_LVariant, typer.Option("--l-variant")] = _LVariant.distinct,
    c_value: Annotated[float, typer.Option("--c", help="Recursive (c,l)-diversity's c.")] = 3.0,
    builtin: Annotated[
        list[str] | None,
        typer.Option("--builtin", help="Built-in hierarchy: ATTR=age|sigungu|date:START:END."),
    ] = None,
    t_value: Annotated[float | None, typer.Option("--t", help="t-closeness's t.")] = None,
    keep: Annotated[
        str | None,
        typer.Option("--keep", help="Further columns to write, comma-separated (default none)."),
    ] = None,
    spec_path: Annotated[
        Path | None,
        typer.Option("--spec", help="Dataset spec: its direct identifiers may not be kept."),
    ] = None,
) -> None:
    """Anonymise microdata optimally (ARX-compatible Loss) and write the CSV and report.json.

    The CSV holds only the quasi-identifiers, the sensitive attribute and the ``--keep``
    columns; report.json lists the columns dropped. Rows the reader cannot take (wrong column
    count, unclosed quote, NUL or control characters, invalid Unicode) are left out and listed
    in OUT/quarantine.csv (row, line range, reason; no values); report.json counts them.
    """
    from ansim.disclosure import (
        QUARANTINE_FILE,
        DistinctLDiversity,
        EntropyLDiversity,
        KAnonymity,
        PrivacyModel,
        QualityModel,
        RecursiveCLDiversity,
        TCloseness,
        anonymise,
        output_columns,
        risk_report,
        write_anonymisation,
    )
    from ansim.errors import InvalidSpecError
    from ansim.schema import DatasetSpec

    started = time.perf_counter()
    kept = [name.strip() for name in (keep or "").split(",") if name.strip()]
    direct = (
        []
        if spec_path is None
        else [c.name for c in DatasetSpec.from_yaml(spec_path).direct_identifiers]
    )
    names = [name.strip() for name in qi.split(",") if name.strip()]
    try:
        quality = QualityModel(metric.lower())
    except ValueError as e:
        choices = ", ".join(q.value for q in QualityModel)
        raise InvalidSpecError(f"unknown metric {metric!r}; choose one of {choices}") from e
    if out.exists() and not out.is_dir():
        raise InvalidSpecError(f"--out {out} is a file; give a folder")
    records = _read(input_path, delimiter, encoding)
    table = records.table
    columns, _ = output_columns(
        table, names, [sensitive] if sensitive else [], kept, direct_identifiers=direct
    )
    found = _microdata_hierarchies(names, builtin or [], hierarchies, hierarchy_delimiter)
    models: list[PrivacyModel] = [KAnonymity(k)]
    if l_value is not None:
        if l_variant is _LVariant.distinct:
            models.append(DistinctLDiversity(int(l_value)))
        elif l_variant is _LVariant.entropy:
            models.append(EntropyLDiversity(l_value))
        else:
            models.append(RecursiveCLDiversity(c_value, int(l_value)))
    if t_value is not None:
        # A hierarchy file for the sensitive attribute selects the hierarchical distance.
        own = _table_hierarchies(hierarchies, [sensitive] if sensitive else [], hierarchy_delimiter)
        models.append(TCloseness(t_value, own.get(sensitive or "")))
    result = anonymise(
        table,
        found,
        names,
        models,
        suppression_limit=suppression_limit,
        quality=quality,
        sensitive=sensitive,
    )
    risk = risk_report(table, result.table, names)
    write_anonymisation(
        result,
        out,
        columns=columns,
        delimiter=_delimiter(delimiter),
        extra={
            "risk": risk,
            "seconds": round(time.perf_counter() - started, 3),
            "search_seconds": round(result.seconds, 3),
            "output": "anonymised.csv",
            **records.counts(),
        },
    )
    note = _quarantined(records, out / QUARANTINE_FILE)
    levels = ", ".join(f"{a} {lv}" for a, lv in result.levels.items())
    console.print(
        f"levels: {levels}; {quality.value} {result.score:.6f}; "
        f"{result.suppressed:,} of {result.records:,} records suppressed{note} → {out}"
    )


def _microdata_hierarchies(
    names: list[str], builtin: list[str], folder: Path | None, delimiter: str
) -> dict[str, Hierarchy]:
    """Built-in hierarchies first, the rest from ARX files in ``folder``."""
    from ansim.disclosure import load_hierarchies
    from ansim.errors import InvalidSpecError

    found = _builtin(builtin)
    from_files = [n for n in names if n not in found]
    if from_files and folder is None:
        raise InvalidSpecError(
            f"no hierarchy for {', '.join(from_files)}; give --hierarchies DIR or --builtin"
        )
    if from_files and folder is not None:
        found |= load_hierarchies(folder, from_files, delimiter=_delimiter(delimiter))
    return found


def _table_hierarchies(
    folder: Path | None, dimensions: list[str], delimiter: str
) -> dict[str, Hierarchy]:
    """Hierarchies for those of ``dimensions`` that have a file in ``folder`` (others: none)."""
    from ansim.disclosure import load_hierarchies

    if folder is None:
        return {}
    if not folder.is_dir():
        from ansim.errors import InvalidSpecError

        raise InvalidSpecError(f"hierarchy folder {folder} does not exist")
    names = [p.name.lower() for p in folder.iterdir() if p.is_file()]
    present = [
        d
        for d in dimensions
        if any(n == f"{d.lower()}.csv" or n.endswith(f"_{d.lower()}.csv") for n in names)
    ]
    return load_hierarchies(folder, present, delimiter=_delimiter(delimiter))


def _rules(threshold: int | None, dominance: str | None, p: float | None) -> list[SuppressionRule]:
    """The primary suppression rules named on the command line."""
    from ansim.disclosure import primary_rules
    from ansim.errors import InvalidSpecError

    parsed: tuple[int, float] | None = None
    if dominance:
        try:
            n_text, k_text = dominance.split(",")
            parsed = (int(n_text), float(k_text))
        except ValueError as e:
            raise InvalidSpecError(f"--dominance must look like '1,80', not {dominance!r}") from e
    return primary_rules(threshold, parsed, p)


@disclose_app.command("table")
def disclose_table(
    *,
    input_path: Annotated[Path, typer.Option("--input", help="Records, delimited, with header.")],
    by: Annotated[
        list[str],
        typer.Option("--by", help="Classifying columns, comma-separated; repeat to link tables."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for table.csv and report.json.")],
    value: Annotated[
        str | None, typer.Option("--value", help="Magnitude column to sum (default: counts).")
    ] = None,
    contributor: Annotated[
        str | None, typer.Option("--contributor", help="Column identifying contributors.")
    ] = None,
    hierarchies: Annotated[
        Path | None, typer.Option("--hierarchies", help="ARX hierarchies giving nested margins.")
    ] = None,
    threshold: Annotated[
        int | None, typer.Option("--threshold", help="Smallest publishable contributor count.")
    ] = 10,
    dominance: Annotated[
        str | None, typer.Option("--dominance", help="(n,k) dominance as 'n,k', e.g. '1,80'.")
    ] = None,
    p_percent: Annotated[float | None, typer.Option("--p", help="p% rule's p.")] = None,
    method: Annotated[
        str, typer.Option("--method", help="Secondary suppression: heuristic or optimal.")
    ] = "heuristic",
    delimiter: Annotated[str, typer.Option("--delimiter", help="Field separator.")] = ",",
    encoding: Annotated[str | None, typer.Option("--encoding")] = None,
    hierarchy_delimiter: Annotated[str, typer.Option("--hierarchy-delimiter")] = ";",
    round_base: Annotated[
        int | None,
        typer.Option("--round", help="Controlled rounding to this base instead of suppression."),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project", help="Upload the records to the hub's server; submit the table there."
        ),
    ] = None,
    server: ServerOpt = None,
) -> None:
    """Tabulate records with all margins, suppress sensitive cells, protect them, audit.

    OUT/table.csv shows every withheld cell as ``x`` (no status; the statuses are in
    OUT/report.json) and is safe to open in a spreadsheet. With --project (and --contributor
    naming the persons' or firms' id column) this is a client of the hub's server ('ansim
    login' first): the records file is uploaded, read and protected on the server and the
    table submitted to the project's release path (OUT gets the submitted files): only two
    output checkers' approvals and ``ansim release publish`` release it, after the ledger's
    attacker LP. Rows the reader cannot take are left out and listed in OUT/quarantine.csv
    (no values); report.json counts them (rows_read = rows_used + rows_quarantined).
    """
    from ansim.disclosure import (
        QUARANTINE_FILE,
        SecondaryMethod,
        link_tables,
        protect_cells,
        tabulate,
        write_protected_table,
    )
    from ansim.errors import InvalidSpecError

    started = time.perf_counter()
    tables = [[d.strip() for d in spec.split(",") if d.strip()] for spec in by]
    dimensions = list(dict.fromkeys(d for t in tables for d in t))
    rules = _rules(threshold, dominance, p_percent)
    try:
        chosen = SecondaryMethod(method.lower())
    except ValueError as e:
        raise InvalidSpecError(f"--method must be heuristic or optimal, not {method!r}") from e
    if project is not None:
        _Submitted(project, server, contributor, out).send(
            input_path, by, value=value, threshold=threshold, dominance=dominance, p=p_percent,
            method=chosen.value, delimiter=_delimiter(delimiter), encoding=encoding,
            refused={"--round": round_base, "--hierarchies": hierarchies},
        )  # fmt: skip
        return
    records = _read(input_path, delimiter, encoding)
    table = records.table
    found = _table_hierarchies(hierarchies, dimensions, hierarchy_delimiter)
    if round_base is not None:
        from ansim.disclosure import controlled_rounding, write_rounded_table

        cells = link_tables(*(tabulate(table, t, value=value, hierarchies=found) for t in tables))
        rounded = controlled_rounding(cells, round_base)
        write_rounded_table(
            rounded, out, delimiter=_delimiter(delimiter),
            extra={"seconds": round(time.perf_counter() - started, 3), **records.counts()},
        )  # fmt: skip
        note = _quarantined(records, out / QUARANTINE_FILE)
        console.print(
            f"{cells.cells:,} cells rounded to base {round_base}: {rounded.changed:,} changed"
            f"{note} → {out}"
        )
        return
    cells = link_tables(
        *(
            tabulate(table, t, value=value, hierarchies=found, contributor=contributor)
            for t in tables
        )
    )
    protected = protect_cells(cells, rules, method=chosen)
    extra = {"seconds": round(time.perf_counter() - started, 3), **records.counts()}
    write_protected_table(protected, out, delimiter=_delimiter(delimiter), extra=extra)
    note = _quarantined(records, out / QUARANTINE_FILE)
    s = protected.summary()
    console.print(
        f"{s['cells']:,} cells: {s['primary']:,} sensitive, {s['secondary']:,} secondary; "
        f"audit {'passed' if s['audit_passed'] else 'FAILED'}{note} → {out}"
    )


@dataclass(frozen=True)
class _Submitted:
    """Where ``disclose table --project`` submits its table: the hub's server."""

    project: str
    server: str | None
    contributor: str | None
    out: Path

    def send(self, records: Path, by: list[str], *, refused: dict[str, Any], **rules: Any) -> None:
        """Upload the records; the server protects and submits the table; OUT gets its files.

        Raises:
            InvalidSpecError: No contributor column, or an option the server does not take.
        """
        from ansim.cli._release import hub_client
        from ansim.errors import InvalidSpecError

        if self.contributor is None:
            raise InvalidSpecError(
                "--project needs --contributor (the column of the persons' or firms' ids the "
                "ledger audits)"
            )
        given = [flag for flag, v in refused.items() if v is not None]
        if given:
            raise InvalidSpecError(
                f"{', '.join(given)} with --project: the server protects exact, suppressed "
                "tables over the built-in margins; submit without it"
            )
        if not rules.get("threshold"):
            raise InvalidSpecError(
                "--project needs --threshold of at least 1: the ledger audits the groups below it"
            )
        if self.out.exists() and not self.out.is_dir():
            raise InvalidSpecError(f"--out {self.out} is a file; give a folder")
        if not records.is_file():
            raise InvalidSpecError(f"input file {records} does not exist")
        fields = {"by": by, "contributor": self.contributor, **rules}
        with hub_client(self.server) as client:
            done = client.releases.submit_table(self.project, records, fields)
            submitted = str((done.get("submission") or {}).get("id"))
            files = client.releases.fetch(self.project, submitted)
        self._write(files)
        q = done.get("quarantine") or {}
        s = done.get("summary") or {}
        console.print(
            f"{q.get('rows_used', 0):,} of {q.get('rows_read', 0):,} rows used, "
            f"{q.get('rows_quarantined', 0):,} quarantined by the server; {s.get('cells', 0):,} "
            f"cells: {s.get('primary', 0):,} sensitive, {s.get('secondary', 0):,} secondary; "
            f"submitted as {submitted} to {self.project}'s release path: two output checkers "
            f"approve it, then 'ansim release publish' releases it → {self.out}",
            highlight=False,
        )

    def _write(self, files: dict[str, bytes]) -> None:
        from ansim._atomic import write_bytes_atomic

        for name, data in files.items():
            if Path(name).name == name and not name.startswith("."):
                write_bytes_atomic(data, self.out / name)


@disclose_app.command("risk")
def disclose_risk(
    *,
    input_path: Annotated[Path, typer.Option("--input", help="Records, delimited, with header.")],
    qi: Annotated[str, typer.Option("--qi", help="Quasi-identifiers, comma-separated.")],
    out: Annotated[Path | None, typer.Option("--out", help="JSON file to write.")] = None,
    threshold: Annotated[
        float, typer.Option("--threshold", help="A record is at risk above this.")
    ] = 0.2,
    sampling_fraction: Annotated[
        float | None, typer.Option("--sampling-fraction", help="Share of the population held.")
    ] = None,
    delimiter: Annotated[str, typer.Option("--delimiter", help="Field separator.")] = ",",
    encoding: Annotated[str | None, typer.Option("--encoding")] = None,
) -> None:
    """Measure re-identification risk (prosecutor, journalist, marketer, uniques).

    Rows the reader cannot take are left out and counted; with --out F.json they are listed in
    F.quarantine.csv beside it (row, line range, reason; no values).
    """
    import json

    from rich.console import Console

    from ansim._atomic import write_text_atomic
    from ansim.disclosure import risk_profile

    records = _read(input_path, delimiter, encoding)
    names = [name.strip() for name in qi.split(",") if name.strip()]
    profile = risk_profile(
        records.table, names, threshold=threshold, sampling_fraction=sampling_fraction
    ).to_dict()
    # The quarantine list sits beside the JSON file: risk.json → risk.quarantine.csv.
    listing = None if out is None else out.with_name(f"{out.stem}.quarantine.csv")
    report = {"quasi_identifiers": names, **profile, **records.counts()}
    if listing is not None:
        report["quarantine_file"] = listing.name
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if out is not None:
        write_text_atomic(text + "\n", out)
    note = _quarantined(records, listing)
    console.print(text, highlight=False)
    if note:
        Console(stderr=True).print(f"note: {note.removeprefix('; ')}", highlight=False)
