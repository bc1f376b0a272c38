"""The :class:`TextEnv` contract as one check, like gymnasium's ``check_env``, for any environment.

:func:`check_text_env` runs gymnasium's own ``check_env`` (every warning it raises is a failure here), then
what agentsearch adds: the contract's ``info`` keys after ``reset`` and every ``step``; branching
determinism (a restored snapshot, or a replay from reset where the env has no snapshots, continues
exactly like the original path); hostile actions (empty, huge, binary, non-strings) never raise; and
stepping a finished episode changes nothing. (``agentsearch.envs.fuzz`` fuzzes at scale.)
``tests/test_env_contract.py`` runs it on every registered
environment; a new environment's own tests can call it too::

    from agentsearch.envs.checker import check_text_env
    check_text_env(make("toy"))
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Sequence
from typing import Any

from gymnasium.utils.env_checker import check_env

from agentsearch.envs.base import TextEnv
from agentsearch.envs.fuzz import HOSTILE

__all__ = ["INFO_KEYS", "check_text_env"]

#: Keys every ``info`` holds (``envs/base.py``).
INFO_KEYS = frozenset({"instruction", "task_id", "valid_actions", "won", "invalid_action", "step"})

StepResult = tuple[str, float, bool, bool, dict[str, Any]]


def check_text_env(env: TextEnv, *, task_ids: Sequence[str] | None = None, path_length: int = 4,
                   fuzz: int = 20, seed: int = 0) -> None:
    """Raise ``AssertionError`` naming the first broken promise of the contract (module docstring).

    Args:
        env: the environment (``agentsearch.envs.make(...)``).
        task_ids: tasks to check (default: the first task of each split that has one).
        path_length: actions per checked path (valid actions drawn with ``seed``, else fuzz strings).
        fuzz: random strings stepped on top of :data:`agentsearch.envs.fuzz.HOSTILE`.
        seed: seeds the action draws.
    """
    assert isinstance(env, TextEnv), f"{env!r} is not a TextEnv"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if env.nondeterministic_info:
            _check_env_without_info_determinism(env)
        else:
            check_env(env, skip_render_check=True, skip_close_check=True)
    # gymnasium's logger warns with UserWarning; a ResourceWarning of some other object's garbage
    # collection (a simulator's socket) is no finding about this env.
    problems = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert not problems, f"gymnasium's check_env warns: {problems}"
    if task_ids is None:
        task_ids = [ids[0] for split in ("train", "eval", "test") if (ids := list(env.task_ids(split)))][:2]
    assert task_ids, f"{env!r} lists no tasks"
    rng = random.Random(seed)
    for task_id in task_ids:
        actions = _check_path(env, str(task_id), path_length, rng)
        _check_branching(env, str(task_id), actions)
        _check_fuzz(env, str(task_id), fuzz, rng)


def _check_env_without_info_determinism(env: TextEnv) -> None:
    """gymnasium's ``check_env`` whose seed and step determinism skip ``env.nondeterministic_info``."""
    from gymnasium.utils import env_checker, passive_env_checker

    env_checker.check_action_space(env.action_space)
    env_checker.check_observation_space(env.observation_space)
    env_checker.check_reset_return_info_deprecation(env)
    env_checker.check_reset_return_type(env)
    env_checker.check_reset_options(env)
    passive_env_checker.env_reset_passive_checker(env)
    passive_env_checker.env_step_passive_checker(env, env.action_space.sample())
    action = env.action_space.sample()
    runs = []
    for _ in range(2):
        observation, info = env.reset(seed=123)
        runs.append((observation, _stable(env, info), _stable_step(env, env.step(action))))
    assert runs[0] == runs[1], "reset(seed=123) and one step are not deterministic"


