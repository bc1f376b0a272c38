"""Record the agents' few-shot examples in our own environments: ``agentsearch/agents/examples.json``.

Each example is an expert solution of a *train* task, played through the environment so every
observation is the environment's real text: the WebShop oracle's purchase, the ALFWorld planner's
walkthrough (one example per task type, ReAct's six prompt keys), and a math problem's reference
steps. Thoughts are written from templates keyed on the action, in ETO's ``Thought: I think ...``
style. Deterministic: rerunning reproduces the committed file.

    python scripts/make_prompt_examples.py            # writes agentsearch/agents/examples.json
    python scripts/make_prompt_examples.py --check    # exits 1 if the committed file is stale
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from agentsearch.agents import make_prompt
from agentsearch.agents.alfworld import TASK_KINDS, task_kind
from agentsearch.agents.prompts import EXAMPLES_FILE
from agentsearch.envs import make
from agentsearch.envs.base import TextEnv

logger = logging.getLogger("make_prompt_examples")

#: Longest example accepted (steps); short examples keep prompts lean on CPU.
MAX_EXAMPLE_STEPS = 12


# ---------------------------------------------------------------------------- recording
def record(
    env: TextEnv,
    env_name: str,
    task_id: str,
    actions: Sequence[str],
    kind: str = "",
) -> dict[str, Any]:
    """Play ``actions`` on ``task_id`` and return the example record; the expert must win."""
    thought = make_prompt(env_name).demo_thought
    observation, info = env.reset(options={"task_id": task_id})
    instruction = info["instruction"]
    steps = []
    for index, action in enumerate(actions):
        why = thought(action, instruction, observation, index)
        next_observation, _, terminated, truncated, info = env.step(action)
        if info["invalid_action"]:
            raise RuntimeError(f"{env_name} task {task_id}: expert action {action!r} was rejected.")
        steps.append({"thought": why, "action": action, "observation": next_observation})
        observation = next_observation
        if terminated or truncated:
            break
    if not info["won"]:
        raise RuntimeError(f"{env_name} task {task_id}: the expert did not win.")
    first_observation, _ = env.reset(options={"task_id": task_id})
    return {
        "env_name": env_name,
        "task_id": task_id,
        "kind": kind,
        "instruction": instruction,
        "observation": first_observation,
        "steps": steps,
    }


def _short_enough(actions: Sequence[str]) -> bool:
    return 0 < len(actions) <= MAX_EXAMPLE_STEPS


def webshop_examples() -> list[dict[str, Any]]:
    from agentsearch.envs.webshop.oracle import oracle_actions

    env = make("webshop")
    for task_id in env.task_ids("train"):
        env.reset(options={"task_id": task_id})
        actions = oracle_actions(env)
        # An example that picks an option teaches the model the item page; skip bare purchases.
        if _short_enough(actions) and len(actions) >= 4:
            return [record(env, "webshop", task_id, actions)]
    raise RuntimeError("No WebShop train task has a short oracle solution with an option click.")


def alfworld_examples() -> list[dict[str, Any]]:
    env = make("alfworld")
    found: dict[str, dict[str, Any]] = {}
    for task_id in env.task_ids("train"):
        _, info = env.reset(options={"task_id": task_id})
        kind = task_kind(info["instruction"])
        if kind in found:
            continue
        actions = info["walkthrough"]
        if _short_enough(actions):
            found[kind] = record(env, "alfworld", task_id, actions, kind=kind)
        if len(found) == len(TASK_KINDS):
            break
    missing = set(TASK_KINDS) - set(found)
    if missing:
        raise RuntimeError(f"No short ALFWorld walkthrough for task kinds {sorted(missing)}.")
    return [found[kind] for kind in TASK_KINDS]


def math_examples() -> list[dict[str, Any]]:
    from agentsearch.envs.math.problems import shipped_problems

    env = make("math")
    for problem in shipped_problems("train"):
        if 3 <= len(problem.steps) <= 4:
            # Labelled as the model should write them; the environment strips the label.
            steps = [f"Step {index}: {step}" for index, step in enumerate(problem.steps, start=1)]
            return [record(env, "math", problem.id, steps)]
    raise RuntimeError("No math train problem with a 3-4 step reference solution.")


BUILDERS: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "webshop": webshop_examples,
    "alfworld": alfworld_examples,
    "math": math_examples,
}


def build(env_names: Iterable[str]) -> list[dict[str, Any]]:
    records = []
    for name in env_names:
        logger.info("Recording %s examples ...", name)
        records.extend(BUILDERS[name]())
    return records


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=EXAMPLES_FILE)
    parser.add_argument("--envs", nargs="+", default=list(BUILDERS), choices=list(BUILDERS))
    parser.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    text = json.dumps(build(args.envs), indent=1, ensure_ascii=False) + "\n"
    if args.check:
        stale = not args.out.is_file() or args.out.read_text(encoding="utf-8") != text
        print(f"{args.out}: {'stale' if stale else 'up to date'}")
        return int(stale)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
