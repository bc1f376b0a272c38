"""Figures of a headline run (``scripts/headline.sh``) for BENCHMARKS.md.

Prints, from the run folder:

* the collection (issue 6): on the first ``--first`` train tasks, the fraction where MCTS found reward 1
  and reward > 0 against the greedy agent on the same tasks, mean best reward, nodes and pairs per tree,
  and each search's own nodes/s; then the same for every MCTS tree;
* the evaluation (issue 7): per configuration, mean score and success rate with 95% bootstrap
  intervals, on the test tasks every configuration finished, and each configuration's paired difference
  in score and in success from greedy, and Q-guided's from best-of-N (the same kind of candidates, picked
  by the Q-model instead of the policy's own log-probability: the value of the Q-model itself), and
  on how many tasks each plays other actions than its baseline, wins what the baseline loses, and the
  reverse.

Usage: ``python benchmarks/report_headline.py runs/ws [--first 100] [--eval eval]`` (an ``iterate`` run:
``runs/ws-sft/round0``); ``--also qguided-no-greedy=eval-no-greedy`` (repeatable) adds the Q-guided
episodes of another evaluation folder of the run under a new configuration name, compared with greedy
and with ``qguided``; ``--rounds-trees ../round0/trees.jsonl`` (a later round of ``iterate``) adds the
collection figures of that file's trees on the task ids this round searched, so a Q-guided collection
is set against the plain policy's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from agentsearch.data import preference_pairs, tree_stats
from agentsearch.eval import bootstrap_ci, format_table, read_episodes, summarize
from agentsearch.search.tree import read_trees


def tree_figures(trees: list, strategy: str = "best_path_extremes") -> dict:
    stats = tree_stats(trees)
    ok = [t for t in trees if t.error is None]
    pairs = sum(len(preference_pairs(t, strategy)) for t in ok)
    return {
        "trees": len(ok),
        "reward_1": sum(t.best_reward >= 1.0 for t in ok) / max(len(ok), 1),
        "reward_above_0": sum(t.best_reward > 0 for t in ok) / max(len(ok), 1),
        "mean_best_reward": stats["mean_best_reward"],
        "nodes_per_tree": stats["nodes_per_tree"],
        "pairs_per_tree": pairs / max(len(ok), 1),
        "nodes_per_search_second": stats["nodes_per_search_second"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the run folder (runs/ws)")
    parser.add_argument("--first", type=int, default=100, help="train tasks compared with greedy")
    parser.add_argument("--eval", default="eval", help="the evaluation folder inside the run folder")
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="NAME=FOLDER",
        help="another evaluation folder of the run, its episodes reported as config NAME",
    )
    parser.add_argument(
        "--rounds-trees",
        type=Path,
        help="another round's trees (relative to the run folder), compared on this round's task ids",
    )
    args = parser.parse_args()

    mcts = list(read_trees(args.run / "trees.jsonl"))
    greedy_path = args.run / "greedy_train.jsonl"
    greedy = list(read_trees(greedy_path)) if greedy_path.exists() else []
    first = {t.task_id for t in greedy} if greedy else {t.task_id for t in mcts[: args.first]}
    report = {
        "collection_first_tasks": {
            "mcts": tree_figures([t for t in mcts if t.task_id in first]),
            "greedy": tree_figures(greedy) if greedy else None,
        },
        "collection_all_mcts": tree_figures(mcts),
    }
    if args.rounds_trees:
        searched = {t.task_id for t in mcts}
        other = [t for t in read_trees(args.run / args.rounds_trees) if t.task_id in searched]
        report[f"collection_same_tasks_{args.rounds_trees}"] = tree_figures(other)
    print(json.dumps(report, indent=2))

    episodes_path = args.run / args.eval / "episodes.jsonl"
    if episodes_path.exists():
        records = read_episodes(episodes_path)
        for extra in args.also:
            name, _, folder = extra.partition("=")
            # The folder's Q-guided episodes (a resumed headline folder also holds greedy's copied in).
            records += [
                {**r, "config": name}
                for r in read_episodes(args.run / folder / "episodes.jsonl")
                if r["config"] == "qguided"
            ]
        configs = sorted({r["config"] for r in records})
        finished = set.intersection(*({r["task_id"] for r in records if r["config"] == c} for c in configs))
        summaries = summarize([r for r in records if r["task_id"] in finished])
        print(f"\nevaluation on {len(finished)} test tasks finished by every configuration ({configs}):")
        print(format_table(summaries))
        # Paired over tasks (same tasks and seeds in every configuration): tighter than comparing the
        # two marginal intervals.
        versus = [(c, "greedy") for c in configs if c != "greedy" and "greedy" in configs]
        versus += [("qguided", "bestofn")] if {"qguided", "bestofn"} <= set(configs) else []
        also = [extra.partition("=")[0] for extra in args.also]
        versus += [(name, "qguided") for name in also if "qguided" in configs]
        for field in ("score", "success"):
            value = {(r["config"], r["task_id"]): float(r[field]) for r in records}
            for config, baseline in versus:
                diff = bootstrap_ci([value[config, t] - value[baseline, t] for t in sorted(finished)])
                print(
                    f"{config} - {baseline}, {field} per task (paired): "
                    f"{diff.mean:+.3f} [{diff.low:+.3f}, {diff.high:+.3f}]"
                )
        # Where the difference comes from: how often the two play other actions, and the tasks each
        # wins that the other loses.
        actions = {(r["config"], r["task_id"]): r["actions"] for r in records}
        won = {(r["config"], r["task_id"]): bool(r["success"]) for r in records}
        for config, baseline in versus:
            same = sum(actions[config, t] == actions[baseline, t] for t in finished)
            gains = sum(won[config, t] and not won[baseline, t] for t in finished)
            losses = sum(won[baseline, t] and not won[config, t] for t in finished)
            print(
                f"{config} vs {baseline}: the same actions on {same} of {len(finished)} tasks; "
                f"{config} wins {gains} that {baseline} loses and loses {losses} that it wins"
            )
            # How early the two part: the step (1-based) of the first action that differs.
            parted = [
                _first_difference(actions[config, t], actions[baseline, t])
                for t in finished
                if actions[config, t] != actions[baseline, t]
            ]
            if parted:
                by = {k: sum(step <= k for step in parted) for k in (1, 3, 10)}
                print(
                    f"  they part at step 1 on {by[1]}, by step 3 on {by[3]}, by step 10 on {by[10]} "
                    f"of the {len(parted)} tasks where they differ"
                )


def _first_difference(a: list[str], b: list[str]) -> int:
    """The 1-based step of the first action that differs (one list a prefix of the other: after it)."""
    return next(
        (i + 1 for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)) + 1
    )


if __name__ == "__main__":
    main()