def _stable(env: TextEnv, info: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((k, repr(v)) for k, v in sorted(info.items()) if k not in env.nondeterministic_info)


def _stable_step(env: TextEnv, result: StepResult) -> tuple[Any, ...]:
    observation, reward, terminated, truncated, info = result
    return observation, reward, terminated, truncated, _stable(env, info)


def _check_info(info: dict[str, Any], where: str) -> None:
    missing = INFO_KEYS - info.keys()
    assert not missing, f"info lacks {sorted(missing)} {where}"
    valid = info["valid_actions"]
    assert valid is None or (isinstance(valid, list) and all(isinstance(a, str) for a in valid)), (
        f"info['valid_actions'] is not None or a list of strings {where}"
    )
    assert isinstance(info["won"], bool) and isinstance(info["invalid_action"], bool), f"flags {where}"


def _check_step(result: StepResult, where: str) -> None:
    observation, reward, terminated, truncated, info = result
    assert isinstance(observation, str), f"observation is {type(observation).__name__} {where}"
    assert isinstance(reward, float), f"reward is {type(reward).__name__} {where}"
    assert isinstance(terminated, bool) and isinstance(truncated, bool), f"done flags {where}"
    _check_info(info, where)


def _check_path(env: TextEnv, task_id: str, length: int, rng: random.Random) -> list[str]:
    """Play ``length`` actions of ``task_id`` (valid ones when listed); returns them."""
    observation, info = env.reset(options={"task_id": task_id})
    assert isinstance(observation, str), f"reset gave a {type(observation).__name__}"
    _check_info(info, f"after reset({task_id!r})")
    assert info["task_id"] == task_id and info["step"] == 0, f"reset({task_id!r}) info {info['task_id']!r}"
    actions: list[str] = []
    for number in range(1, length + 1):
        valid = info["valid_actions"]
        action = rng.choice(valid) if valid else rng.choice(["look", "help", "Step 1: 2 + 2 = 4."])
        result = env.step(action)
        _check_step(result, f"after step {number} ({action!r}) of task {task_id!r}")
        actions.append(action)
        info = result[4]
        assert info["step"] == number, f"info['step'] is {info['step']}, expected {number}"
        if result[2] or result[3]:
            break
    return actions


def _replay(env: TextEnv, task_id: str, actions: Sequence[str]) -> list[StepResult]:
    env.reset(options={"task_id": task_id})
    return [env.step(action) for action in actions]


def _check_branching(env: TextEnv, task_id: str, actions: list[str]) -> None:
    """A restored snapshot (or, without snapshots, a replay) continues exactly like the original path."""
    original = _replay(env, task_id, actions)
    again = _replay(env, task_id, actions)
    assert _same(env, original, again), f"task {task_id!r}: replaying {actions} gave different results"
    if getattr(env, "supports_snapshot", True) is False or not actions:
        return
    env.reset(options={"task_id": task_id})
    env.step(actions[0])
    snapshot = env.snapshot()
    tail = [env.step(action) for action in actions[1:]]
    env.reset(options={"task_id": task_id})  # the restore must undo a reset too
    env.restore(snapshot)
    assert env.step_count == 1, f"restore left step_count {env.step_count}, expected 1"
    restored = [env.step(action) for action in actions[1:]]
    assert _same(env, tail, restored), f"task {task_id!r}: a restored snapshot diverged from the path"
    assert _same(env, original[1:], restored), f"task {task_id!r}: the snapshot path differs from a replay"


def _same(env: TextEnv, a: Sequence[StepResult], b: Sequence[StepResult]) -> bool:
    """Equal observations, rewards, flags and contract info (extras may hold timings)."""
    keys = sorted(INFO_KEYS - set(env.nondeterministic_info))

    def key(result: StepResult) -> tuple[Any, ...]:
        observation, reward, terminated, truncated, info = result
        return observation, reward, terminated, truncated, tuple(repr(info[k]) for k in keys)

    return [key(r) for r in a] == [key(r) for r in b]


def _check_fuzz(env: TextEnv, task_id: str, count: int, rng: random.Random) -> None:
    """Hostile actions give observations with ``invalid_action`` set or a plain step, never an exception."""
    alphabet = "abcdefghijklmnopqrstuvwxyz[]<>:/ \n\t0123456789ÄΩ漢"
    randoms = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(count)]
    env.reset(options={"task_id": task_id})
    for action in (*HOSTILE, *randoms):
        if env.done:
            env.reset(options={"task_id": task_id})
        result = env.step(action)  # type: ignore[arg-type]
        _check_step(result, f"after the hostile action {str(action)[:40]!r}")
        if not isinstance(action, str):
            assert result[4]["invalid_action"], f"non-string action {action!r} was not flagged invalid"
    # A finished episode stays finished: stepping it changes nothing and is flagged invalid.
    env.reset(options={"task_id": task_id})
    while not env.done:
        valid = env.info["valid_actions"]
        env.step(valid[0] if valid else "look")
    observation, before = env.observation, env.step_count
    result = env.step("anything")
    assert result[0] == observation and env.step_count == before and result[4]["invalid_action"], (
        "stepping a finished episode changed it"
    )
