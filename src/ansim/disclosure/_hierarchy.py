"""Generalisation hierarchies: ARX's CSV format (``value;level1;level2;…``) and validation.

A hierarchy maps each original value (level 0) to one label per generalisation level. ARX
requires every row to have the same number of levels; Ansim also requires the levels to nest
(two values that share a label at one level share it at every higher level), because the
optimal search relies on generalisation being monotone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ansim.errors import InvalidSpecError
from ansim.tabular import decode_text

__all__ = ["Hierarchy", "load_hierarchies", "read_hierarchy"]

_MAX_SHOWN = 40


def _shown(value: str) -> str:
    """A hierarchy-domain value as shown in a message: quoted, shortened."""
    text = value if len(value) <= _MAX_SHOWN else value[: _MAX_SHOWN - 1] + "…"
    return repr(text)


@dataclass(frozen=True)
class Hierarchy:
    """A generalisation hierarchy for one attribute.

    Attributes:
        attribute: the column it generalises.
        rows: one tuple per original value: ``(value, level1, …)``; all the same length.

    Example:
        >>> h = Hierarchy("sex", (("Male", "*"), ("Female", "*")))
        >>> h.height, h.domain_size, h.label("Female", 1)
        (2, 2, '*')
    """

    attribute: str
    rows: tuple[tuple[str, ...], ...]
    _index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check shape, uniqueness of original values and nesting of levels."""
        name = self.attribute
        if not name:
            raise InvalidSpecError("hierarchy: attribute name is empty")
        if not self.rows:
            raise InvalidSpecError(f"hierarchy for {name!r} has no rows; give one row per value")
        width = len(self.rows[0])
        index: dict[str, int] = {}
        for number, row in enumerate(self.rows, start=1):
            if len(row) != width:
                raise InvalidSpecError(
                    f"hierarchy for {name!r}: row {number} has {len(row)} levels, row 1 has "
                    f"{width}; every row needs the same number of levels"
                )
            if any(label == "" for label in row):
                raise InvalidSpecError(
                    f"hierarchy for {name!r}: row {number} has an empty label; fill it in"
                )
            if row[0] in index:
                raise InvalidSpecError(
                    f"hierarchy for {name!r}: value {_shown(row[0])} appears twice "
                    f"(rows {index[row[0]] + 1} and {number}); keep one row per value"
                )
            index[row[0]] = number - 1
        for level in range(1, width - 1):
            parent: dict[str, str] = {}
            for number, row in enumerate(self.rows, start=1):
                seen = parent.setdefault(row[level], row[level + 1])
                if seen != row[level + 1]:
                    raise InvalidSpecError(
                        f"hierarchy for {name!r}: label {_shown(row[level])} at level {level} "
                        f"generalises to two labels at level {level + 1} (row {number}); "
                        "levels must nest"
                    )
        object.__setattr__(self, "_index", index)

    @property
    def height(self) -> int:
        """Number of levels, level 0 (original values) included."""
        return len(self.rows[0])

    @property
    def domain_size(self) -> int:
        """Number of original values the hierarchy covers."""
        return len(self.rows)

    def position(self, value: str) -> int | None:
        """Row index of an original value, or None when the hierarchy lacks it."""
        return self._index.get(value)

    def label(self, value: str, level: int) -> str:
        """The label of ``value`` at ``level``.

        Raises:
            InvalidSpecError: the value is not in the hierarchy or the level does not exist.
        """
        if not 0 <= level < self.height:
            raise InvalidSpecError(
                f"hierarchy for {self.attribute!r} has levels 0–{self.height - 1}, not {level}"
            )
        row = self.position(value)
        if row is None:
            raise InvalidSpecError(
                f"value {_shown(value)} of attribute {self.attribute!r} is not in its hierarchy; "
                "add a row for it to the hierarchy file"
            )
        return self.rows[row][level]

    @classmethod
    def from_rows(cls, attribute: str, rows: Sequence[Sequence[str]]) -> Hierarchy:
        """Build a hierarchy from any sequence of rows."""
        return cls(attribute, tuple(tuple(r) for r in rows))


def read_hierarchy(
    path: Path, attribute: str, *, delimiter: str = ";", encoding: str | None = None
) -> Hierarchy:
    """Read one hierarchy in ARX's CSV format (no header; ``value;level1;…``).

    Blank lines are skipped, CRLF and a UTF-8 byte-order mark are accepted, and the text is
    decoded as UTF-8 or, failing that, CP949 unless ``encoding`` is given.

    Args:
        path: the file.
        attribute: the attribute it generalises.
        delimiter: the field separator (ARX writes ``;``).
        encoding: a declared encoding, or None to detect.

    Returns:
        The validated hierarchy.

    Raises:
        InvalidSpecError: the file is missing, undecodable, empty or malformed.
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InvalidSpecError(f"hierarchy for {attribute!r}: cannot read {path}: {e}") from e
    decoded = decode_text(data, encoding)
    if decoded.invalid_bytes:
        raise InvalidSpecError(
            f"hierarchy for {attribute!r}: {path.name} is not valid {decoded.encoding}; "
            "save it as UTF-8 or pass its encoding"
        )
    rows = [
        [cell.strip() for cell in line.split(delimiter)]
        for line in decoded.text.splitlines()
        if line.strip()
    ]
    if rows and all(len(r) > 2 and r[-1] == "" for r in rows):  # noqa: PLR2004
        rows = [r[:-1] for r in rows]  # a delimiter ending every line
    if rows and len(rows[0]) < 2:  # noqa: PLR2004 - a value and at least one level
        raise InvalidSpecError(
            f"hierarchy for {attribute!r}: {path.name} has one column; expected "
            f"'value{delimiter}level1{delimiter}…' (is the delimiter right?)"
        )
    return Hierarchy.from_rows(attribute, rows)


def load_hierarchies(
    directory: Path,
    attributes: Sequence[str],
    *,
    delimiter: str = ";",
    encoding: str | None = None,
) -> dict[str, Hierarchy]:
    """Load the hierarchies for ``attributes`` from files named ``<anything>_<attribute>.csv``.

    A file named exactly ``<attribute>.csv`` also matches. When several files match one
    attribute that is an error, as is an attribute without a file.

    Args:
        directory: the folder holding the files.
        attributes: the quasi-identifiers to load hierarchies for.
        delimiter: the field separator of the files.
        encoding: a declared encoding, or None to detect.

    Returns:
        Attribute → hierarchy, in the order of ``attributes``.

    Raises:
        InvalidSpecError: the folder is missing, or a hierarchy is missing, ambiguous or bad.
    """
    if not directory.is_dir():
        raise InvalidSpecError(f"hierarchy folder {directory} does not exist")
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    found: dict[str, Hierarchy] = {}
    for attribute in attributes:
        matches = [
            p
            for p in files
            if p.name.lower() == f"{attribute.lower()}.csv"
            or p.name.lower().endswith(f"_{attribute.lower()}.csv")
        ]
        if not matches:
            raise InvalidSpecError(
                f"no hierarchy for attribute {attribute!r} in {directory}; add a file named "
                f"'<anything>_{attribute}.csv'"
            )
        if len(matches) > 1:
            names = ", ".join(p.name for p in matches)
            raise InvalidSpecError(
                f"several hierarchy files match attribute {attribute!r} ({names}); keep one"
            )
        found[attribute] = read_hierarchy(
            matches[0], attribute, delimiter=delimiter, encoding=encoding
        )
    return found
