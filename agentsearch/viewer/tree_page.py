"""``agentsearch view``: one static HTML page per search tree, and an index page over them.

Every algorithm writes the same :class:`~agentsearch.search.tree.SearchTree` schema, so demos, MCTS,
DFSDT, beam and best-of-N trees of any environment render alike. A page carries the tree's columns as
JSON (Q-values computed here with :meth:`SearchTree.q`, so the page agrees with the training data) and
the (state, chosen, rejected) triples of the project's own pair extraction
(:data:`agentsearch.data.pairs.STRATEGIES`), so the nodes that enter preference pairs are marked.
"""

from __future__ import annotations

import html
import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentsearch.data.pairs import STRATEGIES
from agentsearch.errors import ConfigError, did_you_mean
from agentsearch.search.tree import SearchTree, read_trees
from agentsearch.viewer.assets import page

__all__ = ["TreeEntry", "ViewResult", "page_name", "tree_payload", "render_tree_page", "write_tree_pages"]

logger = logging.getLogger(__name__)

#: Boolean node columns packed into one integer per node (the page's ``FLAG`` table mirrors this).
FLAG_BITS: tuple[tuple[str, int], ...] = (
    ("terminal", 1),
    ("won", 2),
    ("invalid", 4),
    ("diverged", 8),
    ("is_rollout", 16),
    ("expanded", 32),
)


@dataclass(frozen=True)
class TreeEntry:
    """One tree written by :func:`write_tree_pages`: where its page is and what the index shows."""

    position: int
    task_id: str
    page: Path
    source: str
    row: dict[str, Any]


@dataclass(frozen=True)
class ViewResult:
    index: Path
    entries: list[TreeEntry]


def page_name(position: int) -> str:
    """File name of the tree page at ``position``; task ids never become file names (they are data)."""
    return f"tree-{position:05d}.html"


def _number(value: float) -> float | None:
    value = float(value)
    return round(value, 4) if math.isfinite(value) else None


def _check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"Unknown pair strategy {strategy!r}; known: {sorted(STRATEGIES)}."
            f"{did_you_mean(strategy, STRATEGIES)}"
        )


def tree_payload(
    tree: SearchTree, *, strategy: str = "best_path_extremes", min_visits: int = 0, source: str = ""
) -> dict[str, Any]:
    """The JSON a tree page renders: per-node columns, the best path and the pair triples."""
    _check_strategy(strategy)
    n = tree.num_nodes
    # Failed searches make no pairs (`agentsearch pairs` skips them too).
    triples = [] if tree.error is not None else list(STRATEGIES[strategy](tree, min_visits=min_visits))
    flags = [0] * n
    for name, bit in FLAG_BITS:
        for node, value in enumerate(getattr(tree, name)):
            if value:
                flags[node] |= bit
    return {
        "meta": {
            "task_id": str(tree.task_id),
            "env": tree.env,
            "algorithm": tree.algorithm,
            "model": tree.model,
            "instruction": tree.instruction,
            "best_reward": _number(tree.best_reward),
            "success": bool(tree.success),
            "error": tree.error,
            "round": tree.round,
            "tree_id": tree.tree_id,
            "source": source,
            "strategy": strategy,
        },
        "parent": list(tree.parent),
        "depth": list(tree.depth),
        "visits": list(tree.visits),
        "q": [_number(tree.q(node)) for node in range(n)],
        "init": [_number(v) for v in tree.init_value],
        "reward": [_number(v) for v in tree.reward],
        "logprob": [_number(v) for v in tree.logprob],
        "tokens": list(tree.num_tokens),
        "count": list(tree.count),
        "iteration": list(tree.iteration),
        "flags": flags,
        "action": list(tree.action),
        "response": list(tree.response),
        "observation": list(tree.observation),
        "best_path": list(tree.best_path),
        "pairs": [[s, c, r, _number(tree.q(c) - tree.q(r))] for s, c, r in triples],
    }


_TREE_BODY = """<header class="top">
<div class="muted">{back}</div>
<h1 id="title"></h1>
<div class="controls">
 <span><b id="node-count"></b> nodes</span><span>depth <b id="max-depth"></b></span>
 <span>best reward <b id="best-reward"></b></span><span id="success"></span>
 <span>pairs <b id="pair-count"></b></span><span>model <span id="model" class="text"></span></span>
 <span class="legend">Q <span id="q-range"></span> <span class="ramp"></span></span>
</div>
<div class="controls">
 <button type="button" id="expand-all">expand all</button>
 <button type="button" id="collapse-all">collapse all</button>
 <button type="button" id="goto-best">best node</button>
 <label>go to node <input id="goto" type="number" min="0"></label>
 <span class="muted">badges: best path, chosen / rejected side of a pair, won, terminal</span>
</div>
<div id="error" class="badge b-error" hidden></div>
<details><summary>instruction</summary><pre id="instruction"></pre></details>
</header>
<div class="layout"><div id="tree"></div><div id="details"></div></div>"""


