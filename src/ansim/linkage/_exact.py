"""Exact linkage on keyed tokens, clustered across any number of sources."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ansim.errors import LinkageError
from ansim.linkage._components import connected_components, pairs_within_groups
from ansim.packages import Part

if TYPE_CHECKING:
    from ansim.linkage._model_file import LinkageModel

__all__ = ["LinkMap", "LinkageReport", "link_exact", "linkage_report", "person_ids"]


@dataclass(frozen=True)
class LinkageReport:
    """What a linkage run did, in counts only (no serials, tokens or identifiers).

    Attributes:
        method: Linkage method.
        records: Records per dataset.
        tokens: Token columns used.
        edges: Record pairs joined, per token.
        skipped_groups: Token values shared by too many records to be trusted, per token.
        persons: Distinct persons found.
        persons_by_sources: Persons by how many datasets they appear in.
        linked_pairs: Records of dataset A sharing a person with dataset B, per ``A~B``.
        cluster_sizes: Persons by number of records.
        blocking: Fuzzy/probabilistic: pairs generated per pass, candidate pairs and the
            estimated true pairs no pass generated.
        model: Probabilistic: the match weight of every level of every field (m, u, weight).
        estimates: Quality without labels: estimated precision and recall at the threshold,
            and the distribution of match weights over candidate pairs.
    """

    method: str
    records: dict[str, int]
    tokens: tuple[str, ...]
    edges: dict[str, int]
    skipped_groups: dict[str, int]
    persons: int
    persons_by_sources: dict[int, int] = field(default_factory=dict)
    linked_pairs: dict[str, int] = field(default_factory=dict)
    cluster_sizes: dict[int, int] = field(default_factory=dict)
    blocking: dict[str, object] = field(default_factory=dict)
    model: dict[str, object] = field(default_factory=dict)
    estimates: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class LinkMap:
    """The link map (결합키연계정보): each serial's dataset and project person id.

    Attributes:
        table: Columns ``serial``, ``dataset``, ``person_id``.
        report: How it was made.
        model: Probabilistic: the model that scored the pairs (trained or applied).
        pairs: Scored pairs, when asked for (they stay at the linkage unit).
    """

    table: pa.Table
    report: LinkageReport
    model: LinkageModel | None = None
    pairs: pa.Table | None = None


def _token_codes(parts: Sequence[Part], column: str, sizes: list[int]) -> np.ndarray:
    chunks = [
        part.table[column] if column in part.table.column_names else pa.nulls(n, pa.binary(32))
        for part, n in zip(parts, sizes, strict=True)
    ]
    combined = pa.chunked_array([c.cast(pa.binary()) for c in chunks]).combine_chunks()
    encoded = pc.dictionary_encode(combined)
    return np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)


def person_ids(labels: np.ndarray, serials: pa.Array) -> pa.Array:
    """Project person ids for component labels, numbered in the order of a random serial.

    Args:
        labels: Component label per record.
        serials: Serial per record.

    Returns:
        ``p00000000``-style ids, equal for records with equal labels.

    Example:
        >>> person_ids(np.array([0, 0, 2]), pa.array(["b", "c", "a"])).to_pylist()
        ['p00000001', 'p00000001', 'p00000000']
    """
    roots = np.unique(labels)
    # Number persons in the order of a random serial of theirs: ids carry no file order.
    order = np.argsort(pc.take(serials, pa.array(roots)).to_numpy(zero_copy_only=False))
    rank = np.empty(roots.size, np.int64)
    rank[order] = np.arange(roots.size)
    numbers = rank[np.searchsorted(roots, labels)]
    width = max(8, len(str(roots.size)))
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return pc.binary_join_element_wise("p", digits, "")


def link_exact(parts: Sequence[Part], *, max_group: int | None = None) -> LinkMap:
    """Link identity parts by exact token equality and cluster the records into persons.

    Any shared token joins two records (within or across datasets); persons are the connected
    components, so duplicates within a source share a person id and 3+ sources link at once.

    Args:
        parts: Identity parts from two or more datasets.
        max_group: Token values shared by more records than this are ignored as degenerate
            (default: four per dataset).

    Returns:
        The link map and a report.

    Raises:
        LinkageError: Fewer than two parts, repeated datasets, mixed projects or no shared token.
    """
    names = [p.dataset for p in parts]
    if len(parts) < 2:  # noqa: PLR2004
        raise LinkageError("linkage needs identity parts from at least two datasets")
    if len(set(names)) != len(names):
        raise LinkageError(f"each dataset may be given once; got {names}")
    if len({p.project for p in parts}) != 1:
        raise LinkageError("the identity parts were prepared for different projects")
    token_sets = [{c for c in p.table.column_names if c.startswith("token_")} for p in parts]
    tokens = tuple(sorted(set.union(*token_sets)))
    if not any(len([s for s in token_sets if t in s]) >= 2 for t in tokens):  # noqa: PLR2004
        raise LinkageError("no token is shared by two datasets: check the parts' token recipes")
    sizes = [p.table.num_rows for p in parts]
    limit = max_group if max_group is not None else 4 * len(parts)
    us, vs, edges, skipped = [], [], {}, {}
    for column in tokens:
        u, v, dropped = pairs_within_groups(_token_codes(parts, column, sizes), max_group=limit)
        us.append(u)
        vs.append(v)
        edges[column], skipped[column] = int(u.size), dropped
    total = sum(sizes)
    labels = connected_components(total, np.concatenate(us), np.concatenate(vs))
    serials = pa.chunked_array([p.table["serial"] for p in parts]).combine_chunks()
    datasets = np.repeat(np.array(names, dtype=object), sizes)
    table = pa.table(
        {
            "serial": serials,
            "dataset": pa.array(datasets.tolist(), pa.string()),
            "person_id": person_ids(labels, serials),
        }
    )
    report = linkage_report(
        "exact", names, sizes, labels, tokens=tokens, edges=edges, skipped=skipped
    )
    return LinkMap(table, report)


def linkage_report(
    method: str,
    names: list[str],
    sizes: list[int],
    labels: np.ndarray,
    *,
    tokens: tuple[str, ...] = (),
    edges: dict[str, int] | None = None,
    skipped: dict[str, int] | None = None,
    blocking: dict[str, object] | None = None,
    model: dict[str, object] | None = None,
    estimates: dict[str, object] | None = None,
) -> LinkageReport:
    """The counts-only report of a linkage run whose records got component ``labels``.

    Args:
        method: Linkage method.
        names: Dataset names, in part order.
        sizes: Records per dataset.
        labels: Component label per record (part order).
        tokens: Token columns used.
        edges: Links made, per token or kind.
        skipped: Blocks skipped for size, per token.
        blocking: Blocking report.
        model: Model weights.
        estimates: Quality estimates without labels.

    Returns:
        The report.
    """
    source = np.repeat(np.arange(len(names)), sizes)
    _, dense, cluster_size = np.unique(labels, return_inverse=True, return_counts=True)
    presence = np.zeros((cluster_size.size, len(names)), np.bool_)
    presence[dense.reshape(-1), source] = True
    by_sources = Counter(presence.sum(axis=1).tolist())
    linked: dict[str, int] = {}
    for d, name in enumerate(names):
        reached = presence[dense.reshape(-1)[source == d]].sum(axis=0)
        for e, other in enumerate(names):
            if e != d and reached[e]:
                linked[f"{name}~{other}"] = int(reached[e])
    return LinkageReport(
        method=method,
        records=dict(zip(names, sizes, strict=True)),
        tokens=tokens,
        edges=edges or {},
        skipped_groups=skipped or {},
        persons=int(cluster_size.size),
        persons_by_sources=dict(sorted(by_sources.items())),
        linked_pairs=dict(sorted(linked.items())),
        cluster_sizes=dict(sorted(Counter(cluster_size.tolist()).items())),
        blocking=blocking or {},
        model=model or {},
        estimates=estimates or {},
    )
