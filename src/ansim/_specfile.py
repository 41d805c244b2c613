"""Reading spec files (dataset specs, encoding specs, linkage configs) with clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ansim.errors import InvalidSpecError

__all__ = ["parse_yaml", "read_spec_text"]


def parse_yaml(text: str, what: str) -> Any:
    """Parse YAML (or JSON) text, naming ``what`` in the error.

    Example:
        >>> parse_yaml("a: [1, 2]", "the spec")
        {'a': [1, 2]}
        >>> parse_yaml("day: 2012-13-01", "the spec")
        Traceback (most recent call last):
        ...
        ansim.errors.InvalidSpecError: the spec holds a value YAML cannot read: month must be ...
    """
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InvalidSpecError(f"{what} is not valid YAML: {e}") from e
    except ValueError as e:  # an unquoted impossible date such as 2012-13-01
        raise InvalidSpecError(f"{what} holds a value YAML cannot read: {e}") from e


def read_spec_text(path: Path, what: str) -> str:
    """The text of a spec file (UTF-8, a BOM tolerated), naming ``what`` in the error."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except OSError as e:
        raise InvalidSpecError(f"cannot read {what} {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise InvalidSpecError(f"{what} {path} is not UTF-8 text") from e