def render_tree_page(payload: dict[str, Any], *, index_href: str | None = "index.html") -> str:
    """A complete tree page for ``payload`` (from :func:`tree_payload`)."""
    back = f'<a href="{html.escape(index_href)}">all trees</a>' if index_href else ""
    return page(
        f"tree {payload['meta']['task_id']}",
        _TREE_BODY.format(back=back),
        styles=("base.css", "tree.css"),
        scripts=("tree.js",),
        data={"tree-data": payload},
    )


_INDEX_BODY = """<header class="top"><h1 id="index-title">{title}</h1>
<div class="controls">
 <label>task id <input id="search" type="search" placeholder="search"></label>
 <label>outcome <select id="won"><option value="any">any</option><option value="won">won</option>
 <option value="lost">not won</option></select></label>
 <label>best reward from <input id="min-reward" type="number" step="0.1"></label>
 <label>to <input id="max-reward" type="number" step="0.1"></label>
 <label>depth from <input id="min-depth" type="number" min="0"></label>
 <label>to <input id="max-depth" type="number" min="0"></label>
 <span><b id="shown"></b> of <b id="total"></b> trees</span>
</div></header>
<main><table><thead><tr><th data-key="position" class="num">#</th><th data-key="task_id">task</th>
<th data-key="algorithm">algorithm</th><th data-key="nodes" class="num">nodes</th>
<th data-key="depth" class="num">depth</th><th data-key="best_reward" class="num">best reward</th>
<th data-key="success">outcome</th><th data-key="pairs" class="num">pairs</th><th>file</th></tr></thead>
<tbody id="rows"></tbody></table></main>"""


def _index_row(position: int, payload: dict[str, Any]) -> dict[str, Any]:
    meta = payload["meta"]
    return {
        "position": position,
        "task_id": meta["task_id"],
        "env": meta["env"],
        "algorithm": meta["algorithm"],
        "nodes": len(payload["parent"]),
        "depth": max(payload["depth"], default=0),
        "best_reward": meta["best_reward"] if meta["best_reward"] is not None else 0.0,
        "success": meta["success"],
        "pairs": len(payload["pairs"]),
        "error": meta["error"],
        "source": meta["source"],
    }


def _selected(trees: Iterable[tuple[str, SearchTree]], task_ids: set[str] | None):
    for source, tree in trees:
        if task_ids is None or str(tree.task_id) in task_ids:
            yield source, tree


def write_tree_pages(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    task_ids: Sequence[str] | None = None,
    strategy: str = "best_path_extremes",
    min_visits: int = 0,
    title: str | None = None,
) -> ViewResult:
    """Write ``out/index.html`` and one ``out/tree-NNNNN.html`` per tree of ``paths`` (JSONL or .jsonl.gz).

    Args:
        paths: trees files (``agentsearch collect`` / ``demos`` output).
        out: output folder (created).
        task_ids: only these tasks (all when ``None``).
        strategy: the pair strategy whose pairs are marked (:data:`~agentsearch.data.pairs.STRATEGIES`).
        min_visits: as for ``agentsearch pairs --min-visits``.
        title: heading of the index page (default: the file names).

    Raises:
        ConfigError: an unknown strategy, or a requested task id in none of the files.
        DataFileError: a malformed trees file (names file and line).
    """
    _check_strategy(strategy)
    absent = [str(p) for p in paths if not Path(p).is_file()]
    if absent:
        raise ConfigError(f"No trees file {absent}.")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    wanted = {str(t) for t in task_ids} if task_ids else None
    trees = ((Path(p).name, tree) for p in paths for tree in read_trees(p))
    entries: list[TreeEntry] = []
    for position, (source, tree) in enumerate(_selected(trees, wanted)):
        payload = tree_payload(tree, strategy=strategy, min_visits=min_visits, source=source)
        target = out / page_name(position)
        target.write_text(render_tree_page(payload), encoding="utf-8")
        entries.append(TreeEntry(position, str(tree.task_id), target, source, _index_row(position, payload)))
    if wanted is not None:
        missing = sorted(wanted - {e.task_id for e in entries})
        if missing:
            raise ConfigError(f"No tree for task ids {missing} in {[str(p) for p in paths]}.")
    heading = title or ", ".join(Path(p).name for p in paths)
    index = out / "index.html"
    index.write_text(
        page(
            f"trees: {heading}",
            _INDEX_BODY.format(title=html.escape(heading)),
            scripts=("index.js",),
            data={"index-data": [e.row for e in entries]},
        ),
        encoding="utf-8",
    )
    logger.info("view: %d tree pages and %s", len(entries), index)
    return ViewResult(index, entries)
