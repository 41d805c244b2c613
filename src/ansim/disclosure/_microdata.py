"""Microdata anonymisation: read, search the lattice, generalise and suppress, write with a report.

The search runs in NumPy over the distinct combinations of the quasi-identifiers held in memory
(one machine; 10 million records with 6 QIs fit easily). Reading and writing use PyArrow's CSV
reader and writer. The big-data path (group-by counts pushed to DuckDB or Spark through
``ansim.engine``) is not built yet.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ansim._atomic import write_bytes_atomic, write_text_atomic
from ansim._safecsv import neutralise_table
from ansim.disclosure._encoded import Encoded, encode
from ansim.disclosure._hierarchy import Hierarchy
from ansim.disclosure._metrics import QualityModel, Scorer
from ansim.disclosure._models import PrivacyModel
from ansim.disclosure._records import read_rows, text_table
from ansim.disclosure._search import SearchResult, optimal_search
from ansim.errors import IngestError, InvalidSpecError
from ansim.tabular import column_as_text, find_identifier_shapes

__all__ = [
    "SUPPRESSED",
    "Anonymisation",
    "anonymise",
    "output_columns",
    "read_microdata",
    "write_anonymisation",
]

SUPPRESSED = "*"
"""What a suppressed quasi-identifier value becomes in the output (as ARX writes it)."""


@dataclass(frozen=True, eq=False)
class Anonymisation:
    """The result of :func:`anonymise`.

    Attributes:
        table: the anonymised records, same columns and order as the input.
        levels: attribute → chosen generalisation level.
        score: the quality model's value for the chosen node (for Loss: ARX's Loss).
        quality: the quality model used.
        suppressed: records suppressed (every QI written as ``*``).
        records: records in the input.
        per_attribute: per-QI normalised Loss.
        nodes: lattice size; checked: nodes grouped during the search.
        models: the privacy models, described.
        suppression_limit: the fraction of records that could be suppressed.
        seconds: wall time of the search and generalisation.
    """

    table: pa.Table
    levels: Mapping[str, int]
    score: float
    loss: float
    quality: QualityModel
    suppressed: int
    records: int
    per_attribute: Mapping[str, float]
    nodes: int
    checked: int
    models: tuple[str, ...]
    suppression_limit: float
    seconds: float
    extra: Mapping[str, Any] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """A JSON-ready report: counts, levels and scores, no record values."""
        return {
            "levels": dict(self.levels),
            "loss": self.loss,
            "quality_model": self.quality.value,
            "score": self.score,
            "per_attribute": dict(self.per_attribute),
            "suppressed": self.suppressed,
            "records": self.records,
            "suppression_limit": self.suppression_limit,
            "privacy_models": list(self.models),
            "lattice_nodes": self.nodes,
            "nodes_checked": self.checked,
            "seconds": round(self.seconds, 3),
            **self.extra,
        }


def read_microdata(path: Path, *, delimiter: str = ",", encoding: str | None = None) -> pa.Table:
    """Read a data file with a header through the shared reader; every column as text.

    CSV (UTF-8, UTF-8 with BOM or CP949 unless ``encoding`` names one; CRLF accepted), Excel
    (``.xlsx``) or Parquet, read by :func:`ansim.tabular.read_file` with the same rules as
    ingest. A row that cannot be read (wrong column count, unclosed quote, NUL or control
    characters, invalid Unicode) refuses the file, naming its line: disclosure control on a
    file with rows silently dropped would protect the wrong table.

    Args:
        path: the file.
        delimiter: the one-character field separator.
        encoding: a declared encoding, or None to detect.

    Returns:
        The records, all columns as strings (empty fields stay empty strings).

    Raises:
        IngestError: the file cannot be read, or some of its rows cannot.
        InvalidSpecError: the delimiter is not one character.
    """
    read = read_rows(path, delimiter=delimiter, encoding=encoding)
    parsed = read.parsed
    if parsed.rejected:
        first = min(parsed.rejected, key=lambda r: r.row_number)
        raise IngestError(
            f"{path.name}: {len(parsed.rejected)} row(s) cannot be read, the first at line "
            f"{first.line_range}: {first.reason}. Fix the file (or run 'ansim ingest' to "
            "quarantine such rows) before disclosure control"
        )
    return text_table(parsed.header, parsed.rows)


def _in_hierarchy(h: Hierarchy, value: str) -> str:
    return value if h.position(value) is not None else value.strip()


def _generalise(
    column: pa.ChunkedArray, h: Hierarchy, level: int, suppressed: npt.NDArray[np.bool_] | None
) -> pa.Array:
    """The column at ``level`` as a dictionary array (labels once, indices per record)."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    # One dictionary entry per distinct label, so that equal labels group together.
    labels: dict[str, int] = {}
    position = np.array(
        [labels.setdefault(h.label(_in_hierarchy(h, str(v)), level), len(labels))
         for v in encoded.dictionary.to_pylist()],
        dtype=np.int32,
    )  # fmt: skip
    star = labels.setdefault(SUPPRESSED, len(labels))
    indices = position[encoded.indices.to_numpy(zero_copy_only=False)]
    if suppressed is not None:
        indices = np.where(suppressed, np.int32(star), indices)
    return pa.DictionaryArray.from_arrays(
        pa.array(indices, type=pa.int32()), pa.array(list(labels), type=pa.string())
    )


