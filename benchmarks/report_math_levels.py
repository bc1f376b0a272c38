"""Math evaluation per difficulty level, for BENCHMARKS.md (issue 16: "report every level").

Prints, per level of the shipped test problems (the number of operations), episodes, success with a
95% bootstrap interval and mean steps; then the share of the policy's ``a op b = c`` steps whose
arithmetic is wrong, which is what limits a small policy that writes the right steps.

Usage: ``python benchmarks/report_math_levels.py runs/math-sft-eval/episodes.jsonl`` (``.gz`` too:
``benchmarks/results/math-sft/episodes.jsonl.gz``)
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

from agentsearch.data.io import read_jsonl
from agentsearch.envs.math.problems import shipped_problems
from agentsearch.eval import bootstrap_ci

#: One binary operation with its result, as the reference expert writes it: ``85 * 2 = 170``.
OPERATION = re.compile(r"(\d+(?:\.\d+)?) ([-+*/]) (\d+(?:\.\d+)?) = (\d+(?:\.\d+)?)")


def wrong_operations(actions: list[str]) -> tuple[int, int]:
    """(wrong, all) binary operations written in ``actions``, compared exactly."""
    wrong = total = 0
    for action in actions:
        for left, op, right, result in OPERATION.findall(action):
            x, y, z = Fraction(left), Fraction(right), Fraction(result)
            true = {"+": x + y, "-": x - y, "*": x * y, "/": x / y if y else None}[op]
            total += 1
            wrong += true != z
    return wrong, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("episodes", type=Path, help="an eval folder's episodes.jsonl (or .jsonl.gz)")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()

    level = {problem.id: problem.level for problem in shipped_problems(args.split)}
    episodes = list(read_jsonl(args.episodes))
    by_level: dict[int, list[dict]] = defaultdict(list)
    for episode in episodes:
        by_level[level[episode["task_id"]]].append(episode)
    print(f"{'level':>5} {'episodes':>8}  success [95% CI]        steps")
    for lvl, group in sorted(by_level.items()):
        ci = bootstrap_ci([float(e["success"]) for e in group])
        steps = sum(e["steps"] for e in group) / len(group)
        print(f"{lvl:>5} {len(group):>8}  {ci.mean:.3f} [{ci.low:.3f}, {ci.high:.3f}]  {steps:.2f}")
    ci = bootstrap_ci([float(e["success"]) for e in episodes])
    print(f"{'all':>5} {len(episodes):>8}  {ci.mean:.3f} [{ci.low:.3f}, {ci.high:.3f}]")
    wrong = total = 0
    for episode in episodes:
        w, t = wrong_operations(episode["actions"])
        wrong, total = wrong + w, total + t
    print(f"arithmetic: {wrong} of {total} operations wrong ({wrong / max(total, 1):.1%})")


if __name__ == "__main__":
    main()
