"""A trained linkage model as a file: train once, review it, apply it reproducibly.

The file (JSON) holds everything a run needs to score pairs the same way again: the
blocking passes, the compared fields with their levels, m and u of every level (and the
conditional u), the prior log-odds λ of each kind of pair with the record counts it was
estimated on, the threshold, and the versions it was made with. It holds no serial, token,
filter or value: only probabilities and column names.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ansim._atomic import write_text_atomic
from ansim.errors import InvalidSpecError
from ansim.linkage._blocking import BlockingRule
from ansim.linkage._model import FellegiSunterModel

__all__ = ["MODEL_FORMAT", "LinkageModel", "ansim_version"]

MODEL_FORMAT = 1
"""Version of the model file's layout (a reader refuses a newer one)."""


def ansim_version() -> str:
    """The installed Ansim version (``unknown`` when run from a source tree only)."""
    try:
        return version("ansim")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class LinkageModel:
    """A Fellegi–Sunter model with the blocking and priors it was trained with.

    Attributes:
        weights: m and u of every level of every compared field.
        blocking: The blocking passes (automatic ones as they were chosen).
        prior_log2_odds: λ per kind of pair, ``"A~B"`` (dataset names), as log2 odds.
        records: Records per dataset when λ was estimated (λ is reused only for the same
            counts: the share of pairs that match depends on them).
        match_probability: The threshold the model was trained with.
        versions: ``format`` (the file layout) and ``ansim`` (the version that trained it).

    Example:
        >>> from ansim.linkage import FieldComparison
        >>> fs = FellegiSunterModel((FieldComparison("token_rrn"),), ((0.99, 0.01),),
        ...     ((0.001, 0.999),))
        >>> model = LinkageModel(fs, (BlockingRule("token_rrn"),), {"a~b": -10.0},
        ...     {"a": 5, "b": 7}, 0.9)
        >>> LinkageModel.from_json(model.to_json()) == model
        True
    """

    weights: FellegiSunterModel
    blocking: tuple[BlockingRule, ...]
    prior_log2_odds: dict[str, float]
    records: dict[str, int]
    match_probability: float
    versions: dict[str, object] = field(
        default_factory=lambda: {"format": MODEL_FORMAT, "ansim": ansim_version()}
    )

    def __post_init__(self) -> None:
        if not self.blocking:
            raise InvalidSpecError("a linkage model needs at least one blocking pass")
        if not 0.0 < self.match_probability < 1.0:
            raise InvalidSpecError("a model's match_probability must be between 0 and 1")
        for kind in self.prior_log2_odds:
            if kind.count("~") != 1:
                raise InvalidSpecError(f"prior kind {kind!r} must read 'A~B' (dataset names)")

    def prior_for(self, a: str, b: str, records: dict[str, int]) -> float | None:
        """Saved λ for pairs of datasets ``a`` and ``b``, if their record counts are unchanged."""
        saved = self.prior_log2_odds.get(f"{a}~{b}", self.prior_log2_odds.get(f"{b}~{a}"))
        same = all(self.records.get(d) == records.get(d) for d in (a, b))
        return saved if same else None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON)."""
        weights = json.loads(self.weights.to_json())
        return {
            "versions": dict(self.versions),
            "match_probability": self.match_probability,
            "blocking": [asdict(r) | {"also": list(r.also)} for r in self.blocking],
            "prior_log2_odds": dict(self.prior_log2_odds),
            "records": dict(self.records),
            "level_names": {c.column: list(c.level_names) for c in self.weights.comparisons},
            **weights,
        }

    def to_json(self) -> str:
        """The model as JSON (round-trips through :meth:`from_json`)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def save(self, path: Path) -> Path:
        """Write the model file atomically (a reader never sees half a file)."""
        return write_text_atomic(self.to_json() + "\n", path)

    @classmethod
    def from_json(cls, text: str) -> LinkageModel:
        """A model from :meth:`to_json` output.

        Raises:
            InvalidSpecError: The text is not a model file of a known format.
        """
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise InvalidSpecError("a linkage model file holds a JSON object")
            versions = dict(data["versions"])
            if int(versions.get("format", 0)) not in range(1, MODEL_FORMAT + 1):
                raise InvalidSpecError(
                    f"model file format {versions.get('format')!r} is not one this Ansim reads "
                    f"(1..{MODEL_FORMAT}): train the model again with --save-model"
                )
            weights = FellegiSunterModel.from_json(
                json.dumps({k: data[k] for k in ("comparisons", "m", "u", "training", "u_given")})
            )
            return cls(
                weights,
                tuple(BlockingRule(**r) for r in data["blocking"]),
                {str(k): float(v) for k, v in data["prior_log2_odds"].items()},
                {str(k): int(v) for k, v in data["records"].items()},
                float(data["match_probability"]),
                versions,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise InvalidSpecError(f"not a linkage model file: {e}") from e

    @classmethod
    def load(cls, path: Path) -> LinkageModel:
        """Read a model file.

        Raises:
            InvalidSpecError: Missing, unreadable or not a model file.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InvalidSpecError(
                f"cannot read model file {Path(path).name}: {type(e).__name__}; give the file "
                "written by --save-model"
            ) from e
        return cls.from_json(text)
