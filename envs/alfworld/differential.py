"""Differential check: the native engine against ALFWorld's real engine, step by step.

Both engines play the same command sequence from reset: a seeded random walk over the admissible
commands (biased towards non-``go to`` commands so objects move, receptacles open and appliances run),
interleaved with the stored walkthrough's commands (so goals are reached) and with invalid commands.
Every step compares the observation, the admissible command list (order included), the reward and the
done flag. Used by ``tests/envs/test_alfworld_engines.py`` (a sample) and ``benchmarks/bench_alfworld.py``
(the full run recorded in BENCHMARKS.md).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from agentsearch.envs.alfworld.games import GameRecord, tw_pddl
from agentsearch.envs.alfworld.native import NativeGame, World
from agentsearch.envs.alfworld.pddl import Vocabulary, parse_problem

__all__ = ["DiffReport", "Mismatch", "compare_game", "compare_games"]

INVALID_COMMANDS = (
    "jump",
    "take apple",
    "go to the moon",
    "open",
    "think: I should look around",
    "",
    "GO TO COUNTERTOP 1",
    "move",
    "put apple 1 in/on countertop 1",
    "examine",
    "look around",
    "inventory please",
    "slice bread 1 with knife 1",
    "use lamp",
)


@dataclass(frozen=True)
class Mismatch:
    task_id: str
    step: int
    command: str
    what: str
    native: object
    real: object


@dataclass
class DiffReport:
    games: int = 0
    steps: int = 0
    invalid_commands: int = 0
    wins: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)


def _walk(record: GameRecord, rng: random.Random, admissible: list[str], plan: list[str]) -> str:
    r = rng.random()
    if plan and r < 0.25:
        return plan.pop(0)
    if r < 0.35:
        return rng.choice(INVALID_COMMANDS)
    non_go = [a for a in admissible if not a.startswith("go to")]
    return rng.choice(non_go if non_go and rng.random() < 0.6 else admissible)


def compare_game(
    record: GameRecord,
    vocab: Vocabulary | None,
    steps: int,
    *,
    seed: int = 0,
    wording: str = "0.4",
    report: DiffReport | None = None,
) -> DiffReport:
    """Play one game on both engines for ``steps`` commands; record every difference in the report."""
    from agentsearch.envs.alfworld.real import RealGame

    report = report if report is not None else DiffReport()
    game = tw_pddl(record, vocab, wording)
    native = NativeGame(World.from_problem(parse_problem(game["pddl_problem"])), record.goal, wording=wording)
    real = RealGame(game)
    rng = random.Random(f"{seed}-{record.task_id}")
    plan = record.walkthrough_in(wording) or []
    report.games += 1

    def check(step: int, command: str, what: str, mine: object, theirs: object) -> bool:
        if mine != theirs:
            report.mismatches.append(Mismatch(record.task_id, step, command, what, mine, theirs))
            return False
        return True

    won = False
    state = real.reset()
    if not check(0, "<reset>", "observation", native.reset(), state.feedback):
        return report
    for step in range(1, steps + 1):
        admissible = list(state.admissible_commands)
        if not check(step, "", "admissible", native.admissible_commands(), admissible):
            return report
        command = _walk(record, rng, admissible, plan)
        report.invalid_commands += command.strip() not in admissible
        feedback, _ = native.step(command)
        state, score, done = real.step(command)
        report.steps += 1
        ok = check(step, command, "observation", feedback, state.feedback)
        ok = ok and check(step, command, "reward", 1 if native.won() else 0, score)
        ok = ok and check(step, command, "done", native.won(), bool(done))
        if not ok:
            return report
        # The walk continues past a win (the engine keeps running), so every game plays `steps` commands.
        if done and not won:
            report.wins += 1
        won = won or bool(done)
    return report


def compare_games(
    records: Iterable[GameRecord],
    vocab: Vocabulary | None,
    steps: int,
    *,
    seed: int = 0,
    wording: str = "0.4",
    on_game: Callable[[GameRecord, DiffReport], None] | None = None,
) -> DiffReport:
    """Compare every game; ``on_game`` sees the running report after each one (progress, partial runs)."""
    report = DiffReport()
    for record in records:
        compare_game(record, vocab, steps, seed=seed, wording=wording, report=report)
        if on_game is not None:
            on_game(record, report)
    return report
