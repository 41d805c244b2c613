"""Linkage configuration: a spec that round-trips through YAML, so a run is reproducible."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from ansim._specfile import parse_yaml, read_spec_text
from ansim.errors import InvalidSpecError
from ansim.linkage._assignment import ASSIGNMENTS
from ansim.linkage._blocking import BlockingRule
from ansim.linkage._comparison import FieldComparison

__all__ = ["BLOCKING_MODES", "CONFIG_KEYS", "METHODS", "LinkageConfig", "example_config"]

METHODS = ("exact", "fuzzy", "probabilistic")
BLOCKING_MODES = ("auto", "standard", "lsh")


@dataclass(frozen=True)
class LinkageConfig:
    r"""How the linkage unit links identity parts.

    Empty ``comparisons`` or ``blocking`` mean automatic: every shared ``bf_*`` field is
    compared (tokens when there are no filters), and blocking uses every token, every
    field filter small enough to block on, and LSH on the record-level ``clk``.

    Attributes:
        method: ``exact`` (shared tokens), ``fuzzy`` (Dice of ``clk`` at a threshold) or
            ``probabilistic`` (Fellegi–Sunter on field comparisons).
        comparisons: Fields compared by the probabilistic model.
        blocking: Blocking passes.
        match_probability: Probabilistic: pairs at or above this probability are links (0.9:
            the model is overconfident where identifiers depend on each other among
            non-matches, such as twins; 0.9 was best or near best on the 100k and 1M demo
            worlds and on a 100k world with three times the identifier errors).
        fuzzy_threshold: Fuzzy: pairs whose ``clk`` Dice is at or above this are links (set
            on balanced filters; a diffused ``clk`` is compared with it mapped through the
            parts' taps, see ``fuzzy_threshold`` in ``ansim.linkage._probabilistic``).
        assignment: ``cluster`` (default: duplicates within a source stay together),
            ``greedy`` or ``optimal`` (1-to-1 between each pair of sources).
        u_from: ``random`` (u from random pairs, m by EM) or ``em`` (both by EM).
        random_pairs: Random pairs drawn to estimate u.
        training_pairs: Pairs per EM training session (records are sampled to this size).
        em_iterations: Most EM iterations per session.
        max_block: Automatic blocking: blocks larger than this are skipped.
        seed: Seed for random pairs and LSH bit samples.
        blocking_mode: Automatic blocking: ``standard`` (tokens, identifying filters and
            compound passes), ``lsh`` (also one Hamming-LSH pass on each many-valued field
            filter, which finds pairs with an error in every field, such as FEBRL's, at the
            cost of many more candidate pairs) or ``auto`` (standard, and the LSH passes
            switched on by themselves when the standard ones are estimated to lose pairs).
        pairs_floor: Scored pairs (``--pairs``): pairs whose match probability reaches this.

    Example:
        >>> LinkageConfig.from_yaml_text("{method: fuzzy, fuzzy_threshold: 0.85}").fuzzy_threshold
        0.85
    """

    method: str = "probabilistic"
    comparisons: tuple[FieldComparison, ...] = ()
    blocking: tuple[BlockingRule, ...] = ()
    match_probability: float = 0.9
    fuzzy_threshold: float = 0.85
    assignment: str = "cluster"
    u_from: str = "random"
    random_pairs: int = 1_000_000
    training_pairs: int = 2_000_000
    em_iterations: int = 50
    max_block: int = 500
    seed: int = 0
    blocking_mode: str = "auto"
    pairs_floor: float = 0.01

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidSpecError(f"method must be one of {METHODS}, not {self.method!r}")
        if self.assignment not in ASSIGNMENTS:
            raise InvalidSpecError(
                f"assignment must be one of {ASSIGNMENTS}, not {self.assignment!r}"
            )
        if self.blocking_mode not in BLOCKING_MODES:
            raise InvalidSpecError(
                f"blocking_mode must be one of {BLOCKING_MODES}, not {self.blocking_mode!r}"
            )
        if not 0.0 <= self.pairs_floor < 1.0:
            raise InvalidSpecError("pairs_floor must be a probability in [0, 1)")
        if self.u_from not in {"random", "em"}:
            raise InvalidSpecError(f"u_from must be 'random' or 'em', not {self.u_from!r}")
        if not 0.0 < self.match_probability < 1.0:
            raise InvalidSpecError("match_probability must be between 0 and 1 (exclusive)")
        if not 0.0 < self.fuzzy_threshold <= 1.0:
            raise InvalidSpecError("fuzzy_threshold must be in (0, 1]")
        if self.random_pairs < 1000 or self.em_iterations < 1 or self.max_block < 2:  # noqa: PLR2004
            raise InvalidSpecError(
                "random_pairs must be at least 1000, em_iterations at least 1, max_block at least 2"
            )

    def with_method(self, method: str) -> LinkageConfig:
        """The same configuration with another method."""
        return replace(self, method=method)

    def with_options(self, **options: Any) -> LinkageConfig:
        """The same configuration with the given keys changed (``None`` values ignored).

        Raises:
            InvalidSpecError: An unknown key or an invalid value.
        """
        given = {k: v for k, v in options.items() if v is not None}
        return LinkageConfig.from_dict(self.to_dict() | given)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for YAML or JSON)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["comparisons"] = [
            {"column": c.column, "bands": list(c.bands), "term_frequency": c.term_frequency}
            for c in self.comparisons
        ]
        out["blocking"] = [asdict(r) | {"also": list(r.also)} for r in self.blocking]
        return out

    def to_yaml(self) -> str:
        """The configuration as YAML (round-trips through :meth:`from_yaml_text`)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkageConfig:
        """A configuration from plain data.

        Raises:
            InvalidSpecError: Unknown keys or invalid values.
        """
        known = {f.name for f in fields(cls)}
        data = dict(data)
        if "lsh_blocking" in data and "blocking_mode" not in data:  # the earlier spelling
            data["blocking_mode"] = "lsh" if data.pop("lsh_blocking") else "standard"
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidSpecError(f"unknown linkage config keys {unknown}; known: {sorted(known)}")
        values = dict(data)
        try:
            values["comparisons"] = tuple(
                # no bands: the field's default, the same as in Python (one source)
                FieldComparison(
                    c["column"],
                    tuple(float(b) for b in c.get("bands") or ()),
                    bool(c.get("term_frequency", True)),
                )
                for c in values.get("comparisons") or []
            )
            values["blocking"] = tuple(BlockingRule(**r) for r in values.get("blocking") or [])
            return cls(**values)
        except (KeyError, TypeError) as e:
            raise InvalidSpecError(f"invalid linkage config: {e}") from e

    @classmethod
    def from_yaml_text(cls, text: str) -> LinkageConfig:
        """A configuration from YAML text.

        Raises:
            InvalidSpecError: Not YAML, not a mapping, or invalid values.
        """
        data = parse_yaml(text, "linkage config") or {}
        if not isinstance(data, dict):
            raise InvalidSpecError("a linkage config must be a YAML mapping")
        return cls.from_dict(data)

    @classmethod
    def from_yaml(cls, path: Path) -> LinkageConfig:
        """A configuration from a YAML file."""
        return cls.from_yaml_text(read_spec_text(path, "linkage config"))


CONFIG_KEYS: dict[str, str] = {
    "method": "exact | fuzzy | probabilistic",
    "match_probability": "pairs at or above this probability are links (--threshold)",
    "assignment": "cluster | greedy | optimal (1-to-1 between sources; --assignment)",
    "blocking_mode": "auto | standard | lsh (auto adds LSH if it predicts loss; --blocking)",
    "seed": "seed of random pairs, training samples and LSH bit samples (--seed)",
    "u_from": "random (u from random pairs, m by EM) | em (both by EM)",
    "random_pairs": "random pairs drawn to estimate u",
    "training_pairs": "pairs per EM training session",
    "em_iterations": "most EM iterations per session",
    "max_block": "blocks larger than this are skipped (and counted)",
    "fuzzy_threshold": "fuzzy: Dice of the record-level filters at which a pair links",
    "pairs_floor": "--pairs: keep pairs whose match probability reaches this",
    "comparisons": "empty: every bf_* field, levels derived from the field; e.g.",
    "blocking": "empty: automatic passes; e.g.",
}
"""One line of help per config key, in the order ``--example`` prints them."""

_EXAMPLES = {
    "comparisons": (
        "{column: bf_name, bands: [1.0, 0.95, 0.9, 0.8, 0.7], term_frequency: true}",
        "{column: bf_sex}       # no bands: the field's default (a two-valued field: equal or not)",
        "{column: token_rrn}    # tokens: equal or not",
    ),
    "blocking": (
        "{column: token_rrn}",
        "{column: bf_name, kind: dice, also: [bf_birth_date], threshold: 0.7}",
    ),
}


def _scalar(value: object) -> str:
    return yaml.safe_dump(value, default_flow_style=True).removesuffix("\n...\n").strip()


def example_config() -> str:
    """A commented config holding every key at its default (the defaults' one source).

    Example:
        >>> LinkageConfig.from_yaml_text(example_config()) == LinkageConfig()
        True
    """
    defaults = LinkageConfig().to_dict()
    lines = ["# Ansim linkage config (ansim link --config this.yaml, ansim linkage match ...)"]
    for key, help_text in CONFIG_KEYS.items():
        entry = f"{key}: {_scalar(defaults[key])}"
        lines.append(f"{entry:<26} # {help_text}")
        lines.extend(f"#  - {example}" for example in _EXAMPLES.get(key, ()))
    return "\n".join(lines) + "\n"
