"""Greedy WebShop policies side by side: prompted SmolLM2, the SFT policy, a scripted non-privileged one.

The scripted policy reads only what a policy sees: it searches the instruction without its price clause,
clicks the first result, clicks every option value the instruction names that the item page offers, and
buys (``--best-of 3`` instead buys the best of the first three results, an upper bound that peeks at the
reward). The model policies' figures come from ``agentsearch eval`` folders (their ``episodes.jsonl``),
restricted to the same tasks.

Usage::

    python benchmarks/bench_policies.py --tasks 200 \\
        --eval prompted=runs/ws/eval --eval sft=runs/ws-sft/eval-greedy
"""

from __future__ import annotations

import argparse
import re

from agentsearch.envs import make
from agentsearch.envs.webshop.env import WebShopEnv
from agentsearch.envs.webshop.oracle import instruction_query

# "with flavor name: strawberry, and size: 6 ounce (pack of 4)" -> option values.
_OPTIONS = re.compile(r" with ((?:[a-z ]+: [^,]+(?:, and )?)+?)(?:, and price lower than|$)")


def named_options(instruction: str) -> list[str]:
    """The option values an instruction names (``name: value`` clauses), lower-cased."""
    match = _OPTIONS.search(instruction.lower())
    if match is None:
        return []
    return [clause.split(": ", 1)[1].strip() for clause in match.group(1).split(", and ") if ": " in clause]


def play_scripted(env: WebShopEnv, task_id: str, rank: int = 0) -> float:
    """The scripted policy's reward on ``task_id``, clicking result ``rank`` of page 1."""
    observation, info = env.reset(options={"task_id": task_id})
    _, _, _, _, info = env.step(f"search[{instruction_query(info['instruction'])}]")
    products = [a for a in info["valid_actions"] if a not in ("click[back to search]", "click[next >]")]
    if rank >= len(products):
        return 0.0
    _, _, _, _, info = env.step(products[rank])
    for value in named_options(env.goal.instruction_text):
        if f"click[{value}]" in info["valid_actions"]:
            _, _, _, _, info = env.step(f"click[{value}]")
    _, reward, _, _, _ = env.step("click[buy now]")
    return float(reward)


def scripted_figures(task_ids: list[str], best_of: int) -> dict[str, float]:
    env = make("webshop", split="test")
    first = [play_scripted(env, t) for t in task_ids]
    best = [max(play_scripted(env, t, rank) for rank in range(best_of)) for t in task_ids]
    return {
        "mean": sum(first) / len(first),
        "success": sum(r == 1.0 for r in first) / len(first),
        f"best_of_{best_of}_mean": sum(best) / len(best),
        f"best_of_{best_of}_success": sum(r == 1.0 for r in best) / len(best),
    }


def eval_figures(folder: str, task_ids: set[str]) -> dict[str, dict[str, float]]:
    from agentsearch.eval import read_episodes

    figures: dict[str, dict[str, float]] = {}
    for config, episodes in read_episodes(folder).items():
        chosen = [e for e in episodes if str(e["task_id"]) in task_ids]
        if chosen:
            figures[config] = {
                "tasks": len(chosen),
                "mean": sum(e["score"] for e in chosen) / len(chosen),
                "success": sum(bool(e["success"]) for e in chosen) / len(chosen),
            }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200, help="test tasks 0..N-1")
    parser.add_argument("--best-of", type=int, default=3)
    parser.add_argument("--eval", action="append", default=[], metavar="NAME=FOLDER",
                        help="an `agentsearch eval` output folder to put beside the scripted policy")
    args = parser.parse_args()
    task_ids = [str(i) for i in range(args.tasks)]
    rows = [("scripted (non-privileged)", scripted_figures(task_ids, args.best_of))]
    for item in args.eval:
        name, _, folder = item.partition("=")
        for config, figures in eval_figures(folder, set(task_ids)).items():
            rows.append((f"{name} {config}", figures))
    print(f"WebShop test tasks 0-{args.tasks - 1}")
    print(f"{'policy':32s} {'tasks':>6s} {'mean score':>11s} {'success':>8s}")
    for name, figures in rows:
        tasks = int(figures.get("tasks", args.tasks))
        print(f"{name:32s} {tasks:6d} {figures['mean']:11.3f} {figures['success']:8.1%}")
        if f"best_of_{args.best_of}_mean" in figures:
            print(f"{'  best of first ' + str(args.best_of) + ' (peeks)':32s} {tasks:6d} "
                  f"{figures[f'best_of_{args.best_of}_mean']:11.3f} "
                  f"{figures[f'best_of_{args.best_of}_success']:8.1%}")


if __name__ == "__main__":
    main()