def anonymise(
    table: pa.Table,
    hierarchies: Mapping[str, Hierarchy],
    quasi_identifiers: Sequence[str],
    models: Sequence[PrivacyModel],
    *,
    suppression_limit: float = 0.0,
    quality: QualityModel = QualityModel.LOSS,
    sensitive: str | None = None,
) -> Anonymisation:
    """Find the optimal generalisation satisfying ``models`` and apply it.

    Args:
        table: the records, QI columns as text matching the hierarchies' level-0 values.
        hierarchies: attribute → hierarchy, one per quasi-identifier.
        quasi_identifiers: the QIs, in lattice order.
        models: privacy models every equivalence class must satisfy.
        suppression_limit: fraction of records that may be suppressed (ARX's limit).
        quality: the quality model to minimise.
        sensitive: the sensitive attribute (needed by l-diversity and t-closeness).

    Returns:
        The anonymised table and what was done.

    Raises:
        InvalidSpecError: a column, hierarchy or value is missing, or a model needs a
            sensitive attribute that was not named.
        DisclosureCheckFailed: no generalisation satisfies the models within the limit.

    Example:
        >>> from ansim.disclosure import Hierarchy, KAnonymity
        >>> t = pa.table({"age": ["31", "32", "33", "41"]})
        >>> h = Hierarchy("age", (("31", "30-39", "*"), ("32", "30-39", "*"),
        ...                       ("33", "30-39", "*"), ("41", "40-49", "*")))
        >>> r = anonymise(t, {"age": h}, ["age"], [KAnonymity(2)], suppression_limit=0.25)
        >>> r.levels, r.suppressed, r.table.column("age").to_pylist()
        ({'age': 1}, 1, ['30-39', '30-39', '30-39', '*'])
    """
    started = time.perf_counter()
    check_models(models, sensitive)
    encoded = encode(table, hierarchies, quasi_identifiers, sensitive)
    found = optimal_search(encoded, models, suppression_limit, quality)
    record_suppressed = found.outlier_tuples[encoded.inverse]
    mask = record_suppressed if found.suppressed else None
    columns = []
    for name in table.column_names:
        if name in quasi_identifiers:
            level = found.levels[quasi_identifiers.index(name)]
            columns.append(_generalise(table.column(name), hierarchies[name], level, mask))
        else:
            columns.append(table.column(name))
    out = pa.table(columns, names=table.column_names)
    return anonymisation_result(
        out, encoded, found, quasi_identifiers, models,
        quality=quality, suppression_limit=suppression_limit, started=started,
    )  # fmt: skip


def check_models(models: Sequence[PrivacyModel], sensitive: str | None) -> None:
    """Refuse a model list that cannot be applied (none, or a sensitive attribute missing).

    Raises:
        InvalidSpecError: No model, or a model needs a sensitive attribute that was not named.
    """
    if not models:
        raise InvalidSpecError("no privacy model given; add at least k-anonymity")
    if any(m.needs_sensitive for m in models) and sensitive is None:
        raise InvalidSpecError("l-diversity and t-closeness need a sensitive attribute; name it")


def anonymisation_result(
    table: pa.Table,
    encoded: Encoded,
    found: SearchResult,
    quasi_identifiers: Sequence[str],
    models: Sequence[PrivacyModel],
    *,
    quality: QualityModel,
    suppression_limit: float,
    started: float,
    extra: Mapping[str, Any] | None = None,
) -> Anonymisation:
    """What an anonymisation did, in memory or on an engine: ARX's Loss whatever was minimised.

    Args:
        table: The generalised records.
        encoded: The encoded quasi-identifiers the search ran on.
        found: The search's optimum.
        quasi_identifiers: The QIs, in lattice order.
        models: The privacy models applied.
        quality: The quality model the search minimised.
        suppression_limit: The suppression limit applied.
        started: ``time.perf_counter()`` when the anonymisation began.
        extra: Further facts for the report (e.g. the engine).
    """
    scorer = Scorer(encoded, QualityModel.LOSS)
    per_attribute = scorer.per_attribute(found.levels, found.outlier_tuples)
    loss = float(scorer.aggregate([np.array([v]) for v in per_attribute])[0])
    return Anonymisation(
        table=table,
        levels=dict(zip(quasi_identifiers, found.levels, strict=True)),
        score=found.score,
        loss=loss,
        quality=quality,
        suppressed=found.suppressed,
        records=encoded.records,
        per_attribute=dict(zip(quasi_identifiers, per_attribute, strict=False)),
        nodes=found.nodes,
        checked=found.checked,
        models=tuple(repr(m) for m in models),
        suppression_limit=suppression_limit,
        seconds=time.perf_counter() - started,
        extra=dict(extra or {}),
    )


