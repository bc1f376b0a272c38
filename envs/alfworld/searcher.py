"""An ALFWorld expert that finds objects by looking, as a policy must.

The shortest plan (:mod:`~agentsearch.envs.alfworld.planner`) walks straight to the receptacle that
holds the goal object: it reads the game state. A policy fine-tuned on it learns to guess a receptacle
and, when the guess is wrong, to loop (2 of 34 test games won by such a policy). This expert follows the
shortest plan only where its next move is justified by what it has seen; when the plan would fetch an
object it has not seen yet, it visits receptacles instead, most likely first, opening closed ones,
until the object shows up. How likely a receptacle class is to hold an object class comes from the
initial layouts of the train games (what a policy learns from experience, not from the game it plays).
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence

from agentsearch.envs.alfworld.games import GameCatalog, native_world, official_root

__all__ = ["receptacle_priors", "search_order", "searching_plan"]

_TAKE_OR_USE = re.compile(r"^(?:take (?P<taken>.+?) from (?P<source>.+)|use (?P<used>.+))$")

#: Object class -> receptacle class -> how likely such a receptacle holds such an object.
Priors = Mapping[str, Mapping[str, float]]


def class_of(name: str) -> str:
    """``"cabinet 4"`` -> ``"cabinet"``."""
    head, _, number = name.rpartition(" ")
    return head if number.isdigit() else name


def _seen_here(observation: str, name: str) -> bool:
    """Whether ``name`` (``bowl 1``; not ``bowl 10``) is listed in ``observation``."""
    return re.search(rf"\ba {re.escape(name)}(?!\d)", observation) is not None


@functools.cache
def receptacle_priors() -> Priors:
    """Object class -> receptacle class -> the share of such receptacles that start with such an object,
    over the train games (a countertop, one of few, beats one of 25 cabinets)."""
    catalog = GameCatalog(official=official_root(None))
    placements: dict[str, Counter[str]] = defaultdict(Counter)
    instances: Counter[str] = Counter()
    for task_id in catalog.task_ids("train"):
        world = native_world(catalog.get(task_id), catalog.vocab)
        if world is None:  # a stored game only textworld can run
            continue
        instances.update(class_of(name) for name in world.rname)
        for o, r in set(world.initial.inside):
            placements[class_of(world.oname[o])][class_of(world.rname[r])] += 1
    return {
        obj: {receptacle: count / instances[receptacle] for receptacle, count in by_receptacle.items()}
        for obj, by_receptacle in placements.items()
    }


def search_order(receptacles: Sequence[str], object_class: str, priors: Priors) -> list[str]:
    """Receptacles most likely to hold ``object_class`` first; ties by class, then by number."""
    likely = priors.get(object_class, {})

    def key(name: str) -> tuple[float, str, int]:
        _, _, number = name.rpartition(" ")
        return (-likely.get(class_of(name), 0), class_of(name), int(number) if number.isdigit() else 0)

    return sorted(receptacles, key=key)


def _fetch_target(plan: Sequence[str]) -> tuple[str | None, str] | None:
    """``(receptacle, object)`` when ``plan`` goes (and opens) only to take an object from there, or
    ``(None, lamp)`` when it goes only to use one; ``None`` when it does something else first."""
    for command in plan:
        if command.startswith(("go to ", "open ")):
            continue
        match = _TAKE_OR_USE.match(command)
        if match is None:
            return None
        return (match["source"], match["taken"]) if match["taken"] is not None else (None, match["used"])
    return None


def searching_plan(
    receptacles: Sequence[str],
    step: Callable[[str], tuple[str, bool, bool]],
    plan: Callable[[], list[str] | None],
    priors: Priors,
    max_steps: int = 50,
) -> list[str] | None:
    """A winning command list that fetches only objects it has seen, or ``None``.

    Args:
        receptacles: the receptacles of the room (its first observation lists them all).
        step: plays a command on a scratch copy of the game, returning ``(observation, valid, won)``.
        plan: the shortest plan from the scratch copy's current state.
        priors: :func:`receptacle_priors`.
        max_steps: give up after this many commands.
    """
    seen: dict[str, str] = {}  # receptacle -> what it showed when last looked at
    commands: list[str] = []
    location = ""

    def play(command: str, may_fail: bool = False) -> bool | None:
        """Plays ``command``: whether it won; ``None`` if refused and ``may_fail``."""
        nonlocal location
        view, valid, won = step(command)
        if not valid:
            if may_fail:
                return None
            raise _Refused(command)
        commands.append(command)
        for verb in ("go to ", "open ", "examine "):
            if command.startswith(verb):
                seen[command[len(verb) :]] = view
                location = command[len(verb) :] if verb == "go to " else location
        return won

    def known(target: tuple[str | None, str]) -> bool:
        receptacle, name = target
        views = [seen.get(receptacle, "")] if receptacle is not None else list(seen.values())
        return any(_seen_here(view, name) for view in views)

    def explored(receptacle: str) -> bool:
        return receptacle in seen and not seen[receptacle].endswith(f"The {receptacle} is closed.")

    try:
        while len(commands) < max_steps:
            shortest = plan()
            if not shortest:
                return None
            target = _fetch_target(shortest)
            if target is None or known(target):
                won = play(shortest[0])
            else:
                order = search_order(receptacles, class_of(target[1]), priors)
                unexplored = [r for r in order if not explored(r)]
                if not unexplored:
                    return None
                receptacle = unexplored[0]
                # A receptacle beside the current one cannot be gone to; it is examined from here.
                won = False
                if location != receptacle:
                    won = play(f"go to {receptacle}", may_fail=True)
                    if won is None:
                        won = play(f"examine {receptacle}")
                if not won and not explored(receptacle):
                    won = play(f"open {receptacle}")
            if won:
                return commands
    except _Refused:
        return None
    return None


class _Refused(Exception):
    """The scratch game refused a command (the plan and the observations disagree)."""
