"""The real ALFWorld engine: TextWorld's ``PddlEnv`` with ALFWorld's demangler, plus O(1) snapshots.

This is the engine ALFWorld itself runs (``textworld[pddl]`` + ``fast-downward-textworld`` +
``alfworld``). :class:`RealGame` adds what search needs and the stock engine lacks:

* ``snapshot()``/``restore()`` through ``libdownward``'s ``get_state_id``/``set_state_id`` plus the
  Python-side fields (the fact sets, ``state``, ``prev_state``, ``_last_action``, ``_moves``). A
  ``reset``/``load`` rebuilds the C registry, so snapshots carry the load generation and stale ones
  are refused.
* Guards: the PDDL translator overwrites ``sys.argv`` and calls ``sys.exit`` on some bad problems; both
  are contained here and surface as :class:`~agentsearch.errors.EnvError`.
* Behaviour-preserving speed-ups (``install_speedups``): TextWorld re-parses the same grammar strings
  with TatSu for every admissible command on every step, and re-translates the PDDL on every reset.
  Memoising those pure functions makes a step 3-5x cheaper; outputs are unchanged (deep copies are
  returned where callers mutate).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from agentsearch.errors import EnvError

__all__ = ["RealGame", "RealSnapshot", "install_speedups", "textworld_available"]

logger = logging.getLogger(__name__)


def textworld_available() -> bool:
    """Whether textworld, fast_downward and alfworld import (the ``alfworld`` extra is installed)."""
    try:
        import alfworld.agents.environment.alfred_tw_env  # noqa: F401
        import fast_downward  # noqa: F401
        import textworld.envs.pddl  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means "not available"
        return False
    return True


@functools.cache
def install_speedups() -> None:
    """Memoise TextWorld's pure parsing/translation functions (idempotent, process-wide)."""
    import fast_downward
    from textworld.envs.pddl import logic as pddl_logic
    from textworld.envs.pddl import textgen
    from textworld.logic import Rule

    parse_symbols = textgen._parse_and_convert

    @functools.lru_cache(maxsize=4096)
    def _cached_symbols(text: str, rule_name: str) -> Any:
        return parse_symbols(text, rule_name=rule_name)

    def parse_and_convert(text: str, rule_name: str = "symbols", **kwargs: Any) -> Any:
        if kwargs.get("trace"):
            return parse_symbols(text, rule_name=rule_name, **kwargs)
        # Callers set `.context` on the returned symbols, so each call gets its own copy.
        return copy.deepcopy(_cached_symbols(text, rule_name))

    textgen._parse_and_convert = parse_and_convert
    Rule.parse_conjunctive_query = staticmethod(
        functools.lru_cache(maxsize=4096)(Rule.parse_conjunctive_query)
    )

    translate = fast_downward.pddl2sas

    @functools.lru_cache(maxsize=64)
    def _cached_translate(domain: str, problem: str, verbose: bool, optimize: bool) -> Any:
        return translate(domain, problem, verbose=verbose, optimize=optimize)

    def pddl2sas(domain: str, problem: str, verbose: bool = False, optimize: bool = False) -> Any:
        # The translated task is read-only for PddlState, so sharing it across resets is safe.
        if optimize and _FAST_LOAD.active:
            optimize = False  # the planner then searches the full encoding: same plans, slower search
        return _cached_translate(domain, problem, verbose, optimize)

    pddl_logic.fast_downward.pddl2sas = pddl2sas


class _FastLoad:
    """While active, skip the planner-only optimised translation (halves load time; play is unchanged)."""

    active = False


_FAST_LOAD = _FastLoad()


