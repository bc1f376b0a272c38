"""Throughput of the math answer verifier (issue 4) on the shipped test problems.

Run::

    python benchmarks/bench_math_verifier.py

For every shipped test problem it verifies several predicted answers against the gold one: the
final step of the reference solution (extraction + check), the gold answer reformatted the way
models write it (``$539.50``, ``\\frac{1079}{2}``, ``539.5 dollars``), a wrong answer, and a near
miss written with a decimal point (``11206.0``, ``539.6``, ``539.49``: issue 13's cases). It times
``is_equivalent`` side by side with a plain string comparison of normalised answers (the floor a
verifier cannot beat) and reports answers per second, plus the symbolic path (sympy in the worker
process) on MATH-style pairs. Issue target: report the throughput; no minimum is set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from dataclasses import asdict, dataclass
from fractions import Fraction

import sympy

from agentsearch.envs.math.generate import format_number
from agentsearch.envs.math.problems import shipped_problems
from agentsearch.envs.math.verify import (
    extract_answer,
    is_equivalent,
    normalize_answer,
    shutdown_worker,
    warm_up_worker,
)


@dataclass
class Args:
    split: str = "test"
    """shipped split whose problems are verified"""
    repeats: int = 3
    """timed passes over all answers (the best pass is reported)"""
    seed: int = 0
    """seed of the wrong answers"""


SYMBOLIC_PAIRS = [
    ("2\\sqrt{3}", "\\sqrt{12}"),
    ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"),
    ("(x+1)^2", "x^2+2x+1"),
    ("\\pi/2", "1.5708"),
    ("2x+3y", "3y+2x"),
    ("\\sqrt{3}", "\\sqrt{2}"),
    ("x^2-1", "(x-1)(x+1)"),
    ("\\frac{x}{2}", "0.5x"),
]


def reformat(answer: str, rng: random.Random) -> str:
    value = Fraction(answer)
    fraction = f"\\frac{{{value.numerator}}}{{{value.denominator}}}"
    styles = [f"${float(value):,.2f}", f"{answer} dollars", fraction]
    if value.denominator == 1:
        styles.append(f"{value.numerator:,}")
    return rng.choice(styles)


def near_miss(answer: str, rng: random.Random) -> str:
    """The gold answer off by one unit of its last place or the next, always with a decimal point."""
    value = Fraction(answer)
    step = Fraction(1, 10 ** rng.choice([0, 1, 2]))
    text = format_number(value + rng.choice([-1, 1]) * step)
    return text if "." in text else text + ".0"


def best_rate(count: int, run, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return count / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in asdict(Args()).items():
        parser.add_argument(f"--{name}", type=type(default), default=default)
    args = Args(**vars(parser.parse_args()))
    rng = random.Random(args.seed)
    problems = shipped_problems(args.split)
    final_steps = [(p.steps[-1], p.answer) for p in problems]
    reformatted = [(reformat(p.answer, rng), p.answer) for p in problems]
    wrong = [(format_number(Fraction(p.answer) + rng.randint(1, 9)), p.answer) for p in problems]
    near_misses = [(near_miss(p.answer, rng), p.answer) for p in problems]
    assert warm_up_worker()

    def verify_steps():
        assert all(is_equivalent(extract_answer(step), gold) for step, gold in final_steps)

    def verify_reformatted():
        assert all(is_equivalent(pred, gold) for pred, gold in reformatted)

    def verify_wrong():
        assert not any(is_equivalent(pred, gold) for pred, gold in wrong)

    def verify_near_misses():
        assert not any(is_equivalent(pred, gold) for pred, gold in near_misses)

    def string_baseline():
        for pred, gold in reformatted:
            _ = normalize_answer(pred) == normalize_answer(gold)

    def verify_symbolic():
        for pred, gold in SYMBOLIC_PAIRS:
            is_equivalent(pred, gold)

    rates = {
        "extract + verify reference final steps": best_rate(len(final_steps), verify_steps, args.repeats),
        "verify reformatted gold answers": best_rate(len(reformatted), verify_reformatted, args.repeats),
        "verify wrong answers": best_rate(len(wrong), verify_wrong, args.repeats),
        "verify near misses (11206.0 for 11205)": best_rate(
            len(near_misses), verify_near_misses, args.repeats
        ),
        "baseline: normalised string equality": best_rate(len(reformatted), string_baseline, args.repeats),
        "symbolic MATH-style pairs (sympy worker)": best_rate(
            len(SYMBOLIC_PAIRS), verify_symbolic, args.repeats
        ),
    }
    shutdown_worker()
    baseline = rates["baseline: normalised string equality"]
    print(f"math verifier throughput on {len(problems)} shipped {args.split} problems", end=" ")
    print(f"(best of {args.repeats})")
    print(f"{'case':45s} {'answers/s':>12s} {'vs string equality':>20s}")
    for name, rate in rates.items():
        print(f"{name:45s} {rate:12,.0f} {rate / baseline:19.2f}x")
    print("target (issue 4): report the throughput; no minimum set")
    provenance = {
        "python": platform.python_version(),
        "sympy": sympy.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "args": asdict(args),
    }
    print(json.dumps(provenance))


if __name__ == "__main__":
    main()
