"""Summary figures of tree and pair files (what ``agentsearch data stats`` shows)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from agentsearch.search.tree import SearchTree

__all__ = ["tree_stats", "pair_stats", "gap_histogram"]


def tree_stats(trees: Iterable[SearchTree]) -> dict[str, Any]:
    """Tasks, failures, success rate, mean best reward, nodes and tokens per tree, search time.

    ``search_seconds`` sums each tree's own wall time; concurrent searches overlap, so
    ``nodes_per_search_second`` is the rate of one search, not the run's throughput.
    """
    trees = list(trees)
    ok = [t for t in trees if t.error is None]
    n = max(len(ok), 1)
    total_time = sum(t.timings.get("total", 0.0) for t in ok)
    nodes = sum(t.num_nodes for t in ok)
    return {
        "trees": len(trees),
        "failed": len(trees) - len(ok),
        "success_rate": sum(t.success for t in ok) / n,
        "mean_best_reward": sum(t.best_reward for t in ok) / n,
        "nodes_per_tree": nodes / n,
        "tokens_per_tree": sum(t.tokens for t in ok) / n,
        "search_seconds": total_time,
        "nodes_per_search_second": nodes / total_time if total_time else 0.0,
        "by_algorithm": dict(Counter(t.algorithm for t in trees)),
    }


def gap_histogram(
    gaps: Sequence[float], *, bins: int = 10, high: float = 2.0
) -> list[tuple[float, float, int]]:
    """Counts of Q gaps in ``bins`` equal bins over ``[0, high]`` (the last bin takes everything above)."""
    width = high / bins
    counts = [0] * bins
    for gap in gaps:
        counts[min(int(abs(gap) / width), bins - 1)] += 1
    return [(round(i * width, 6), round((i + 1) * width, 6), c) for i, c in enumerate(counts)]


def pair_stats(pairs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Pairs, pairs per tree, pairs per depth, mean gap and a gap histogram."""
    pairs = list(pairs)
    gaps = [p.get("gap", 0.0) for p in pairs]
    trees = {p.get("tree_id") or p.get("task_id") for p in pairs}
    return {
        "pairs": len(pairs),
        "trees": len(trees),
        "pairs_per_tree": len(pairs) / max(len(trees), 1),
        "pairs_per_depth": dict(sorted(Counter(p.get("depth", -1) for p in pairs).items())),
        "mean_gap": sum(gaps) / max(len(gaps), 1),
        "gap_histogram": gap_histogram(gaps),
    }