def _needs_quotes(column: pa.ChunkedArray, pattern: str) -> bool:
    """Whether any value holds the delimiter, a quote or a line break (dictionaries: labels)."""
    for chunk in column.chunks:
        values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk
        textual = pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
        if textual and pc.any(pc.match_substring_regex(values, pattern)).as_py():
            return True
    return False


def output_columns(
    table: pa.Table,
    quasi_identifiers: Sequence[str],
    sensitive: Sequence[str] = (),
    keep: Sequence[str] = (),
    *,
    direct_identifiers: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """Which columns anonymised microdata may hold, and which it drops.

    Only the quasi-identifiers, the sensitive attributes and the columns named in ``keep``;
    a kept column is refused if it is a declared direct identifier or holds a value shaped
    like an RRN or a Korean phone number.

    Args:
        table: The input records.
        quasi_identifiers: The QIs.
        sensitive: The sensitive attributes.
        keep: Further columns to keep.
        direct_identifiers: Columns a dataset spec declares as direct identifiers.

    Returns:
        The columns written (in input order) and the columns dropped.

    Raises:
        InvalidSpecError: A kept column is unknown, a direct identifier, or looks like one.

    Example:
        >>> t = pa.table({"name": ["a"], "age": ["3"], "note": ["x"], "id": ["7"]})
        >>> output_columns(t, ["age"], keep=["note"])
        (['age', 'note'], ['name', 'id'])
    """
    names = table.column_names
    unknown = [c for c in keep if c not in names]
    if unknown:
        raise InvalidSpecError(f"--keep names columns the file lacks: {unknown}")
    for column in keep:
        if column in direct_identifiers:
            raise InvalidSpecError(
                f"--keep {column!r}: the spec declares it a direct identifier; it may not be "
                "released"
            )
        hit = find_identifier_shapes(column_as_text(table[column]))
        if hit is not None:
            raise InvalidSpecError(
                f"--keep {column!r}: row {hit[0] + 1} holds a value shaped like {hit[1]}; a "
                "column that looks like a direct identifier may not be released"
            )
    wanted = {*quasi_identifiers, *sensitive, *keep}
    return [c for c in names if c in wanted], [c for c in names if c not in wanted]


def write_anonymisation(
    result: Anonymisation,
    out: Path,
    *,
    name: str = "anonymised.csv",
    delimiter: str = ",",
    extra: Mapping[str, Any] | None = None,
    columns: Sequence[str] | None = None,
) -> Path:
    """Write the anonymised CSV (UTF-8, header, ``delimiter``) and ``report.json`` into ``out``.

    Text cells that a spreadsheet would run as formulas are prefixed with ``'`` (OWASP); the
    report lists the input columns not written under ``dropped_columns``.

    Args:
        result: The anonymisation.
        out: The output folder.
        name: The CSV's file name.
        delimiter: Its field separator.
        extra: More report entries.
        columns: The columns to write (see :func:`output_columns`); default all.

    Returns:
        The path of the CSV written.
    """
    out.mkdir(parents=True, exist_ok=True)
    chosen = result.table.column_names if columns is None else list(columns)
    dropped = [c for c in result.table.column_names if c not in chosen]
    table = neutralise_table(result.table.select(chosen))
    sink = io.BytesIO()
    special = f'[{re.escape(delimiter)}"\\r\\n]'
    plain = not any(_needs_quotes(column, special) for column in table.columns)
    pacsv.write_csv(
        table,
        sink,
        write_options=pacsv.WriteOptions(
            delimiter=delimiter, quoting_style="none" if plain else "needed", include_header=False
        ),
    )
    names = table.column_names
    if plain and not any(re.search(special, n) for n in names):
        header = delimiter.join(names)
    else:
        header = delimiter.join('"' + n.replace('"', '""') + '"' for n in names)
    path = write_bytes_atomic((header + "\n").encode() + sink.getvalue(), out / name)
    report = result.report() | {"columns": names, "dropped_columns": dropped} | dict(extra or {})
    write_text_atomic(json.dumps(report, indent=2, ensure_ascii=False) + "\n", out / "report.json")
    return path
