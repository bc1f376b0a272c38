"""The ``agentsearch`` command: a thin layer of argparse over library calls.

Every subcommand parses its options and calls one library function; nothing here is unavailable from
Python. Only this module prints.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser", "parse_args"]

Handler = Callable[[argparse.Namespace], int]


# ---------------------------------------------------------------------------- envs
def _add_envs(sub: argparse._SubParsersAction) -> None:
    envs = sub.add_parser("envs", help="list or play environments")
    envs_sub = envs.add_subparsers(dest="envs_command", required=True)
    envs_sub.add_parser("list", help="list registered environments").set_defaults(handler=_envs_list)
    play = envs_sub.add_parser("play", help="play an environment in the terminal")
    play.add_argument("env", help=_env_help())
    play.add_argument("--task", default=None, help="task id (default: a random task of --split)")
    play.add_argument("--split", default="test", choices=["train", "eval", "test"])
    play.add_argument("--seed", type=int, default=None)
    play.set_defaults(handler=_envs_play)


def _env_help(default: str | None = None) -> str:
    """``--env`` help from the plug-in registry: every registered short name, or a gymnasium id."""
    from agentsearch.plugins import env_plugins

    names = ", ".join(env_plugins())
    tail = f" (default: {default})" if default else ""
    return f"{names}, or a gymnasium text env id (`module:Id` imports module first; see --import){tail}"


def _algo_help() -> str:
    """``--algo`` help from the search algorithm registry."""
    from agentsearch.search import algorithm_names

    return f"search algorithm: {', '.join(algorithm_names())}"


def _envs_list(args: argparse.Namespace) -> int:
    from agentsearch.plugins import env_plugins

    for name, plugin in env_plugins().items():
        missing = "" if plugin.available else f"  [needs: pip install 'agentsearch[{plugin.extra}]']"
        print(f"{name:12s} {plugin.env_id:28s} {plugin.description}{missing}")
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
def _add_collect(sub: argparse._SubParsersAction) -> None:
    from agentsearch.cli_config import ConfigFlags
    from agentsearch.search.collect import CollectConfig

    p = sub.add_parser(
        "collect", help="run tree search over many tasks and append the trees to a JSONL file",
        description="Run tree search over many tasks and append the trees to a JSONL file. Options not "
                    "given come from the env's shipped config (search/configs/<env>.yaml), else the "
                    "CollectConfig defaults shown.")
    flags = ConfigFlags(CollectConfig)
    flags.add(p, helps={"env": _env_help(), "algo": _algo_help(),
                        "model": "smollm2-135m, tiny-random, a model folder, or `random`"})
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_executor_args(p)
    p.set_defaults(handler=_collect, config_flags=flags)


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

    # --config was applied as the parser's defaults: the values given sit over the env's shipped config.
    config = load_collect_config(None, args.config_flags.values(args))
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

        out = collect(config, progress=on_progress, executor=_executor(args))
    if final:
        done = f"{final['done']}/{final['total']} trees ({final['skipped']} already there)"
        print(f"{out}: wrote {done}; {final['stats']}")
    else:
        print(f"{out}: nothing to do (every task is already in the file)")
    return 0


def _add_executor_args(p: argparse.ArgumentParser) -> None:
    """``--executor``, ``--address`` and ``--workers`` (:class:`~agentsearch.run.ExecutorConfig`'s fields)."""
    from agentsearch.cli_config import ConfigFlags
    from agentsearch.run.executor import ExecutorConfig

    ConfigFlags(ExecutorConfig).add(p)


def _executor(args: argparse.Namespace):
    from agentsearch.cli_config import ConfigFlags
    from agentsearch.run.executor import ExecutorConfig

    return ConfigFlags(ExecutorConfig).build(args).make()


def _add_pairs(sub: argparse._SubParsersAction) -> None:
    from agentsearch.data.pairs import STRATEGIES

    p = sub.add_parser("pairs", help="extract step-level preference pairs (and value labels) from trees")
    p.add_argument("trees", nargs="+", help="trees JSONL files written by `agentsearch collect`")
    p.add_argument("--strategy", default="best_path_extremes", choices=sorted(STRATEGIES))
    p.add_argument("--min-gap", type=float, default=0.0, help="smallest Q gap of a pair")
    p.add_argument("--min-visits", type=int, default=0,
                   help="fewest visits a non-terminal action needs to enter a pair (0: the paper; 1: only "
                        "actions the search explored)")
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
            pairs += preference_pairs(tree, args.strategy, min_gap=args.min_gap, min_visits=args.min_visits)
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

    from agentsearch.data import pair_stats, tree_stats
    from agentsearch.search.tree import read_trees
    from agentsearch.train.pairs import read_pair_records

    for path in args.files:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline()
        if '"schema_version"' in first:
            print(f"{path}: search trees")
            print(json.dumps(tree_stats(read_trees(path)), indent=2))
            continue
        # The same checks as train-q: a pair lacking a side is an error naming its line, not a count.
        figures = pair_stats(record.meta for record in read_pair_records(path))
        histogram = figures.pop("gap_histogram")
        print(f"{path}: preference pairs")
        print(json.dumps(figures, indent=2))
        print("gap histogram:")
        top = max((count for *_, count in histogram), default=0) or 1
        for low, high, count in histogram:
            print(f"  [{low:.1f}, {high:.1f})  {count:6d}  {'#' * round(40 * count / top)}")
    return 0


# ---------------------------------------------------------------------------- demos / train-sft
def _add_demos(sub: argparse._SubParsersAction) -> None:
    from agentsearch.cli_config import ConfigFlags
    from agentsearch.data.demos import DemosConfig

    p = sub.add_parser("demos", help="write expert demonstrations (or tree paths that won) as one-path trees")
    flags = ConfigFlags(DemosConfig, keep_commas={"from_trees"})
    flags.add(p, helps={"env": _env_help()})
    _add_executor_args(p)
    p.set_defaults(handler=_demos, config_flags=flags)


def _demos(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agentsearch.data.demos import write_demos

    config = args.config_flags.build(args)
    with Progress(TextColumn("[bold]demos"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        task = bar.add_task("demos", total=None)
        result = write_demos(config, executor=_executor(args), progress=lambda r, total: bar.update(
            task, completed=r.written + r.skipped + r.lost + r.no_plan, total=total or None))
    print(f"{result.out}: wrote {result.written} demos ({result.skipped} already there); "
          f"expert plans that lost: {result.lost}{' (kept)' if config.keep_losers else ' (left out)'}, "
          f"tasks without a plan: {result.no_plan}")
    return 0


def _add_trainer_config(p: argparse.ArgumentParser, config_cls: type) -> None:
    """``config_cls``'s fields as flags, generated by TRL's ``HfArgumentParser`` (as ``trl dpo`` does).

    ``--seed`` defaults to 0, as in ``train_q`` / ``train_sft`` (TrainingArguments' own default is 42).
    The old hand-written spellings stay as deprecated aliases.
    """
    from transformers import HfArgumentParser

    from agentsearch.cli_config import add_alias

    group = p.add_argument_group(f"{config_cls.__name__} (TRL) options")
    for action in HfArgumentParser(config_cls, add_help=False)._actions:
        if action.type is Any:  # fields typed `Any` (report_to ...) take the string as given
            action.type = None
        group._add_action(action)  # the parser's actions, as `parents=` would copy them, in one group
    p.set_defaults(seed=0)
    add_alias(p, "--lr", "--learning-rate")
    add_alias(p, "--epochs", "--num-train-epochs")
    add_alias(p, "--grad-accum", "--gradient-accumulation-steps")
    add_alias(p, "--full", "--lora false", store=lambda ns, _: setattr(ns, "lora", False), nargs=0)


def _trainer_config(config_cls: type, args: argparse.Namespace):
    """The trainer config from the parsed flags (``HfArgumentParser.parse_args_into_dataclasses``'s step)."""
    import dataclasses

    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(config_cls)
              if f.init and hasattr(args, f.name)}
    if isinstance(values.get("loss_type"), list):  # `--loss-type sigmoid,ipo` as well as `sigmoid ipo`
        values["loss_type"] = [t for item in values["loss_type"] for t in item.split(",") if t]
    return config_cls(**values)


def _run_trainer(
    stage: str, train: Callable[..., Any], data: Any, config_cls: type, args: argparse.Namespace
) -> tuple[Any, Path]:
    """``train(data, args.model, args.out, ...)`` under one progress bar of optimizer steps.

    The libraries' output (the trainer's dictionaries, FutureWarnings, ``Loading weights`` bars) goes to
    ``<out>/<stage>.log``; the config is built inside too, since TrainingArguments warns while it is built.
    Returns the trainer's result and the log's path.
    """
    from agentsearch.console import StageBars, libraries_to_file
    from agentsearch.train.loop import step_events

    with libraries_to_file(Path(args.out) / f"{stage}.log") as log, StageBars() as bars:
        config = _trainer_config(config_cls, args)
        steps = step_events(stage, bars)
        return train(data, args.model, args.out, config=config, seed=config.seed, callbacks=[steps]), log


def _add_train_sft(sub: argparse._SubParsersAction, config_fields: bool = True) -> None:
    p = sub.add_parser("train-sft", help="step-level SFT of a policy on demonstrations (TRL SFTTrainer)",
                       description="Step-level SFT of a policy on demonstrations. Every StepSFTConfig field "
                                   "(TRL's SFTConfig plus the step-level ones) is a flag.")
    p.add_argument("demos", nargs="+", help="demos or trees JSONL files (their successful paths are used)")
    p.add_argument("--model", default="smollm2-135m", help="base model: a registered name or a folder")
    p.add_argument("--out", required=True, help="output folder (adapter + agentsearch_sft.json); resumes")
    if config_fields:
        from agentsearch.train.sft import StepSFTConfig

        _add_trainer_config(p, StepSFTConfig)
    p.set_defaults(handler=_train_sft)


def _train_sft(args: argparse.Namespace) -> int:
    from agentsearch.train.sft import StepSFTConfig, train_sft

    result, log = _run_trainer("train-sft", train_sft, args.demos, StepSFTConfig, args)
    data = result.meta.data
    print(f"{result.out}: {result.meta.adapter} SFT of {args.model} on {data['train_paths']} paths "
          f"({result.train_sequences} sequences, {data['train_tokens']:,} tokens) in {result.seconds:.0f} s; "
          f"final loss {result.metrics.get('final_loss', float('nan')):.4f}")
    if "eval_action_accuracy" in result.metrics:
        print(f"held-out: action accuracy {result.metrics['eval_action_accuracy']:.3f}, "
              f"loss {result.metrics['eval_loss']:.4f} ({data['heldout_paths']} paths)")
    print(f"use it with --model {result.out}\nfull log: {log}")
    return 0


# ---------------------------------------------------------------------------- train-q / eval / quickstart
def _add_train_q(sub: argparse._SubParsersAction, config_fields: bool = True) -> None:
    from agentsearch.cli_config import add_alias

    p = sub.add_parser("train-q", help="train a step-level Q-value model (or the policy) with step-level DPO",
                       description="Train a step-level Q-value model (or the policy) with step-level DPO. "
                                   "Every StepDPOConfig field (TRL's DPOConfig plus the step-level ones: "
                                   "target, lora_top_layers, eval_fraction, round ...) is a flag.")
    p.add_argument("pairs", help="pairs JSONL from `agentsearch pairs` (TRL conversational format)")
    p.add_argument("--model", default="smollm2-135m",
                   help="base model: smollm2-135m, tiny-random or a folder")
    p.add_argument("--out", required=True, help="output directory (PEFT adapter + agentsearch_meta.json)")
    add_alias(p, "--base", "--model")
    if config_fields:
        from agentsearch.train.trainer import StepDPOConfig

        _add_trainer_config(p, StepDPOConfig)
        add_alias(p, "--batch-size", "--per-device-train-batch-size")
    p.set_defaults(handler=_train_q)


def _train_q(args: argparse.Namespace) -> int:
    from agentsearch.train import train_q
    from agentsearch.train.trainer import StepDPOConfig

    result, log = _run_trainer("train-q", train_q, args.pairs, StepDPOConfig, args)
    metrics = result.metrics
    rate = result.train_pairs * float(metrics.get("epoch", 1)) / max(result.seconds, 1e-9)
    print(f"{result.out}: {result.meta.target} ({result.meta.adapter}, beta {result.meta.beta}) trained on "
          f"{result.train_pairs} pairs in {result.seconds:.0f} s ({rate:.2f} pairs/s)")
    if "eval_rewards/accuracies" in metrics:
        print(f"held-out pairs: accuracy {metrics['eval_rewards/accuracies']:.3f}, "
              f"reward margin {metrics['eval_rewards/margins']:.4f}, loss {metrics['eval_loss']:.4f}")
    print(f"full log: {log}")
    return 0


def _add_eval(sub: argparse._SubParsersAction) -> None:
    from agentsearch.cli_config import ConfigFlags, add_alias
    from agentsearch.eval import CONFIGS, EvalConfig

    p = sub.add_parser("eval", help="evaluate greedy / sampled / best-of-N / Q-guided agents")
    # One vocabulary across commands: --model is the acting model, --agent its options.
    renamed = {"agent": "--model", "agent_options": "--agent", "llm_options": "--llm"}
    flags = ConfigFlags(EvalConfig, flags=renamed)
    flags.add(p, helps={"env": _env_help(), "compare": f"configurations to run, from {','.join(CONFIGS)} "
                        "(default: greedy,qguided with --qmodel, else greedy)"},
              bare={"agent_options": "model"})
    add_alias(p, "--agent-opt", "--agent")
    _add_executor_args(p)
    p.set_defaults(handler=_eval, config_flags=flags)


def _print_eval(result) -> None:
    from agentsearch.eval import format_table

    print(format_table(result.summaries))
    print(f"episodes: {result.episodes_path}\nsummary: {result.summary_path}\nchart: {result.plot_path}")


def _eval(args: argparse.Namespace) -> int:
    from agentsearch.eval import evaluate

    config = args.config_flags.build(args)

    def on_episode(record: dict) -> None:
        print(f"[{record['config']}] task {record['task_id']}: score {record['score']:.3f} "
              f"{'won' if record['success'] else 'lost'} in {record['steps']} steps "
              f"({record['seconds']:.0f} s)",
              flush=True)

    _print_eval(evaluate(config, progress=on_episode, executor=_executor(args)))
    return 0


def _add_loop_flags(p: argparse.ArgumentParser, base) -> None:
    """LoopConfig's fields as flags, shown with (and built over) ``base``'s values."""
    from agentsearch.cli_config import ConfigFlags
    from agentsearch.train.loop import LoopConfig

    flags = ConfigFlags(LoopConfig)
    flags.add(p, base, helps={"env": _env_help(), "algo": _algo_help()})
    p.set_defaults(config_flags=flags, config_base=base)


def _add_quickstart(sub: argparse._SubParsersAction) -> None:
    from agentsearch.train.loop import QUICKSTART

    p = sub.add_parser("quickstart", help="the whole loop on embedded defaults: collect, pairs, train, eval",
                       description="The whole loop on embedded defaults (collect, pairs, train, eval). Every "
                                   "LoopConfig field is a flag; mapping fields (--agent, --search, --train) "
                                   "merge key by key over the defaults shown.")
    _add_loop_flags(p, QUICKSTART)
    p.set_defaults(handler=_quickstart)


def _loop_config(args: argparse.Namespace):
    return args.config_flags.build(args, args.config_base)


def _quickstart(args: argparse.Namespace) -> int:
    import time

    from agentsearch.console import StageBars, libraries_to_file
    from agentsearch.train.loop import quickstart

    start = time.perf_counter()
    config = _loop_config(args)
    print(f"quickstart: {config.env}, {config.model}, {config.train_tasks} train tasks ({config.algo}), "
          f"{config.test_tasks} test tasks; output in {config.out}", flush=True)
    with libraries_to_file(Path(config.out) / "quickstart.log") as log, StageBars() as bars:
        result = quickstart(config, report=bars)
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items())
    print(f"\n{result.num_pairs} pairs; {stages}; total {time.perf_counter() - start:.0f} s\n")
    _print_eval(result.eval)
    print(f"full log: {log}")
    return 0


def _add_iterate(sub: argparse._SubParsersAction) -> None:
    import dataclasses

    from agentsearch.cli_config import add_alias
    from agentsearch.train.loop import QUICKSTART

    p = sub.add_parser("iterate", help="rounds of collect -> pairs -> train (Q-guided collection)",
                       description="Rounds of collect -> pairs -> train, each round collecting with the "
                                   "last round's Q-guided agent. `--sft [KEY=VALUE ...]` also fine-tunes the "
                                   "policy on each round's successful paths (RFT, StepSFTConfig overrides); "
                                   "the next round acts with it and bases its Q-model on it.")
    p.add_argument("--rounds", type=int, default=2, help="rounds (a rerun resumes)")
    p.add_argument("--eval", action="store_true", help="evaluate the last round's Q-model")
    _add_loop_flags(p, dataclasses.replace(QUICKSTART, out="runs/iterate"))

    def sft_option(key: str, kind: type):
        return lambda ns, value: setattr(ns, "sft", {**(getattr(ns, "sft", None) or {}), key: kind(value)})

    add_alias(p, "--sft-min-reward", "--sft min_reward=X", store=sft_option("min_reward", float))
    add_alias(p, "--sft-steps", "--sft max_steps=N", store=sft_option("max_steps", int))
    p.set_defaults(handler=_iterate)


def _iterate(args: argparse.Namespace) -> int:
    from agentsearch.console import StageBars, libraries_to_file
    from agentsearch.train.loop import iterate

    config = _loop_config(args)
    with libraries_to_file(Path(config.out) / "iterate.log") as log, StageBars() as bars:
        results = iterate(config, rounds=args.rounds, evaluate_last=args.eval, report=bars)
    for r in results:
        stages = ", ".join(f"{k} {v:.0f} s" for k, v in r.seconds.items())
        print(f"round {r.round}: {r.num_pairs} pairs, Q-model {r.qmodel} ({stages})")
    if results and results[-1].eval is not None:
        _print_eval(results[-1].eval)
    print(f"full log: {log}")
    return 0


# ---------------------------------------------------------------------------- serve
def _add_serve(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="serve a model over an OpenAI-compatible HTTP API (hf backend)")
    serve.add_argument("--model", default="smollm2-135m", help="registry name, model folder or .gguf file")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: local only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--served-name", default=None, help="model name clients use (default: --model)")
    serve.add_argument("--device", default="cpu")
    serve.add_argument("--max-batch-rows", type=int, default=128, help="sample rows decoded together")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from agentsearch.serve import serve

    print(f"serving {args.served_name or args.model} on http://{args.host}:{args.port}/v1", flush=True)
    serve(args.model, host=args.host, port=args.port, served_name=args.served_name, device=args.device,
          max_batch_rows=args.max_batch_rows, log_level="warning")
    return 0


# ---------------------------------------------------------------------------- view
def _add_view(sub: argparse._SubParsersAction) -> None:
    from agentsearch.data.pairs import STRATEGIES

    p = sub.add_parser("view", help="static HTML pages of search trees (open index.html offline)")
    p.add_argument("trees", nargs="+", help="trees files (.jsonl or .jsonl.gz) of collect or demos")
    p.add_argument("--task", dest="tasks", action="extend", nargs="+", default=None, metavar="ID",
                   help="only these task ids (default: every tree)")
    p.add_argument("--strategy", default="best_path_extremes", choices=sorted(STRATEGIES),
                   help="pair strategy whose chosen / rejected nodes are marked")
    p.add_argument("--min-visits", type=int, default=0, help="as for `agentsearch pairs --min-visits`")
    p.add_argument("--out", required=True, help="output folder (index.html and one page per tree)")
    p.set_defaults(handler=_view)


def _view(args: argparse.Namespace) -> int:
    from agentsearch.viewer import write_tree_pages

    result = write_tree_pages(args.trees, args.out, task_ids=args.tasks, strategy=args.strategy,
                              min_visits=args.min_visits)
    print(f"{result.index}: {len(result.entries)} trees")
    return 0


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="one static HTML page for a run folder: eval, outcomes, trees, curves")
    p.add_argument("run", help="run folder (quickstart, iterate or headline output)")
    p.add_argument("--out", default=None, help="output folder (default: RUN/report)")
    p.add_argument("--no-trees", action="store_true", help="do not render the run's trees files as pages")
    p.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from agentsearch.viewer import write_report

    result = write_report(args.run, args.out, trees=not args.no_trees)
    found = result.contents
    print(f"{result.index}: evaluations {len(found.evals)}, trees files {len(found.trees)}, "
          f"pairs files {len(found.pairs)}, train-q outputs {len(found.qmodels)}, "
          f"train-sft outputs {len(found.sft)}, tree pages {result.tree_pages}")
    return 0


# ---------------------------------------------------------------------------- main
#: Each entry adds one subcommand group to the parser.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_envs,
    _add_collect,
    _add_pairs,
    _add_data,
    _add_demos,
    _add_train_sft,
    _add_train_q,
    _add_eval,
    _add_quickstart,
    _add_iterate,
    _add_serve,
    _add_view,
    _add_report,
]


