"""``agentsearch report``: one static HTML page summarising a run folder.

The folder is searched for what the other commands write, wherever it lies (``quickstart`` and
``iterate`` nest it under ``round<r>/``, ``scripts/headline.sh`` keeps it flat):

* evaluations: folders with ``episodes.jsonl`` (and ``summary.json``) from ``agentsearch eval``;
* trees files (``collect``, ``demos``) and pairs files (``pairs``), told apart by their first line;
* ``train-q`` outputs (``agentsearch_meta.json``; curves from ``trainer_state.json``, in the folder or
  its newest complete checkpoint) and ``train-sft`` outputs (``agentsearch_sft.json`` and its curve).

The page shows the evaluation with 95% bootstrap intervals (and each configuration's paired score
difference from the first), per-task outcomes side by side, collection and pair statistics, and
training curves; with ``trees=True`` the trees files are also rendered by :mod:`.tree_page` and linked.
The report only reads: a partial last line (a run still writing) is left alone and skipped.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from agentsearch.data.stats import pair_stats, tree_stats
from agentsearch.errors import AgentSearchError, ConfigError
from agentsearch.eval import EPISODES_FILE, bootstrap_ci, summarize
from agentsearch.files import open_maybe_gzipped
from agentsearch.search.tree import SearchTree, read_trees
from agentsearch.viewer.assets import page
from agentsearch.viewer.svg import bar_chart, interval_chart, line_chart
from agentsearch.viewer.tree_page import write_tree_pages

__all__ = ["ReportResult", "RunContents", "find_run_contents", "write_report"]

logger = logging.getLogger(__name__)

TRAIN_Q_META = "agentsearch_meta.json"
TRAIN_SFT_META = "agentsearch_sft.json"
TRAINER_STATE = "trainer_state.json"


@dataclass
class RunContents:
    """What :func:`find_run_contents` found in a run folder (paths in walk order)."""

    evals: list[Path] = field(default_factory=list)
    trees: list[Path] = field(default_factory=list)
    pairs: list[Path] = field(default_factory=list)
    qmodels: list[Path] = field(default_factory=list)
    sft: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class ReportResult:
    """The report page, what it was built from, and how many tree pages were written beside it."""

    index: Path
    contents: RunContents
    tree_pages: int


def _first_line(path: Path) -> str:
    try:
        with open_maybe_gzipped(path) as handle:
            return handle.readline(1 << 22)
    except (OSError, UnicodeDecodeError, EOFError):
        return ""


def find_run_contents(run: Path, *, skip: Path | None = None) -> RunContents:
    """Classify the files of ``run`` (``skip``: a folder to leave out, the report's own output)."""
    found = RunContents()
    for folder, dirs, files in os.walk(run):
        here = Path(folder)
        # Checkpoints repeat what their parent holds; the report's own folder holds pages.
        dirs[:] = sorted(
            d for d in dirs if not d.startswith("checkpoint-") and (skip is None or here / d != skip)
        )
        names = set(files)
        if EPISODES_FILE in names:
            found.evals.append(here)
        if TRAIN_Q_META in names:
            found.qmodels.append(here)
        if TRAIN_SFT_META in names:
            found.sft.append(here)
        for name in sorted(names - {EPISODES_FILE}):
            if not (name.endswith(".jsonl") or name.endswith(".jsonl.gz")):
                continue
            line = _first_line(here / name)
            if '"schema_version"' in line and '"nodes"' in line:
                found.trees.append(here / name)
            elif '"chosen"' in line and '"rejected"' in line:
                found.pairs.append(here / name)
    return found


def _records(path: Path) -> Iterator[dict[str, Any]]:
    """JSON objects of a JSONL file; a partial last line (a writer in progress) is skipped, not cut."""
    data = path.read_bytes()
    complete, _, _ = data.rpartition(b"\n")
    for raw in complete.split(b"\n"):
        if raw.strip():
            record = json.loads(raw)
            if isinstance(record, dict):
                yield record


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _fmt(value: Any) -> str:
    number = _finite(value)
    if number is None:
        return escape(str(value))
    return str(int(number)) if number.is_integer() and abs(number) < 1e12 else f"{number:.3f}"


def _table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """A table; cells are trusted HTML (escape data before passing it)."""
    def cls(i: int) -> str:
        return " class=num" if i in numeric else ""

    head = "".join(f"<th{cls(i)}>{escape(h)}</th>" for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _rel(path: Path, run: Path) -> str:
    try:
        return str(path.relative_to(run)) or "."
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------- evaluation
def _interval(raw: Any) -> tuple[float, float, float] | None:
    if not isinstance(raw, dict):
        return None
    values = [_finite(raw.get(k)) for k in ("mean", "low", "high")]
    return None if None in values else (values[0], values[1], values[2])


def _task_order(task_id: str) -> tuple[int, float, str]:
    number = _finite(task_id)
    return (0, number, "") if number is not None else (1, 0.0, task_id)


def _eval_section(folder: Path, run: Path, tree_links: dict[str, str]) -> str:
    episodes = list(_records(folder / EPISODES_FILE))
    episodes = [e for e in episodes if isinstance(e.get("config"), str) and "task_id" in e]
    for e in episodes:
        e["task_id"] = str(e["task_id"])
    summary_path = folder / "summary.json"
    summaries: dict[str, dict[str, Any]] = {}
    source = "episodes.jsonl (no summary.json yet)"
    if summary_path.is_file():
        try:
            summaries = dict(json.loads(summary_path.read_text(encoding="utf-8")).get("summaries") or {})
            source = "summary.json"
        except (ValueError, AttributeError) as err:
            source = f"episodes.jsonl (summary.json unreadable: {err})"
    if not summaries and episodes:
        summaries = {
            name: {"episodes": s.episodes, "score": vars(s.score), "success": vars(s.success),
                   "steps": vars(s.steps), "tokens": s.tokens}
            for name, s in summarize(episodes, resamples=2000).items()
        }
    configs = list(summaries) or sorted({e["config"] for e in episodes})
    parts = [f"<h3>{escape(_rel(folder, run))}</h3>",
             f'<p class="muted">{len(episodes)} episodes; intervals from {escape(source)}</p>']
    rows = []
    for name in configs:
        s = summaries.get(name, {})
        cells = [escape(name), _fmt(s.get("episodes", ""))]
        for metric in ("score", "success", "steps"):
            iv = _interval(s.get(metric))
            cells.append(f"{iv[0]:.3f} [{iv[1]:.3f}, {iv[2]:.3f}]" if iv else "")
        cells.append(_fmt(s.get("tokens", "")))
        rows.append(cells)
    parts.append(_table(["config", "episodes", "score [95% CI]", "success [95% CI]", "steps [95% CI]",
                         "tokens"], rows, {1, 5}))
    charts = []
    for metric, title in (("score", "mean score, 95% CI"), ("success", "success rate, 95% CI")):
        points = [(name, *iv) for name in configs if (iv := _interval(summaries.get(name, {}).get(metric)))]
        if points:
            top = max(1.0, max(p[3] for p in points))
            charts.append(interval_chart(points, title=title, low=0.0, high=top))
    charts.append(_paired_chart(episodes, configs))
    parts.append('<div class="controls">' + "".join(c for c in charts if c) + "</div>")
    parts.append(_outcomes_table(episodes, configs, tree_links))
    return "\n".join(parts)


def _paired_chart(episodes: list[dict[str, Any]], configs: list[str]) -> str:
    """Each configuration's score minus the first one's, on the tasks both finished (bootstrap CI)."""
    if len(configs) < 2:
        return ""
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    for e in episodes:
        if (score := _finite(e.get("score"))) is not None:
            scores[e["config"]][e["task_id"]] = score
    base = configs[0]
    rows = []
    for name in configs[1:]:
        shared = sorted(set(scores[base]) & set(scores[name]))
        if shared:
            iv = bootstrap_ci([scores[name][t] - scores[base][t] for t in shared], resamples=5000)
            rows.append((f"{name} - {base}", iv.mean, iv.low, iv.high))
    if not rows:
        return ""
    reach = max(0.1, max(max(abs(r[2]), abs(r[3])) for r in rows))
    return interval_chart(
        rows, title="paired score difference, 95% CI", low=-reach, high=reach, zero_line=True
    )


def _score_colour(score: float | None) -> str:
    if score is None:
        return "#fff"
    t = max(0.0, min(1.0, score))
    return f"hsl({round(120 * t)} 55% {92 - 10 * t:.0f}%)"


def _outcomes_table(episodes: list[dict[str, Any]], configs: list[str], tree_links: dict[str, str]) -> str:
    by_task: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for e in episodes:
        by_task[e["task_id"]][e["config"]] = e
    header = "".join(f"<th>{escape(c)}</th>" for c in configs)
    rows = []
    for task in sorted(by_task, key=_task_order):
        link = tree_links.get(task)
        task_cell = escape(task) + (f' <a href="{escape(link)}">tree</a>' if link else "")
        cells = [f'<td class="cell-text">{task_cell}</td>']
        for name in configs:
            e = by_task[task].get(name)
            if e is None:
                cells.append('<td class="muted">-</td>')
                continue
            score = _finite(e.get("score"))
            won = ' <span class="badge b-won">won</span>' if e.get("success") is True else ""
            actions = e.get("actions") if isinstance(e.get("actions"), list) else []
            rewards = e.get("rewards") if isinstance(e.get("rewards"), list) else []
            steps = "".join(
                f"<li><span class=text>{escape(str(a))}</span> <span class=muted>r={_fmt(r)}</span></li>"
                for a, r in zip(actions, rewards + [""] * (len(actions) - len(rewards)), strict=False)
            )
            cells.append(
                f'<td style="background:{_score_colour(score)}"><details><summary>{_fmt(e.get("score"))}'
                f'{won} <span class="muted">{_fmt(e.get("steps", ""))} steps</span></summary>'
                f"<ol>{steps}</ol></details></td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<details open><summary>per-task outcomes ({len(by_task)} tasks; click a cell for its actions)'
        f"</summary><table><thead><tr><th>task</th>{header}</tr></thead><tbody>{''.join(rows)}</tbody>"
        "</table></details>"
    )


# ---------------------------------------------------------------------------- collection
def depth_outcomes(trees: list[SearchTree]) -> list[dict[str, float]]:
    """Per depth: nodes, terminal nodes, won nodes, won / terminal, and trees whose first win is there."""
    nodes, terminal, won, first_win = Counter(), Counter(), Counter(), Counter()
    for tree in trees:
        for n in range(tree.num_nodes):
            if tree.diverged[n]:
                continue
            d = tree.depth[n]
            nodes[d] += 1
            terminal[d] += bool(tree.terminal[n])
            won[d] += bool(tree.won[n])
        wins = [tree.depth[n] for n in range(tree.num_nodes) if tree.won[n] and not tree.diverged[n]]
        if wins:
            first_win[min(wins)] += 1
    return [
        {"depth": d, "nodes": nodes[d], "terminal": terminal[d], "won": won[d],
         "won_per_terminal": won[d] / terminal[d] if terminal[d] else 0.0, "first_wins": first_win[d]}
        for d in sorted(nodes)
    ]


def _histogram(values: list[int], bins: int = 10) -> list[tuple[str, float]]:
    if not values:
        return []
    lo, hi = min(values), max(values)
    width = max(1, math.ceil((hi - lo + 1) / bins))
    counts = Counter((v - lo) // width for v in values)
    return [(str(lo + i * width), float(counts[i])) for i in range(max(counts) + 1)]


def _trees_section(path: Path, run: Path, view_href: str | None) -> str:
    trees = list(read_trees(path))
    ok = [t for t in trees if t.error is None]
    stats = tree_stats(trees)
    link = f' <a href="{escape(view_href)}">browse the trees</a>' if view_href else ""
    parts = [f"<h3>{escape(_rel(path, run))}{link}</h3>"]
    keys = ("trees", "failed", "success_rate", "mean_best_reward", "nodes_per_tree", "tokens_per_tree",
            "nodes_per_search_second")
    parts.append(_table(list(keys) + ["algorithms"],
                        [[_fmt(stats[k]) for k in keys] + [escape(json.dumps(stats["by_algorithm"]))]],
                        set(range(len(keys)))))
    depths = depth_outcomes(ok)
    charts = [
        bar_chart(_histogram([t.num_nodes for t in ok]), title="trees by node count (bin start)"),
        bar_chart([(str(d["depth"]), d["won_per_terminal"]) for d in depths],
                  title="won / terminal nodes per depth", high=1.0),
    ]
    parts.append('<div class="controls">' + "".join(charts) + "</div>")
    parts.append(_table(
        ["depth", "nodes", "terminal", "won", "won / terminal", "trees first won here"],
        [[_fmt(d[k]) for k in ("depth", "nodes", "terminal", "won", "won_per_terminal", "first_wins")]
         for d in depths],
        set(range(6)),
    ))
    return "\n".join(parts)


def _pairs_section(path: Path, run: Path) -> str:
    stats = pair_stats(_records(path))
    parts = [f"<h3>{escape(_rel(path, run))}</h3>"]
    parts.append(_table(["pairs", "trees", "pairs per tree", "mean gap"],
                        [[_fmt(stats[k]) for k in ("pairs", "trees", "pairs_per_tree", "mean_gap")]],
                        {0, 1, 2, 3}))
    charts = [
        bar_chart([(str(d), float(c)) for d, c in stats["pairs_per_depth"].items()], title="pairs per depth"),
        bar_chart([(f"{lo:g}", float(c)) for lo, _, c in stats["gap_histogram"]], title="Q gap (bin start)"),
    ]
    parts.append('<div class="controls">' + "".join(charts) + "</div>")
    return "\n".join(parts)


# ---------------------------------------------------------------------------- training
def _trainer_log(folder: Path) -> list[dict[str, Any]]:
    """``log_history`` of the folder's ``trainer_state.json``, else of its newest checkpoint that has one."""
    def step(p: Path) -> int:
        suffix = p.name.rsplit("-", 1)[-1]
        return int(suffix) if suffix.isdigit() else -1

    candidates = [folder / TRAINER_STATE] + [
        c / TRAINER_STATE for c in sorted(folder.glob("checkpoint-*"), key=step, reverse=True)
    ]
    for path in candidates:
        try:
            history = json.loads(path.read_text(encoding="utf-8")).get("log_history")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(history, list):
            return [h for h in history if isinstance(h, dict)]
    return []


def _series(entries: list[dict[str, Any]], key: str) -> list[tuple[float, float]]:
    points = []
    for entry in entries:
        x, y = _finite(entry.get("step")), _finite(entry.get(key))
        if x is not None and y is not None:
            points.append((x, y))
    return points


def _curves(entries: list[dict[str, Any]], groups: list[tuple[str, list[str]]]) -> str:
    charts = []
    for title, keys in groups:
        series = {k: _series(entries, k) for k in keys}
        if any(series.values()):
            charts.append(line_chart({k: v for k, v in series.items() if v}, title=title))
    if not charts:
        return '<p class="muted">no curve logged</p>'
    return '<div class="controls">' + "".join(charts) + "</div>"


def _metrics_table(metrics: Any) -> str:
    if not isinstance(metrics, dict) or not metrics:
        return ""
    rows = [[escape(str(k)), _fmt(v)] for k, v in sorted(metrics.items(), key=lambda kv: str(kv[0]))]
    return f"<details><summary>final metrics</summary>{_table(['metric', 'value'], rows, {1})}</details>"


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _qmodel_section(folder: Path, run: Path) -> str:
    meta = _read_meta(folder / TRAIN_Q_META)
    data = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    facts = (f"{meta.get('target', '?')} on {meta.get('base_model', '?')} ({meta.get('adapter', '?')}), "
             f"beta {meta.get('beta', '?')}, {data.get('pairs', '?')} pairs, round {meta.get('round', '?')}")
    log = _trainer_log(folder)
    curves = _curves(log, [
        ("DPO loss", ["loss", "eval_loss"]),
        ("pair accuracy", ["rewards/accuracies", "eval_rewards/accuracies"]),
        ("reward margin", ["rewards/margins", "eval_rewards/margins"]),
    ])
    return (f"<h3>train-q: {escape(_rel(folder, run))}</h3><p>{escape(facts)}</p>{curves}"
            f"{_metrics_table(meta.get('metrics'))}")


def _sft_section(folder: Path, run: Path) -> str:
    meta = _read_meta(folder / TRAIN_SFT_META)
    data = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    facts = (f"{meta.get('base_model', '?')} ({meta.get('adapter', '?')}) on {meta.get('env', '?')}, "
             f"{data.get('train_paths', '?')} train paths, {data.get('heldout_paths', '?')} held out")
    curve = meta.get("curve") if isinstance(meta.get("curve"), list) else []
    entries = [c for c in curve if isinstance(c, dict)] or _trainer_log(folder)
    curves = _curves(entries, [
        ("loss", ["loss", "eval_loss"]),
        ("held-out action accuracy", ["eval_action_accuracy"]),
    ])
    return (f"<h3>train-sft: {escape(_rel(folder, run))}</h3><p>{escape(facts)}</p>{curves}"
            f"{_metrics_table(meta.get('metrics'))}")


# ---------------------------------------------------------------------------- the page
def _guarded(what: str, build: Callable[[], str]) -> str:
    """A section, or a visible note when its files cannot be read (the rest of the report still renders)."""
    try:
        return build()
    except Exception as err:  # one unreadable file must not sink the whole report
        logger.warning("report: skipped %s: %s", what, err)
        return f'<p class="badge b-error">could not read {escape(what)}: {escape(str(err))}</p>'


def write_report(run: str | os.PathLike[str], out: str | os.PathLike[str] | None = None, *,
                 trees: bool = True) -> ReportResult:
    """Write ``out/index.html`` (default ``RUN/report/``) for the run folder ``run``.

    Args:
        run: the run folder.
        out: output folder.
        trees: also render every trees file with ``agentsearch view`` (under ``out/trees/<k>/``) and link
            the collection statistics and the per-task outcomes to them.

    Raises:
        ConfigError: ``run`` is not a folder, or holds nothing the report knows.
    """
    run = Path(run)
    if not run.is_dir():
        raise ConfigError(f"Run folder {run} does not exist.")
    out = Path(out) if out is not None else run / "report"
    inside = out.resolve().is_relative_to(run.resolve())
    found = find_run_contents(run, skip=out.resolve() if inside else None)
    if not any((found.evals, found.trees, found.pairs, found.qmodels, found.sft)):
        raise ConfigError(
            f"{run} holds no evaluation, trees, pairs or training output; expected what `agentsearch "
            "quickstart`, `collect`, `eval`, `train-q` or `train-sft` write."
        )
    out.mkdir(parents=True, exist_ok=True)
    view_hrefs: dict[Path, str] = {}
    tree_links: dict[str, str] = {}
    pages = 0
    if trees:
        for k, path in enumerate(found.trees):
            href = f"trees/{k}"
            try:
                result = write_tree_pages([path], out / href, title=_rel(path, run))
            except (AgentSearchError, OSError, ValueError) as err:  # the collection section shows why
                logger.warning("report: no tree pages for %s: %s", path, err)
                continue
            view_hrefs[path] = f"{href}/index.html"
            pages += len(result.entries)
            for entry in result.entries:
                tree_links.setdefault(entry.task_id, f"{href}/{entry.page.name}")
    sections = []
    if found.evals:
        sections.append("<h2>Evaluation</h2>")
        sections += [_guarded(str(f), lambda f=f: _eval_section(f, run, tree_links)) for f in found.evals]
    if found.trees:
        sections.append("<h2>Collection</h2>")
        sections += [
            _guarded(str(p), lambda p=p: _trees_section(p, run, view_hrefs.get(p))) for p in found.trees
        ]
    if found.pairs:
        sections.append("<h2>Preference pairs</h2>")
        sections += [_guarded(str(p), lambda p=p: _pairs_section(p, run)) for p in found.pairs]
    if found.qmodels or found.sft:
        sections.append("<h2>Training</h2>")
        sections += [_guarded(str(f), lambda f=f: _qmodel_section(f, run)) for f in found.qmodels]
        sections += [_guarded(str(f), lambda f=f: _sft_section(f, run)) for f in found.sft]
    body = (f'<header class="top"><h1>Run report: {escape(run.resolve().name)}</h1>'
            f'<div class="muted">{escape(str(run))}</div></header><main>{"".join(sections)}</main>')
    index = out / "index.html"
    index.write_text(page(f"report {run.resolve().name}", body), encoding="utf-8")
    logger.info("report: %s", index)
    return ReportResult(index, found, pages)
