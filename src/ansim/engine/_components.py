"""Connected components on an engine: the large-star/small-star iteration in Ibis.

Kiveris, Lattanzi, Mirrokni, Rastogi and Vassilvitskii, "Connected Components in MapReduce and
Beyond" (SoCC 2014). Nodes are integers, ordered by value; Γ(u) are u's neighbours and
Γ⁺(u) = Γ(u) ∪ {u}.

- *Large-star*: for every node u with m(u) = min Γ⁺(u), replace each edge (u, v) with v > u
  by (v, m(u)): every larger neighbour is linked to the smallest node u knows.
- *Small-star*: orient every edge from its larger to its smaller end; for every node u with
  N(u) its smaller neighbours and m(u) = min(N(u) ∪ {u}), link u and each of N(u) to m(u).

Alternated until every component is a star around its smallest node (then large-star changes
nothing; checked as: no node has two edges and no edge ends where another starts), a node's
label is its smallest neighbour (or itself): the same labels as
:func:`ansim.linkage.connected_components`. Each step is one group-by and one join (a shuffle
on Spark); rounds are O(log² n) in the worst case and a handful on link maps, whose
components are small. Every step's edges are stored (checkpointed), so plans stay short.
"""

from __future__ import annotations

import itertools

import ibis
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from ibis.expr.types import Table

from ansim.engine._protocol import QueryEngine
from ansim.errors import EngineError

__all__ = ["connected_components_on", "star_components"]

IntArray = npt.NDArray[np.int64]
_MAX_ROUNDS = 200
_RUNS = itertools.count()


def _large_star(edges: Table) -> Table:
    both = edges.select(u=edges.u, v=edges.v).union(
        edges.select(u=edges.v, v=edges.u), distinct=True
    )
    smallest = both.group_by("u").aggregate(m=both.v.min())
    smallest = smallest.select(u=smallest.u, m=ibis.least(smallest.m, smallest.u))
    joined = both.join(smallest, "u")
    return joined.filter(joined.v > joined.u).select(u=joined.v, v=joined.m).distinct()


def _small_star(edges: Table) -> Table:
    oriented = edges.select(
        u=ibis.greatest(edges.u, edges.v), v=ibis.least(edges.u, edges.v)
    ).distinct()
    smallest = oriented.group_by("u").aggregate(m=oriented.v.min())
    joined = oriented.join(smallest, "u")
    moved = joined.filter(joined.v != joined.m).select(u=joined.v, v=joined.m)
    return moved.union(smallest.select(u=smallest.u, v=smallest.m), distinct=True)


def _is_star(engine: QueryEngine, edges: Table) -> bool:
    """Whether every node has at most one (smaller) neighbour that is itself no edge's start.

    Small-star's edges all point to a smaller node, so then every component is a star around
    its smallest node, and large-star would change nothing.
    """
    out = edges.group_by("u").aggregate(n=edges.count())
    chained = edges.join(out, edges.v == out.u)
    checks = (
        out.filter(out.n > 1).select(k=ibis.literal(1))
        .union(chained.select(k=ibis.literal(1)))
        .limit(1)
    )  # fmt: skip
    return engine.count(checks) == 0


def star_components(engine: QueryEngine, edges: Table, out: str) -> tuple[Table, int]:
    """Label every node of an edge table with its component's smallest node.

    Args:
        engine: The engine holding ``edges``.
        edges: Integer columns ``u``, ``v`` (self-loops and duplicates allowed).
        out: Name of the table of labels to store.

    Returns:
        A table ``node``, ``label`` (every node of an edge; isolated nodes are not in it) and
        the number of rounds run.

    Raises:
        EngineError: No convergence within the round limit (not expected: it is O(log² n)).
    """
    run = next(_RUNS)
    names = [f"ansim_cc_{run}_a", f"ansim_cc_{run}_b"]
    current = engine.create_table(
        names[0], edges.filter(edges.u != edges.v).select(u=edges.u.cast("int64"),
                                                          v=edges.v.cast("int64"))
    )  # fmt: skip
    for rounds in range(1, _MAX_ROUNDS + 1):
        # one stored table per round (large-star stays lazy inside small-star's plan)
        stars = engine.create_table(names[rounds % 2], _small_star(_large_star(current)))
        if _is_star(engine, stars):
            labels = stars.group_by("u").aggregate(label=stars.v.min())
            centres = stars.select(node=stars.v, label=stars.v).distinct()
            result = labels.select(node=labels.u, label=labels.label).union(centres, distinct=True)
            table = engine.create_table(out, result)
            for name in names:
                engine.drop_table(name)
            return table, rounds
        current = stars
    raise EngineError(f"connected components did not converge in {_MAX_ROUNDS} rounds")


def connected_components_on(engine: QueryEngine, count: int, u: IntArray, v: IntArray) -> IntArray:
    """Component label (the smallest member index) of each of ``count`` nodes, on an engine.

    The same result as :func:`ansim.linkage.connected_components`, computed by the
    large-star/small-star iteration on the engine (for link maps too large for one machine).

    Args:
        engine: The engine to run on.
        count: Number of nodes (``0 … count-1``).
        u: Edge start nodes.
        v: Edge end nodes.

    Returns:
        Label per node.

    Example:
        >>> from ansim.engine import Engine
        >>> with Engine() as engine:
        ...     connected_components_on(engine, 5, np.array([0, 3]), np.array([2, 2])).tolist()
        [0, 1, 0, 0, 4]
    """
    labels = np.arange(count, dtype=np.int64)
    keep = np.asarray(u) != np.asarray(v)
    if not keep.any():
        return labels
    edges = pa.table({"u": np.asarray(u, np.int64)[keep], "v": np.asarray(v, np.int64)[keep]})
    run = next(_RUNS)
    stored = engine.create_table(f"ansim_cc_{run}_edges", edges)
    table, _ = star_components(engine, stored, f"ansim_cc_{run}_labels")
    rows = engine.to_pyarrow(table)
    engine.drop_table(f"ansim_cc_{run}_edges")
    engine.drop_table(f"ansim_cc_{run}_labels")
    nodes = rows["node"].to_numpy(zero_copy_only=False)
    labels[nodes] = rows["label"].to_numpy(zero_copy_only=False)
    return labels