#: Commands whose flags come from a TRL config: built only when that command runs (importing TRL takes
#: seconds, which `agentsearch --help` and every other command should not pay).
TRAINER_COMMANDS = {"train-q": _add_train_q, "train-sft": _add_train_sft}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``agentsearch`` parser; with ``command``, trainer commands other than it get no config flags."""
    from agentsearch.cli_config import HelpFormatter

    parser = argparse.ArgumentParser(prog="agentsearch", description=__doc__.splitlines()[0],
                                     formatter_class=HelpFormatter)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("--import", dest="imports", action="append", metavar="MODULE",
                        help="import MODULE first, so the envs and plug-ins it registers are known "
                             "(accepted anywhere on the command line)")
    sub = parser.add_subparsers(dest="command", required=True)
    trainers = {add: name for name, add in TRAINER_COMMANDS.items()}
    for add in COMMANDS:
        if add in trainers:
            add(sub, config_fields=command is None or command == trainers[add])
        else:
            add(sub)
    for leaf in _leaf_parsers(parser):
        leaf.formatter_class = HelpFormatter
        leaf.add_argument("--config", default=None, metavar="YAML",
                          help="YAML mapping of this command's options (keys as the flags, with `_`); "
                               "flags given override it")
    return parser


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse has no public access to a parser's subparsers
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    children = _subcommands(parser)
    if not children:
        return [parser]
    return [leaf for child in children.values() for leaf in _leaf_parsers(child)]


def _command_parser(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.ArgumentParser:
    """The (sub)parser that ``argv``'s command words lead to (``["envs", "play", ...]`` -> envs play's)."""
    for item in argv:
        child = _subcommands(parser).get(item)
        if child is not None:
            parser = child
    return parser


def _take_imports(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """``argv`` without its ``--import MODULE`` options, and the modules (so they load before --help)."""
    rest, modules = [], []
    items = iter(argv)
    for item in items:
        if item == "--import":
            modules.append(next(items, ""))
        elif item.startswith("--import="):
            modules.append(item.partition("=")[2])
        else:
            rest.append(item)
    return rest, modules


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv`` (without ``--import``); a ``--config YAML`` file's values become the command's defaults.

    Flags given override the file, as with TRL's ``--config``. Deprecated spellings log a warning.

    Raises:
        ConfigError: the config file is unreadable or holds a key the command does not know.
    """
    from agentsearch.cli_config import apply_config_file, config_path

    command = next((item for item in argv if not item.startswith("-")), "")
    parser = build_parser(command)
    path = config_path(argv)
    if path is not None:
        apply_config_file(_command_parser(parser, argv), path)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from agentsearch.errors import AgentSearchError
    from agentsearch.plugins import import_plugins

    argv, modules = _take_imports(sys.argv[1:] if argv is None else argv)
    try:
        import_plugins(modules)
    except AgentSearchError as err:
        print(f"agentsearch: error: {err}", file=sys.stderr)
        return 2
    try:
        args = parse_args(argv)
    except AgentSearchError as err:
        print(f"agentsearch: error: {err}", file=sys.stderr)
        return 2
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for root_handler in logging.getLogger().handlers:
        # The handler filters too: libraries that set their own logger to DEBUG (bm25s does) stay quiet.
        root_handler.setLevel(level)
    handler: Handler = args.handler
    try:
        return handler(args)
    except AgentSearchError as err:
        print(f"agentsearch: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
