"""The TextEnv contract (envs/base.py): every registered env through one check, then WebShop in detail.

``check_text_env`` (``agentsearch/envs/checker.py``) runs gymnasium's ``check_env`` and agentsearch's own
promises; it is parametrised here over every plug-in in the registry, plus a plain gymnasium env seen
through ``GymTextEnv``. An environment whose extra is not installed is skipped, saying which extra.
"""

from __future__ import annotations

import pytest
from plain_text_env import ENV_ID as CORRIDOR

from agentsearch.envs import EnvSnapshot, TextEnv, Transition, make
from agentsearch.envs.checker import INFO_KEYS, check_text_env
from agentsearch.envs.webshop import WebShopEnv
from agentsearch.envs.webshop.oracle import oracle_actions
from agentsearch.errors import ConfigError, EnvError
from agentsearch.plugins import env_plugins


@pytest.mark.parametrize("name", sorted(env_plugins()))
def test_every_registered_env_keeps_the_contract(name: str) -> None:
    plugin = env_plugins()[name]
    if not plugin.available:
        pytest.skip(f"{name} needs pip install 'agentsearch[{plugin.extra}]'")
    # A short step limit reaches truncation quickly; an env behind an extra is a slow simulator: one task.
    env = make(name, split="train", max_steps=6)
    try:
        slow = bool(plugin.requires)
        tasks = env.task_ids("train")[:1] if slow else None
        check_text_env(env, task_ids=tasks, path_length=3 if slow else 4, fuzz=0 if slow else 20)
    finally:
        env.close()


def test_a_plain_gymnasium_env_keeps_the_contract_through_the_adapter() -> None:
    env = make(CORRIDOR, split="train", valid_actions_key="moves")
    assert env.supports_snapshot is False  # no snapshot/restore of its own: search replays it
    check_text_env(env)
    _, info = env.reset(options={"task_id": "5"})
    assert info["valid_actions"] == ["go left", "go right", "wait"]
    assert info["instruction"].startswith("Leave by the exit")


class _ForgetfulCounterEnv(TextEnv):
    """Counts ``add`` actions, but its snapshot forgets the count: restore is broken on purpose."""

    def task_ids(self, split):
        return ["0"]

    def _reset_task(self, task_id):
        self._count = 0
        return "count 0", "Count to three.", {}

    def _valid_actions(self):
        return ["add"]

    def _step(self, action):
        if action != "add":
            return Transition(f"count {self._count}", invalid_action=True)
        self._count += 1
        return Transition(f"count {self._count}", reward=float(self._count == 3), terminated=self._count == 3)

    def _get_state(self):
        return None  # the bug: the count is not in the snapshot

    def _set_state(self, state):
        pass


def test_the_checker_catches_a_snapshot_that_misses_state() -> None:
    with pytest.raises(AssertionError, match="restored snapshot diverged"):
        check_text_env(_ForgetfulCounterEnv(), path_length=3)


@pytest.fixture(scope="module")
def env() -> WebShopEnv:
    made = make("webshop", split="test")
    assert isinstance(made, WebShopEnv)
    return made


def test_info_keys_on_reset_and_every_step(env: WebShopEnv) -> None:
    _, info = env.reset(options={"task_id": "3"})
    assert INFO_KEYS <= info.keys()
    assert info["task_id"] == "3" and info["step"] == 0 and info["instruction"] == env.goal.instruction_text
    for number, action in enumerate([*oracle_actions(env)], start=1):
        _, _, _, _, info = env.step(action)
        assert INFO_KEYS <= info.keys()
        assert info["step"] == number
        assert isinstance(info["valid_actions"], list) and all(
            isinstance(a, str) for a in info["valid_actions"]
        )
    assert info["won"] is True


def test_snapshot_restore_rewinds_page_and_step_counter(env: WebShopEnv) -> None:
    env.reset(options={"task_id": "5"})
    actions = oracle_actions(env)
    env.step(actions[0])
    env.step(actions[1])
    snapshot = env.snapshot()
    observation, info = env.observation, env.info
    for action in actions[2:]:
        env.step(action)
    assert env.done
    env.restore(snapshot)
    assert env.step_count == 2 and not env.done
    assert env.observation == observation and env.info == info
    # The restored env continues exactly like the original branch did.
    results = [env.step(action) for action in actions[2:]]
    assert results[-1][1] == 1.0 and results[-1][2] is True
    assert results[-1][4]["step"] == len(actions)


def test_snapshot_is_small_immutable_and_reusable(env: WebShopEnv) -> None:
    env.reset(options={"task_id": "7"})
    env.step("search[shampoo]")
    snapshot = env.snapshot()
    assert isinstance(snapshot, EnvSnapshot)
    hash(snapshot.state[1])  # the page state is a hashable value
    with pytest.raises(AttributeError):
        snapshot.step = 0  # type: ignore[misc]
    # Branch twice from the same snapshot: same result both times.
    outcomes = []
    for _ in range(2):
        env.restore(snapshot)
        outcomes.append(env.step("click[next >]")[0])
    assert outcomes[0] == outcomes[1]


def test_restore_across_tasks_brings_back_the_goal(env: WebShopEnv) -> None:
    env.reset(options={"task_id": "1"})
    snapshot = env.snapshot()
    instruction = env.instruction
    env.reset(options={"task_id": "2"})
    env.restore(snapshot)
    assert env.task_id == "1" and env.instruction == instruction and env.goal.instruction_text == instruction
    actions = oracle_actions(env)
    assert [env.step(a)[1] for a in actions][-1] == 1.0


def test_truncation_at_max_steps_is_counted_inside_the_env() -> None:
    env = WebShopEnv(max_steps=3, split="test")
    env.reset(options={"task_id": "0"})
    flags = [env.step("search[shoes]")[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]
    # Steps after the end change nothing and are flagged invalid.
    _, reward, terminated, truncated, info = env.step("search[shoes]")
    assert (reward, terminated, truncated, info["invalid_action"], info["step"]) == (
        0.0,
        False,
        True,
        True,
        3,
    )
    # Restoring an earlier snapshot un-truncates.
    env.reset(options={"task_id": "0"})
    env.step("search[a]")
    snapshot = env.snapshot()
    env.step("search[b]")
    env.step("search[c]")
    assert env.done
    env.restore(snapshot)
    assert not env.done and env.step("search[d]")[3] is False


def test_default_max_steps_is_15() -> None:
    assert WebShopEnv.default_max_steps == 15


def test_errors() -> None:
    env = WebShopEnv()
    with pytest.raises(EnvError):
        env.step("search[x]")
    with pytest.raises(EnvError):
        env.snapshot()
    with pytest.raises(ConfigError):
        WebShopEnv(split="dev")
    with pytest.raises(ConfigError):
        env.task_ids("validation")
    with pytest.raises(EnvError):
        env.restore("not a snapshot")  # type: ignore[arg-type]


def test_non_string_action_is_invalid_not_an_exception(env: WebShopEnv) -> None:
    env.reset(options={"task_id": "0"})
    _, reward, _, _, info = env.step(None)  # type: ignore[arg-type]
    assert reward == 0.0 and info["invalid_action"] is True
