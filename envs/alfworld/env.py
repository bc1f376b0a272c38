"""``ALFWorldEnv``: ALFWorld's household tasks as an agentsearch :class:`~agentsearch.envs.base.TextEnv`."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from agentsearch.envs.alfworld.games import (
    WORDINGS,
    GameCatalog,
    GameRecord,
    native_world,
    official_root,
    tw_pddl,
    wording_of_grammar,
)
from agentsearch.envs.alfworld.native import NOTHING_HAPPENS, NativeGame, State, World
from agentsearch.envs.alfworld.planner import shortest_plan
from agentsearch.envs.alfworld.searcher import receptacle_priors, searching_plan
from agentsearch.envs.base import TextEnv, Transition, check_split
from agentsearch.errors import ConfigError, EnvError

__all__ = ["ALFWorldEnv", "ENGINES", "EXPERTS"]

logger = logging.getLogger(__name__)

ENGINES = ("native", "textworld")
#: What ``expert_plan()`` returns: an expert that looks for objects, or the state-reading shortest plan.
EXPERTS = ("search", "shortest")
#: Compiled games kept per env (native worlds are small; real-engine games hold a libdownward copy each).
_NATIVE_CACHE = 256
_REAL_CACHE = 4


class ALFWorldEnv(TextEnv):
    """ALFWorld (Shridhar et al., 2021) text games: find, clean/heat/cool, and place household objects.

    Observations are the engine's text; actions are commands such as ``go to countertop 1`` or
    ``take apple 1 from countertop 1``. ``info["valid_actions"]`` lists the admissible commands (sorted,
    as ALFWorld does); anything else answers ``Nothing happens.`` with ``info["invalid_action"] = True``.
    Reward is 1.0 on reaching the goal, which terminates the episode; episodes truncate at ``max_steps``
    (50 by default, ALFWorld's ``max_nb_steps_per_episode``).

    Args:
        engine: ``"native"`` (default: a pure-Python twin, step-identical to the real engine and ~100x
            faster) or ``"textworld"`` (ALFWorld's own engine: TextWorld ``PddlEnv`` + fast-downward).
        wording: ``"0.4"`` (default: the current engine's ``move X to Y`` / ``You arrive at ...``) or
            ``"0.3"`` (``put X in/on Y``, ``go to`` answered by the receptacle view; the text published
            ReAct/ETO prompts use).
        data_dir: a folder of ALFWorld's official games (``json_2.1.x``); default ``$ALFWORLD_DATA`` when it
            holds them, else the generated games shipped with agentsearch.
        max_steps, split, render_mode: see :class:`~agentsearch.envs.base.TextEnv`.

    Extra ``info`` keys: ``task_type``, ``walkthrough`` (reset only, in the commands of the wording
    played) and ``engine``.

    Example:
        >>> import gymnasium as gym, agentsearch
        >>> env = gym.make("agentsearch/ALFWorld-v0").unwrapped
        >>> obs, info = env.reset(options={"task_id": "test-0000"})
        >>> for command in info["walkthrough"]:
        ...     obs, reward, terminated, truncated, info = env.step(command)
        >>> reward, info["won"]
        (1.0, True)
    """

    default_max_steps: ClassVar[int] = 50

    def __init__(
        self,
        *,
        engine: str = "native",
        wording: str = "0.4",
        expert: str = "search",
        data_dir: str | Path | None = None,
        max_steps: int | None = None,
        split: str = "train",
        render_mode: str | None = None,
    ) -> None:
        super().__init__(max_steps=max_steps, split=split, render_mode=render_mode)
        if engine not in ENGINES:
            raise ConfigError(f"Unknown ALFWorld engine {engine!r}; expected one of {ENGINES}.")
        if wording not in WORDINGS:
            raise ConfigError(f"Unknown ALFWorld wording {wording!r}; expected one of {WORDINGS}.")
        if expert not in EXPERTS:
            raise ConfigError(f"Unknown ALFWorld expert {expert!r}; expected one of {EXPERTS}.")
        self.engine = engine
        self.wording = wording
        self.expert = expert
        official = official_root(data_dir)
        if data_dir is not None and official is None:
            raise ConfigError(
                f"{data_dir} holds no ALFWorld game splits (json_2.1.x/{{train,valid_seen,valid_unseen}})."
            )
        self.catalog = GameCatalog(official=official)
        self._native: OrderedDict[str, World] = OrderedDict()
        self._real: OrderedDict[str, Any] = OrderedDict()
        self._game: NativeGame | Any = None
        self._record: GameRecord | None = None
        self._admissible: list[str] = []

    # ------------------------------------------------------------------ splits
    def task_ids(self, split: str) -> Sequence[str]:
        check_split(split)
        return self.catalog.task_ids(split)

    def _has_task(self, task_id: str) -> bool:
        return task_id in self.catalog

    # ------------------------------------------------------------------ episodes
    def _engine_for(self, record: GameRecord) -> str:
        if (
            self.engine == "native"
            and record.grammar is not None
            and wording_of_grammar(record.grammar, record.goal) is None
        ):
            logger.info(
                "%s: unknown grammar in the game file; playing it on the textworld engine", record.task_id
            )
            return "textworld"
        return self.engine

    def _native_game(self, record: GameRecord) -> NativeGame | None:
        world = self._native.get(record.task_id)
        if world is None:
            world = native_world(record, self.catalog.vocab)
            if world is None:
                return None
            self._native[record.task_id] = world
            if len(self._native) > _NATIVE_CACHE:
                self._native.popitem(last=False)
        self._native.move_to_end(record.task_id)
        wording = wording_of_grammar(record.grammar, record.goal) if record.grammar else self.wording
        return NativeGame(world, record.goal, wording=wording or self.wording)

    def _real_game(self, record: GameRecord) -> Any:
        from agentsearch.envs.alfworld.real import RealGame, textworld_available

        game = self._real.get(record.task_id)
        if game is None:
            if not textworld_available():
                raise ConfigError(
                    "engine='textworld' needs the alfworld extra: pip install 'agentsearch[alfworld]'."
                )
            game = RealGame(tw_pddl(record, self.catalog.vocab, self.wording))
            self._real[record.task_id] = game
            if len(self._real) > _REAL_CACHE:
                self._real.popitem(last=False)
        self._real.move_to_end(record.task_id)
        return game

    def _reset_task(self, task_id: str) -> tuple[str, str, dict[str, Any]]:
        record = self.catalog.get(task_id)
        engine = self._engine_for(record)
        game = self._native_game(record) if engine == "native" else None
        if game is None:
            engine = "textworld"
            game = self._real_game(record)
            state = game.reset()
            observation, self._admissible = state.feedback, list(state.admissible_commands)
        else:
            observation = game.reset()
            self._admissible = game.admissible_commands()
        self._game, self._record = game, record
        extras = {
            "task_type": record.task_type,
            "engine": engine,
            "walkthrough": record.walkthrough_in(self.wording),
        }
        return observation, f"{record.goal}.", extras

    def _step(self, action: str) -> Transition:
        extras = {"task_type": self._record.task_type} if self._record else {}
        if isinstance(self._game, NativeGame):
            feedback, valid = self._game.step(action)
            won = valid and self._game.won()
            self._admissible = self._game.admissible_commands()
            extras["engine"] = "native"
        else:
            valid = action.strip() in self._admissible
            state, _, won = self._game.step(action)
            feedback, won = state.feedback, bool(won)
            self._admissible = list(state.admissible_commands)
            extras["engine"] = "textworld"
        if not valid:
            feedback = NOTHING_HAPPENS
        return Transition(
            feedback,
            reward=1.0 if won else 0.0,
            terminated=won,
            won=won,
            invalid_action=not valid,
            extras=extras,
        )

    def _valid_actions(self) -> list[str]:
        return list(self._admissible)

    # ------------------------------------------------------------------ branching
    def _get_state(self) -> tuple[str, Any, tuple[str, ...]]:
        if isinstance(self._game, NativeGame):
            return (self._task_id or "", self._game.state, tuple(self._admissible))
        return (self._task_id or "", self._game.snapshot(), tuple(self._admissible))

    def _set_state(self, state: tuple[str, Any, tuple[str, ...]]) -> None:
        task_id, inner, admissible = state
        record = self.catalog.get(task_id)
        if isinstance(inner, State):
            game = self._game if (isinstance(self._game, NativeGame) and self._record is record) else None
            if game is None:
                game = self._native_game(record)
                if game is None:
                    raise EnvError(f"snapshot of {task_id} needs the native engine, which cannot play it")
            game.set_state(inner)
        else:
            game = self._real.get(task_id)
            if game is None:
                raise EnvError(f"The textworld engine no longer holds task {task_id}; its snapshot is stale.")
            game.restore(inner)
        self._game, self._record = game, record
        self._admissible = list(admissible)

    # ------------------------------------------------------------------ experts
    def expert_plan(self) -> list[str] | None:
        """A winning command list from the current state (``None`` where the expert finds none).

        With ``expert="search"`` on the native engine, a plan that fetches only objects it has seen (it
        may visit receptacles in vain first). Otherwise the shortest plan: at the start of an episode the
        stored walkthrough; later, the native engine's exact planner or, on the textworld engine,
        fast-downward's optimal plan (slow on big houses).
        """
        if self._record is None:
            raise EnvError("Call reset() before expert_plan().")
        if self.expert == "search" and isinstance(self._game, NativeGame):
            return self._searching_plan(self._game, self._record)
        if self._step_count == 0 and self._record.walkthrough:
            return self._record.walkthrough_in(self.wording)
        if isinstance(self._game, NativeGame):
            return shortest_plan(
                self._game, self._record.task_type, self._record.params, start=self._game.state
            )
        return self._game.plan() or None

    def _searching_plan(self, game: NativeGame, record: GameRecord) -> list[str] | None:
        """:func:`searching_plan` played on the game itself, which is put back where it was after."""
        saved = game.state

        def step(command: str) -> tuple[str, bool, bool]:
            view, valid = game.step(command)
            return view, valid, valid and game.won()

        def plan() -> list[str] | None:
            return shortest_plan(game, record.task_type, record.params, start=game.state)

        try:
            budget = self.max_steps - self._step_count
            return searching_plan(game.world.rname, step, plan, receptacle_priors(), budget)
        finally:
            game.set_state(saved)

    def close(self) -> None:
        self._real.clear()
        self._native.clear()
        super().close()
