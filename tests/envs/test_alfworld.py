"""ALFWorld on the native engine: gymnasium, shipped games, text, snapshots, bad input (no textworld)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections import Counter

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import agentsearch  # noqa: F401  (registers the environments)
from agentsearch.envs import make
from agentsearch.envs.alfworld import ALFWorldEnv
from agentsearch.envs.alfworld.games import GameCatalog
from agentsearch.envs.alfworld.generate import SPLIT_SIZES, TEST_FLOOR_PLANS
from agentsearch.envs.alfworld.native import demangle_names
from agentsearch.errors import ConfigError, DataFileError, EnvError
from agentsearch.files import open_maybe_gzipped


@pytest.fixture(scope="module")
def env() -> ALFWorldEnv:
    made = make("alfworld", split="test")
    assert isinstance(made, ALFWorldEnv)
    return made


def test_gym_make_works_offline_and_passes_check_env() -> None:
    env = gym.make("agentsearch/ALFWorld-v0", split="test")
    assert isinstance(env.unwrapped, ALFWorldEnv) and env.unwrapped.max_steps == 50
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []
    observation, info = env.reset(seed=0)
    assert observation.startswith("-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room.")
    assert info["engine"] == "native" and info["valid_actions"] == sorted(info["valid_actions"])


def test_shipped_splits_sizes_and_held_out_layouts() -> None:
    catalog = GameCatalog()
    floor_plans = {}
    for split in ("train", "eval", "test"):
        ids = catalog.task_ids(split)
        assert 0 < len(ids) <= sum(SPLIT_SIZES[split].values())
        floor_plans[split] = {catalog.get(i).spec["floor_plan"] for i in ids}
        types = Counter(catalog.get(i).task_type for i in ids)
        assert len(types) == 6, f"{split} lacks task types: {types}"
    assert len(catalog.task_ids("eval")) == 140 and len(catalog.task_ids("test")) == 134
    assert floor_plans["test"] <= TEST_FLOOR_PLANS
    assert not (floor_plans["train"] | floor_plans["eval"]) & TEST_FLOOR_PLANS
    # eval (valid_seen) draws from the training pool of layouts, test (valid_unseen) only from held-out ones.


@pytest.mark.parametrize("split", ["train", "eval", "test"])
def test_walkthrough_wins_every_shipped_game_on_the_native_engine(env: ALFWorldEnv, split: str) -> None:
    for task_id in env.task_ids(split):
        _, info = env.reset(options={"task_id": task_id})
        for command in info["walkthrough"]:
            assert command in info["valid_actions"], (task_id, command)
            _, reward, terminated, _, info = env.step(command)
        assert (reward, terminated, info["won"]) == (1.0, True, True), task_id


def test_text_of_a_heat_game(env: ALFWorldEnv) -> None:
    task_id = next(
        t for t in env.task_ids("test") if env.catalog.get(t).task_type == "pick_heat_then_place_in_recep"
    )
    observation, info = env.reset(options={"task_id": task_id})
    assert observation.endswith(f"\n\nYour task is to: {info['instruction']}")
    assert {"look", "inventory", "help"} <= set(info["valid_actions"])
    plan = info["walkthrough"]
    heat = next(i for i, c in enumerate(plan) if c.startswith("heat "))
    for command in plan[:heat]:
        observation, *_ = env.step(command)
    obj = plan[heat].split(" with ")[0].removeprefix("heat ")
    assert env.step("inventory")[0] == f"You are carrying: a {obj}."
    observation, *_ = env.step(plan[heat])
    assert observation == f"You heat the {obj} using the {plan[heat].split(' with ')[1]}."
    assert env.step(f"examine {obj}")[0] == f"This is a hot {obj}."
    observation, _, _, _, info = env.step("help")
    assert observation.startswith("Available commands:\n  look:") and not info["invalid_action"]


def test_go_to_feedback_and_open_close(env: ALFWorldEnv) -> None:
    env.reset(options={"task_id": "test-0000"})
    openable = next(
        a for a in env.info["valid_actions"] if a.startswith("go to drawer") or a.startswith("go to cabinet")
    )
    name = openable.removeprefix("go to ")
    observation, *_ = env.step(openable)
    assert observation == f"You arrive at {name}. The {name} is closed."
    observation, *_ = env.step(f"open {name}")
    assert observation.startswith(f"You open the {name}. The {name} is open. In it, you see ")
    assert env.step(f"close {name}")[0] == f"You close the {name}."
    assert env.step(openable)[0] == "Nothing happens."  # already there


def test_wording_0_3_put_in_on_and_no_arrival_sentence() -> None:
    env = ALFWorldEnv(split="test", wording="0.3")
    task_id = next(t for t in env.task_ids("test") if env.catalog.get(t).task_type == "pick_and_place_simple")
    _, info = env.reset(options={"task_id": task_id})
    plan = info["walkthrough"]
    assert any(c.startswith("put ") and " in/on " in c for c in plan)
    assert not any(c.startswith("move ") for c in plan)
    first, *_ = env.step(plan[0])
    assert not first.startswith("You arrive") and first.split(" ")[0] in ("On", "The")
    for command in plan[1:]:
        observation, reward, terminated, _, info = env.step(command)
    assert observation.startswith("You put the ") and " in/on the " in observation
    assert (reward, terminated) == (1.0, True)
    assert not any(a.startswith("move ") for a in info["valid_actions"])


@pytest.mark.parametrize("wording", ["0.4", "0.3"])
def test_every_expert_plan_wins_in_both_wordings(wording: str) -> None:
    """info["walkthrough"], expert_plan() at reset and expert_plan() mid-episode, one game per task type."""
    env = ALFWorldEnv(split="test", wording=wording, expert="shortest")
    by_type: dict[str, str] = {}
    for task_id in env.task_ids("test"):
        by_type.setdefault(env.catalog.get(task_id).task_type, task_id)
    assert len(by_type) == 6
    place = {"0.4": "move ", "0.3": "put "}
    other, placed = ("0.3" if wording == "0.4" else "0.4"), 0
    for task_id in by_type.values():
        _, info = env.reset(options={"task_id": task_id})
        plans = {"walkthrough": info["walkthrough"], "expert_plan": env.expert_plan()}
        assert plans["walkthrough"] == plans["expert_plan"]
        placed += sum(c.startswith(place[wording]) for c in plans["walkthrough"])
        assert not any(c.startswith(place[other]) for c in plans["walkthrough"])
        for name, plan in plans.items():
            env.reset(options={"task_id": task_id})
            outcome = [env.step(command) for command in plan]
            assert not any(step[4]["invalid_action"] for step in outcome), (wording, task_id, name)
            assert outcome[-1][1:3] == (1.0, True) and outcome[-1][4]["won"], (wording, task_id, name)
        env.reset(options={"task_id": task_id})
        env.step(plans["walkthrough"][0])
        env.step("look")
        rest = env.expert_plan()
        assert rest is not None
        for command in rest:
            _, reward, terminated, _, info = env.step(command)
            assert not info["invalid_action"], (wording, task_id, command)
        assert (reward, terminated) == (1.0, True), (wording, task_id)
    assert placed >= 5  # every task type but look_at_obj_in_light places an object


def test_demangler_numbers_sorted_ids_from_the_top() -> None:
    names = demangle_names(
        ["cabinet_bar_b", "cabinet_bar_a", "sink_bar_x_bar_sinkbasin", "appletype", "loc_bar_1"]
    )
    assert names["cabinet_bar_a"] == "cabinet 2" and names["cabinet_bar_b"] == "cabinet 1"
    assert names["sink_bar_x_bar_sinkbasin"] == "sinkbasin 1" and names["appletype"] == "appletype "


def test_snapshot_restore_rewinds_and_branches(env: ALFWorldEnv) -> None:
    _, info = env.reset(options={"task_id": "eval-0003"})
    plan = info["walkthrough"]
    for command in plan[:2]:
        env.step(command)
    snapshot = env.snapshot()
    hash(snapshot.state)
    observation, info_before = env.observation, env.info
    outcomes = []
    for _ in range(2):
        env.restore(snapshot)
        assert env.step_count == 2 and env.observation == observation and env.info == info_before
        outcomes.append([env.step(c)[:3] for c in plan[2:]])
    assert outcomes[0] == outcomes[1] and outcomes[0][-1][1:] == (1.0, True)
    # Restoring across tasks brings the other game back.
    env.reset(options={"task_id": "test-0005"})
    env.restore(snapshot)
    assert env.task_id == "eval-0003" and env.step(plan[2])[0] == outcomes[0][0][0]


def test_expert_plan_mid_episode_wins() -> None:
    env = ALFWorldEnv(split="test", expert="shortest")
    _, info = env.reset(options={"task_id": "test-0006"})
    assert env.expert_plan() == info["walkthrough"]
    env.step(info["walkthrough"][0])
    env.step("look")
    plan = env.expert_plan()
    assert plan is not None
    for command in plan:
        _, reward, *_ = env.step(command)
    assert reward == 1.0


def test_shortest_plan_mid_episode_skips_a_treatment_already_done() -> None:
    env = ALFWorldEnv(split="test", expert="shortest")
    task_id = next(t for t in env.task_ids("test") if env.catalog.get(t).task_type.startswith("pick_heat"))
    _, info = env.reset(options={"task_id": task_id})
    walkthrough = info["walkthrough"]
    heat = next(i for i, command in enumerate(walkthrough) if command.startswith("heat "))
    for command in walkthrough[: heat + 1]:
        env.step(command)
    assert env.expert_plan() == walkthrough[heat + 1 :]


@pytest.mark.parametrize("wording", ["0.4", "0.3"])
def test_search_expert_fetches_only_objects_it_has_seen(wording: str) -> None:
    """Every test game: the plan wins, and each object it takes or uses was in an earlier observation."""
    env = ALFWorldEnv(split="test", wording=wording)
    longer = 0
    for task_id in env.task_ids("test"):
        observation, info = env.reset(options={"task_id": task_id})
        plan = env.expert_plan()
        assert plan is not None and env.step_count == 0, task_id  # planning leaves the episode untouched
        observed = [observation]
        for command in plan:
            target = command.split(" from ")[0].removeprefix("take ") if command.startswith("take ") else None
            if command.startswith("use "):
                target = command.removeprefix("use ")
            if target is not None:
                assert any(f"a {target}," in o or f"a {target}." in o for o in observed), (task_id, command)
            observation, reward, terminated, _, info = env.step(command)
            assert not info["invalid_action"], (task_id, command)
            observed.append(observation)
        assert (reward, terminated) == (1.0, True), task_id
        longer += len(plan) > len(env.catalog.get(task_id).walkthrough or ())
    assert longer >= 50  # the shortest plan goes straight to the object; the searcher often cannot


def test_unknown_expert_is_refused() -> None:
    with pytest.raises(ConfigError, match="expert"):
        ALFWorldEnv(expert="oracle")


def test_truncates_at_max_steps() -> None:
    env = ALFWorldEnv(split="test", max_steps=3)
    env.reset(options={"task_id": "test-0000"})
    results = [env.step("look") for _ in range(3)]
    assert [r[3] for r in results] == [False, False, True] and not results[-1][2]


ODD = [
    "",
    " ",
    "\n",
    "look ",
    "  look",
    "LOOK",
    "go to",
    "go to ",
    "go to countertop",
    "take",
    "move a to b",
    "put apple 1 in/on countertop 1",
    "\x00",
    "\ud800",
    "go to countertop 1\n",
    "x" * 100_000,
    "[" * 10_000,
    "think: I need the apple",
    "slice apple 1 with knife 1",
    "use desklamp 1",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.one_of(st.text(max_size=60), st.sampled_from(ODD)))
def test_fuzzed_commands_never_raise(env: ALFWorldEnv, command: str) -> None:
    env.reset(options={"task_id": "test-0002"})
    valid = env.info["valid_actions"]
    observation, reward, terminated, truncated, info = env.step(command)
    if command.strip() in valid:
        assert not info["invalid_action"]
    else:
        assert observation == "Nothing happens." and info["invalid_action"] and reward == 0.0
        assert info["valid_actions"] == valid


def test_non_string_action_is_invalid(env: ALFWorldEnv) -> None:
    env.reset(options={"task_id": "test-0002"})
    assert env.step(None)[4]["invalid_action"]  # type: ignore[arg-type]


def test_corrupt_spec_file_raises_data_file_error_with_line(tmp_path) -> None:
    with open_maybe_gzipped(GameCatalog().root / "test.jsonl.gz") as shipped:
        good = shipped.readline().strip()
    (tmp_path / "test.jsonl").write_text(good + "\n{not json\n")
    (tmp_path / "vocab.json").write_text((GameCatalog().root / "vocab.json").read_text())
    with pytest.raises(DataFileError, match=r"test\.jsonl:2"):
        GameCatalog(tmp_path).task_ids("test")
    (tmp_path / "vocab.json").write_text("[]")
    with pytest.raises(DataFileError, match=r"vocab\.json"):
        GameCatalog(tmp_path).vocab  # noqa: B018


def test_corrupt_official_game_file_raises_data_file_error(tmp_path) -> None:
    trial = tmp_path / "json_2.1.1" / "valid_unseen" / "pick_and_place_simple-Cd-None-Desk-308" / "trial_1"
    trial.mkdir(parents=True)
    (trial / "traj_data.json").write_text(
        json.dumps({"task_type": "pick_and_place_simple", "pddl_params": {}})
    )
    (trial / "game.tw-pddl").write_text('{"pddl_problem": "(define')
    with pytest.raises(DataFileError, match="game.tw-pddl"):
        ALFWorldEnv(data_dir=tmp_path / "json_2.1.1", split="test").task_ids("test")


def test_bad_options_and_unknown_tasks() -> None:
    with pytest.raises(ConfigError):
        ALFWorldEnv(engine="fast")
    with pytest.raises(ConfigError):
        ALFWorldEnv(wording="0.5")
    with pytest.raises(EnvError):
        ALFWorldEnv(split="test").reset(options={"task_id": "nope"})


def test_cli_play_alfworld_through_stdin(env: ALFWorldEnv) -> None:
    _, info = env.reset(options={"task_id": "test-0003"})
    script = "\n".join([":actions", "dance", *info["walkthrough"]]) + "\n"
    out = subprocess.run(
        [sys.executable, "-m", "agentsearch.cli", "envs", "play", "alfworld", "--task", "test-0003"],
        input=script,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "Nothing happens." in out.stdout and "episode over: won" in out.stdout