class _Guard:
    """Keep ``sys.argv`` intact and turn ``SystemExit`` from the translator into :class:`EnvError`."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        self.argv = list(sys.argv)

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        sys.argv[:] = self.argv
        if exc is not None and not isinstance(exc, EnvError) and isinstance(exc, (SystemExit, Exception)):
            raise EnvError(f"The PDDL engine failed to {self.what}: {exc!r}") from exc
        return False


@dataclass(frozen=True)
class RealSnapshot:
    """State of a :class:`RealGame`: the C registry's state id and the Python-side fields."""

    generation: int
    state_id: int
    facts: tuple[tuple[Any, frozenset], ...]
    state: Any
    prev_state: Any
    last_action: Any
    moves: int


class RealGame:
    """One ALFWorld game played by the real engine.

    Args:
        game: a ``.tw-pddl`` dict (``pddl_domain``, ``grammar``, ``pddl_problem``, ``walkthrough``).
        speedups: install the behaviour-preserving memoisation (see the module docstring).
        planner: request ``policy_commands`` (fast-downward replans every step; slow, for experts).
        fast_load: skip the second, planner-only PDDL translation (needs ``speedups``); :meth:`plan`
            still works, on the unoptimised encoding.
    """

    def __init__(
        self,
        game: Mapping[str, Any],
        *,
        speedups: bool = True,
        planner: bool = False,
        fast_load: bool = False,
    ) -> None:
        import textworld
        from alfworld.agents.environment.alfred_tw_env import AlfredDemangler
        from textworld.envs.pddl import PddlEnv

        if speedups:
            install_speedups()
        infos = textworld.EnvInfos(won=True, admissible_commands=True, policy_commands=planner)
        self._pddl_env = PddlEnv(infos)
        self._env = AlfredDemangler(self._pddl_env)
        self._generation = 0
        self._fast_load = fast_load and speedups
        with _Guard("load the game"), self._loading():
            self._env.load(dict(game))

    @contextlib.contextmanager
    def _loading(self) -> Iterator[None]:
        previous = _FAST_LOAD.active
        _FAST_LOAD.active = self._fast_load
        try:
            yield
        finally:
            _FAST_LOAD.active = previous

    @property
    def _raw(self) -> Any:
        # The PddlEnv itself: attribute writes on the wrapper would not reach it.
        return self._pddl_env

    def reset(self) -> Any:
        """Start over; returns TextWorld's ``GameState`` (``feedback``, ``admissible_commands``, ``won``)."""
        with _Guard("reset the game"), self._loading():
            state = self._env.reset()
        self._generation += 1
        return state

    def step(self, command: str) -> Any:
        """Play ``command``; returns ``(GameState, score, done)`` as TextWorld does."""
        with _Guard("play a command"):
            return self._env.step(command)

    def plan(self) -> list[str]:
        """fast-downward's optimal plan from the current state (commands), or ``[]`` when none exists."""
        raw = self._raw
        with _Guard("plan"):
            return list(raw._pddl_state.replan(raw._entity_infos))

    def snapshot(self) -> RealSnapshot:
        raw = self._raw
        pddl_state = raw._pddl_state
        return RealSnapshot(
            generation=self._generation,
            state_id=int(raw.downward_lib.get_state_id()),
            facts=tuple((sig, frozenset(props)) for sig, props in pddl_state._facts.items()),
            state=raw.state,
            prev_state=raw.prev_state,
            last_action=raw._last_action,
            moves=raw._moves,
        )

    def restore(self, snap: RealSnapshot) -> None:
        if snap.generation != self._generation:
            raise EnvError(
                "This snapshot belongs to an earlier episode of the real engine (reset invalidates it)."
            )
        raw = self._raw
        pddl_state = raw._pddl_state
        raw.downward_lib.set_state_id(snap.state_id)
        pddl_state._facts.clear()
        for sig, props in snap.facts:
            pddl_state._facts[sig] = set(props)
        # GameState objects are never mutated after a step returns, so sharing them is safe.
        raw.state = snap.state
        raw.prev_state = snap.prev_state
        raw._last_action = snap.last_action
        raw._moves = snap.moves
        # The operator table (`_operators`) must match the restored C state before the next step.
        pddl_state.all_applicable_actions()
