"""Whose rows are these? The platform's person identity of an output, checked before any rule.

Every check counts people, so the ``person_id`` of a person-level output must be the views' own:

- **lineage** (:func:`person_lineage`): the output's ``person_id`` must be a view's
  ``person_id`` passed through unchanged — through CTEs, subqueries, joins and unions, but never
  through an expression (``person_id + 1``, ``CAST(person_id AS VARCHAR) || 'x'``, a literal,
  another column renamed). The parse tree is traced with sqlglot's column lineage;
- **semi-join** (``Workspace``): every id in the output exists in a view the query read, and every
  output column that carries a view column's name holds *that person's* value in that view (so a
  cross join cannot dress one person's row as ten people's);
- **distinct persons** (``tabulate``, ``fit_model``): cells and degrees of freedom count distinct
  ids, so a row repeated by ``UNION ALL`` or a cross join is still one person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage

from ansim.errors import AccessDenied

__all__ = ["PERSON", "person_lineage"]

PERSON = "person_id"

_CHANGED = (
    f"the query changes {PERSON}: outputs are checked on the platform's person ids, so take "
    f"{PERSON} unchanged out of a view (no expression, cast, literal or renamed column)"
)


def person_lineage(sql: str, columns: Mapping[str, Sequence[str]]) -> set[str]:
    """Check that a query's ``person_id`` is a view's ``person_id`` unchanged.

    Args:
        sql: The vetted query.
        columns: The project's views and their columns.

    Returns:
        The views the output's person ids come from.

    Raises:
        AccessDenied: ``person_id`` is computed, a literal, or another column renamed.

    Example:
        >>> views = {"people": ["person_id", "age"]}
        >>> person_lineage("SELECT p.person_id, age FROM people p", views)
        {'people'}
        >>> person_lineage("SELECT age AS person_id FROM people", views)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ansim.errors.AccessDenied: the query changes person_id: ...
    """
    schema = {view: dict.fromkeys(cols, "VARCHAR") for view, cols in columns.items()}
    try:
        root = lineage(PERSON, sql, schema=schema, dialect="duckdb")
    except (SqlglotError, KeyError, ValueError, AttributeError) as e:
        raise AccessDenied(_CHANGED) from e
    sources: set[str] = set()
    for node in root.walk():
        expression = node.expression
        if isinstance(expression, exp.Table):  # a leaf: the view and column it reads
            if expression.name not in columns or node.name.rsplit(".", 1)[-1] != PERSON:
                raise AccessDenied(_CHANGED)
            sources.add(expression.name)
            continue
        inner = expression.this if isinstance(expression, exp.Alias) else expression
        if not isinstance(inner, exp.Column) or not node.downstream:
            raise AccessDenied(_CHANGED)
    if not sources:
        raise AccessDenied(_CHANGED)
    return sources
