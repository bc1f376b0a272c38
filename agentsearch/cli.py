"""The ``agentsearch`` command: a thin layer of argparse over library calls.

Every subcommand parses its options and calls one library function; nothing here is unavailable from
Python. Only this module prints.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

__all__ = ["main", "build_parser"]

Handler = Callable[[argparse.Namespace], int]


# ---------------------------------------------------------------------------- envs
def _add_envs(sub: argparse._SubParsersAction) -> None:
    envs = sub.add_parser("envs", help="list or play environments")
    envs_sub = envs.add_subparsers(dest="envs_command", required=True)
    envs_sub.add_parser("list", help="list registered environments").set_defaults(handler=_envs_list)
    play = envs_sub.add_parser("play", help="play an environment in the terminal")
    play.add_argument("env", help="short name (webshop, alfworld, math) or gymnasium id")
    play.add_argument("--task", default=None, help="task id (default: a random task of --split)")
    play.add_argument("--split", default="test", choices=["train", "eval", "test"])
    play.add_argument("--seed", type=int, default=None)
    play.set_defaults(handler=_envs_play)


def _envs_list(args: argparse.Namespace) -> int:
    from agentsearch.envs import ENVS, NAMESPACE

    for short, (name, entry_point) in ENVS.items():
        print(f"{short:10s} {NAMESPACE}/{name:14s} {entry_point}")
    return 0


def _envs_play(args: argparse.Namespace) -> int:
    from agentsearch.envs import make

    env = make(args.env, split=args.split)
    options = {"task_id": args.task} if args.task is not None else None
    observation, info = env.reset(seed=args.seed, options=options)
    print(f"task {info['task_id']}: {info['instruction']}")
    print("Type an action, `:actions` to list valid actions, `:quit` to leave.\n")
    total = 0.0
    while True:
        print(observation)
        if info.get("valid_actions") is not None:
            print(f"\n[valid actions: {len(info['valid_actions'])}; `:actions` lists them]")
        try:
            action = input("> ")
        except EOFError:
            print()
            return 0
        if action.strip() == ":quit":
            return 0
        if action.strip() == ":actions":
            for valid in info.get("valid_actions") or []:
                print(f"  {valid}")
            continue
        observation, reward, terminated, truncated, info = env.step(action)
        total += reward
        flags = " (invalid action)" if info["invalid_action"] else ""
        print(f"\nreward {reward:.3f}  total {total:.3f}  step {info['step']}{flags}")
        if terminated or truncated:
            print(observation)
            print(f"\nepisode over: {'won' if info['won'] else 'not won'}, "
                  f"{'terminated' if terminated else 'truncated'}, total reward {total:.3f}")
            return 0


# ---------------------------------------------------------------------------- collect / pairs / data
def _key_values(items: Sequence[str] | None) -> dict:
    """``["iterations=5", "selection=puct"]`` -> ``{"iterations": 5, "selection": "puct"}`` (YAML scalars)."""
    import yaml

    from agentsearch.errors import ConfigError

    values = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"Expected KEY=VALUE, got {item!r}.")
        values[key.strip().replace("-", "_")] = yaml.safe_load(value)
    return values


def _add_collect(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("collect", help="run tree search over many tasks and append the trees to a JSONL file")
    p.add_argument("--config", default=None, help="YAML of collect options (over the env's shipped defaults)")
    p.add_argument("--env", default=None, help="webshop, alfworld, math or a gymnasium id (default: webshop)")
    p.add_argument("--split", default=None, choices=["train", "eval", "test"])
    p.add_argument("--tasks", type=int, default=None, help="the first N tasks of the split")
    p.add_argument("--task-ids", default=None, help="comma-separated task ids (instead of --tasks)")
    p.add_argument("--algo", default=None, help="mcts, dfsdt, beam or best_of_n")
    p.add_argument("--model", default=None, help="smollm2-135m, tiny-random, a model folder, or `random`")
    p.add_argument("--backend", default=None, help="hf, vllm or openai")
    p.add_argument("--concurrency", type=int, default=None, help="searches running at once (K)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--round", type=int, default=None, help="expert-iteration round stored in each tree")
    p.add_argument("--out", default=None, help="trees file (appended to; reruns skip finished tasks)")
    p.add_argument("--search", action="append", metavar="KEY=VALUE", help="search option, e.g. iterations=10")
    p.add_argument("--agent", action="append", metavar="KEY=VALUE", help="agent option, e.g. react=false")
    p.add_argument("--llm", action="append", metavar="KEY=VALUE", help="backend option, e.g. dtype=float32")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=_collect)


def _collect(args: argparse.Namespace) -> int:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from agentsearch.search.collect import collect, load_collect_config

    overrides = {
        "env": args.env, "split": args.split, "tasks": args.tasks, "algo": args.algo, "model": args.model,
        "backend": args.backend, "concurrency": args.concurrency, "seed": args.seed, "round": args.round,
        "out": args.out, "search": _key_values(args.search) or None, "agent": _key_values(args.agent) or None,
        "llm": _key_values(args.llm) or None,
        "task_ids": [t for t in args.task_ids.split(",") if t] if args.task_ids else None,
    }
    config = load_collect_config(args.config, overrides)
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
    )
    final = {}
    with Progress(*columns, disable=args.no_progress) as bar:
        task = bar.add_task(f"{config.algo} {config.env}", total=None, stats="")

        def on_progress(p) -> None:
            rate = p.nodes / p.elapsed if p.elapsed else 0.0
            tokens = p.tokens / p.elapsed if p.elapsed else 0.0
            won = f"won {p.successes}/{p.done}  failed {p.failures}"
            stats = f"{won}  {rate:,.1f} nodes/s  {tokens:,.1f} tok/s"
            bar.update(task, total=p.total, completed=p.done, stats=stats)
            final.update(done=p.done, total=p.total, skipped=p.skipped, stats=stats)

        out = collect(config, progress=on_progress)
    if final:
        done = f"{final['done']}/{final['total']} trees ({final['skipped']} already there)"
        print(f"{out}: wrote {done}; {final['stats']}")
    else:
        print(f"{out}: nothing to do (every task is already in the file)")
    return 0


def _add_pairs(sub: argparse._SubParsersAction) -> None:
    from agentsearch.data.pairs import STRATEGIES

    p = sub.add_parser("pairs", help="extract step-level preference pairs (and value labels) from trees")
    p.add_argument("trees", nargs="+", help="trees JSONL files written by `agentsearch collect`")
    p.add_argument("--strategy", default="best_path_extremes", choices=sorted(STRATEGIES))
    p.add_argument("--min-gap", type=float, default=0.0, help="smallest Q gap of a pair")
    p.add_argument("--out", required=True, help="pairs JSONL (TRL conversational preference format)")
    p.add_argument("--values", default=None, help="also write per-step value labels to this JSONL file")
    p.set_defaults(handler=_pairs)


def _pairs(args: argparse.Namespace) -> int:
    from agentsearch.data import pair_stats, preference_pairs, value_labels, write_jsonl
    from agentsearch.search.tree import read_trees

    pairs, values, trees, failed = [], [], 0, 0
    for path in args.trees:
        for tree in read_trees(path):
            if tree.error is not None:
                failed += 1
                continue
            trees += 1
            pairs += preference_pairs(tree, args.strategy, min_gap=args.min_gap)
            if args.values:
                values += value_labels(tree)
    write_jsonl(pairs, args.out)
    stats = pair_stats(pairs)
    print(f"{args.out}: {len(pairs)} pairs from {trees} trees ({failed} failed trees skipped); "
          f"{len(pairs) / max(trees, 1):.2f} pairs per tree, mean gap {stats['mean_gap']:.3f}")
    if args.values:
        write_jsonl(values, args.values)
        print(f"{args.values}: {len(values)} value labels")
    return 0


def _add_data(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="inspect trees and pairs files")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    stats = data_sub.add_parser("stats", help="success rates, pairs per depth, gap histogram")
    stats.add_argument("files", nargs="+", help="trees or pairs JSONL files")
    stats.set_defaults(handler=_data_stats)


def _data_stats(args: argparse.Namespace) -> int:
    import json

    from agentsearch.data import pair_stats, read_jsonl, tree_stats
    from agentsearch.search.tree import read_trees

    for path in args.files:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline()
        if '"schema_version"' in first:
            print(f"{path}: search trees")
            print(json.dumps(tree_stats(read_trees(path)), indent=2))
            continue
        figures = pair_stats(read_jsonl(path))
        histogram = figures.pop("gap_histogram")
        print(f"{path}: preference pairs")
        print(json.dumps(figures, indent=2))
        print("gap histogram:")
        top = max((count for *_, count in histogram), default=0) or 1
        for low, high, count in histogram:
            print(f"  [{low:.1f}, {high:.1f})  {count:6d}  {'#' * round(40 * count / top)}")
    return 0


# ---------------------------------------------------------------------------- main
#: Each entry adds one subcommand group to the parser.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_envs,
    _add_collect,
    _add_pairs,
    _add_data,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentsearch", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    handler: Handler = args.handler
    from agentsearch.errors import AgentSearchError

    try:
        return handler(args)
    except AgentSearchError as err:
        print(f"agentsearch: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
