"""An exact shortest-plan solver for the six ALFWorld task types, on the native engine.

fast-downward finds optimal plans too, but on realistic houses (30 receptacles, 40 objects) it needs
seconds to minutes and gigabytes per game. ALFWorld's goals have a fixed shape, so the shortest plan is
the cheapest of a few enumerable itineraries: fetch an instance (go, open if closed, take), visit the
appliance if the task needs one, deliver (go, open if closed, move). Every step of an itinerary is
forced by a precondition of ``alfred.pddl``, so the cheapest itinerary is an optimal plan. Each
candidate is simulated on :class:`~agentsearch.envs.alfworld.native.NativeGame` and must reach the goal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agentsearch.envs.alfworld.native import NativeGame, State

__all__ = ["shortest_plan"]

_APPLIANCE = {
    "pick_clean_then_place_in_recep": ("sinkbasintype", "clean"),
    "pick_heat_then_place_in_recep": ("microwavetype", "heat"),
    "pick_cool_then_place_in_recep": ("fridgetype", "cool"),
}
#: The state set an appliance's verb adds its object to (mid-episode, a done step is not repeated).
_TREATED = {"clean": "clean", "heat": "hot", "cool": "cool"}


class _Sim:
    """Accumulates commands on a private copy of the game state."""

    def __init__(self, game: NativeGame, state: State) -> None:
        self.game = game
        self.world = game.world
        self.commands: list[str] = []
        self.state = state

    def run(self, command: str) -> bool:
        self.game.set_state(self.state)
        _, ok = self.game.step(command)
        if ok:
            self.state = self.game.state
            self.commands.append(command)
        return ok

    def go(self, r: int) -> bool:
        if self.world.rloc[r] == self.state.location:
            return True
        return self.run(f"go to {self.world.rname[r]}")

    def open(self, r: int) -> bool:
        if r in self.world.openable and r not in self.state.opened:
            return self.run(f"open {self.world.rname[r]}")
        return True

    def take(self, o: int, r: int | None) -> bool:
        w = self.world
        if o in self.state.held:
            return True
        if r is None:
            return False
        return self.go(r) and self.open(r) and self.run(f"take {w.oname[o]} from {w.rname[r]}")

    def put(self, o: int, r: int) -> bool:
        w = self.world
        if (o, r) in self.state.inside:
            return True
        verb = (
            f"put {w.oname[o]} in/on {w.rname[r]}"
            if self.game.wording == "0.3"
            else f"move {w.oname[o]} to {w.rname[r]}"
        )
        return self.go(r) and self.open(r) and self.run(verb)


def _container(state: State, o: int) -> int | None:
    return next((r for o2, r in sorted(state.inside) if o2 == o), None)


def _itineraries(
    game: NativeGame, task_type: str, params: Mapping[str, Any], start: State
) -> Iterable[list[str]]:
    w = game.world
    obj_type = f"{params['object_target'].lower()}type"
    instances = [o for o, t in enumerate(w.otype) if t == obj_type]
    targets = [r for r, t in enumerate(w.rtype) if t == f"{str(params.get('parent_target', '')).lower()}type"]
    if task_type == "look_at_obj_in_light":
        lamp_type = f"{params['toggle_target'].lower()}type"
        lamps = [(o, _container(start, o)) for o, t in enumerate(w.otype) if t == lamp_type]
        for o in instances:
            r0 = _container(start, o)
            for lamp, lr in lamps:
                if lr is None:
                    continue
                for order in ("fetch_first", "lamp_first"):
                    sim = _Sim(game, start)
                    if order == "fetch_first":
                        ok = sim.take(o, r0) and sim.go(lr) and sim.run(f"use {w.oname[lamp]}")
                    else:
                        ok = sim.go(lr) and sim.run(f"use {w.oname[lamp]}") and sim.take(o, r0) and sim.go(lr)
                    if ok:
                        yield sim.commands
        return
    if task_type == "pick_two_obj_and_place":
        for o1 in instances:
            for o2 in instances:
                if o1 == o2:
                    continue
                for t in targets:
                    sim = _Sim(game, start)
                    placed1, placed2 = (o1, t) in start.inside, (o2, t) in start.inside
                    if (placed1 or (sim.take(o1, _container(sim.state, o1)) and sim.put(o1, t))) and (
                        placed2 or (sim.take(o2, _container(sim.state, o2)) and sim.put(o2, t))
                    ):
                        yield sim.commands
        return
    appliance = _APPLIANCE.get(task_type)
    appliances = [r for r, t in enumerate(w.rtype) if appliance and t == appliance[0]] or [None]
    for o in instances:
        r0 = _container(start, o)
        treated = appliance is not None and o in getattr(start, _TREATED[appliance[1]])
        for a in [None] if treated else appliances:
            for t in targets:
                sim = _Sim(game, start)
                ok = sim.take(o, r0)
                if ok and a is not None:
                    ok = sim.go(a) and sim.run(f"{appliance[1]} {w.oname[o]} with {w.rname[a]}")
                if ok and sim.put(o, t):
                    yield sim.commands


def shortest_plan(
    game: NativeGame, task_type: str, params: Mapping[str, Any], start: State | None = None
) -> list[str] | None:
    """The shortest winning command list from ``start`` (default: the initial state), or ``None``.

    From mid-episode states the itineraries assume empty hands or the target object in hand; other
    states (holding something else) return ``None``.
    """
    best: list[str] | None = None
    saved = game.state
    start = game.world.initial if start is None else start
    try:
        for commands in _itineraries(game, task_type, params, start):
            if best is not None and (len(commands), commands) >= (len(best), best):
                continue
            game.set_state(start)
            for command in commands:
                game.step(command)
            if game.won():
                best = commands
    finally:
        game.set_state(saved)
    return best
