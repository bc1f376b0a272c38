"""ALFWorld's real engine (textworld + fast-downward + alfworld) against the native twin.

Needs the ``alfworld`` extra; CI installs it. The slow engine plays a sample of the shipped games here
(loading one realistic house costs it 0.5-4 s); ``benchmarks/bench_alfworld.py --differential 200``
runs the full differential check recorded in BENCHMARKS.md.
"""

from __future__ import annotations

import sys

import pytest

from agentsearch.envs.alfworld.real import textworld_available

pytestmark = [
    pytest.mark.alfworld,
    pytest.mark.skipif(
        not textworld_available(), reason="needs the alfworld extra (textworld[pddl], alfworld)"
    ),
]

from agentsearch.envs.alfworld import ALFWorldEnv  # noqa: E402
from agentsearch.envs.alfworld.differential import compare_games  # noqa: E402
from agentsearch.envs.alfworld.games import GameCatalog, write_game_folder  # noqa: E402
from agentsearch.envs.alfworld.pddl import GOAL_PDDL, TASK_TYPES  # noqa: E402
from agentsearch.errors import EnvError  # noqa: E402

CATALOG = GameCatalog()


def sample(per_type: int, splits: tuple[str, ...] = ("train", "eval", "test")) -> list[str]:
    """The first ``per_type`` games of each task type in each split: every type and layout kind."""
    picked: list[str] = []
    for split in splits:
        counts: dict[str, int] = {}
        for task_id in CATALOG.task_ids(split):
            task_type = CATALOG.get(task_id).task_type
            if counts.get(task_type, 0) < per_type:
                counts[task_type] = counts.get(task_type, 0) + 1
                picked.append(task_id)
    return picked


def test_goal_templates_match_alfworlds_goal_library() -> None:
    from alfworld.gen import goal_library

    def norm(text: str) -> str:
        return " ".join(text.replace("#", "-").replace("(", " ( ").replace(")", " ) ").split())

    for task_type in TASK_TYPES.values():
        assert norm(GOAL_PDDL[task_type]) in norm(goal_library.gdict[task_type]["pddl"]), task_type


def test_differential_sample_has_zero_mismatches() -> None:
    """10 games (6 task types from test, 4 from train) x 30 commands: text, admissible, reward, done."""
    records = [CATALOG.get(t) for t in sample(1, ("test",)) + sample(1, ("train",))[:4]]
    report = compare_games(records, CATALOG.vocab, steps=30, seed=1)
    assert report.mismatches == [], report.mismatches[:3]
    assert report.games == 10 and report.steps == 10 * 30 and report.invalid_commands > 0 and report.wins > 0


def test_differential_sample_in_the_0_3_wording() -> None:
    records = [CATALOG.get(t) for t in sample(1, ("eval",))[:2]]
    report = compare_games(records, CATALOG.vocab, steps=20, seed=2, wording="0.3")
    assert report.mismatches == [], report.mismatches[:3]


def test_walkthrough_wins_a_sample_on_the_textworld_engine() -> None:
    """CI plays one game per task type (from eval) on the slow engine; every game wins on the native one."""
    env = ALFWorldEnv(engine="textworld", split="test")
    for task_id in sample(1, ("eval",)):
        _, info = env.reset(options={"task_id": task_id})
        assert info["engine"] == "textworld"
        for command in info["walkthrough"]:
            _, reward, terminated, _, info = env.step(command)
        assert (reward, terminated, info["won"]) == (1.0, True, True), task_id


def test_0_3_walkthrough_wins_on_the_textworld_engine() -> None:
    env = ALFWorldEnv(engine="textworld", split="test", wording="0.3")
    task_id = next(t for t in sample(1, ("eval",)) if CATALOG.get(t).task_type == "pick_and_place_simple")
    _, info = env.reset(options={"task_id": task_id})
    assert any(c.startswith("put ") and " in/on " in c for c in info["walkthrough"])
    for command in info["walkthrough"]:
        _, reward, terminated, _, info = env.step(command)
    assert (reward, terminated, info["won"]) == (1.0, True, True)


def test_textworld_snapshot_restore_matches_replay() -> None:
    env = ALFWorldEnv(engine="textworld", split="test")
    task_id = sample(1, ("test",))[2]
    _, info = env.reset(options={"task_id": task_id})
    plan = info["walkthrough"]
    for command in ["look", plan[0], "inventory"]:
        env.step(command)
    snapshot = env.snapshot()
    branch_a = [env.step(c)[:3] for c in ["look", *plan[1:]]]
    env.restore(snapshot)
    assert env.step_count == 3
    branch_b = [env.step(c)[:3] for c in ["look", *plan[1:]]]
    assert branch_a == branch_b and branch_a[-1][1:] == (1.0, True)
    # Replaying from reset gives the same observations as the restored branch.
    env.reset(options={"task_id": task_id})
    for command in ["look", plan[0], "inventory"]:
        env.step(command)
    assert [env.step(c)[:3] for c in ["look", *plan[1:]]] == branch_a
    with pytest.raises(EnvError):
        env.restore(snapshot)  # reset rebuilt the engine's state registry


def test_expert_planner_on_demand_finds_a_winning_plan() -> None:
    env = ALFWorldEnv(engine="textworld", split="test")
    task_id = next(t for t in sample(1, ("test",)) if CATALOG.get(t).task_type == "pick_and_place_simple")
    _, info = env.reset(options={"task_id": task_id})
    env.step(info["walkthrough"][0])
    plan = env.expert_plan()  # fast-downward, from the current state
    assert plan and len(plan) == len(info["walkthrough"]) - 1
    for command in plan:
        _, reward, *_ = env.step(command)
    assert reward == 1.0


def test_engine_guards_sys_argv_and_exit() -> None:
    from agentsearch.envs.alfworld.games import domain_text, grammar_text
    from agentsearch.envs.alfworld.real import RealGame

    argv = list(sys.argv)
    bad = "(define (problem p) (:domain alfred) (:objects a - agent a - object) (:init) (:goal (and)))"
    with pytest.raises(EnvError):
        RealGame({"pddl_domain": domain_text(), "grammar": grammar_text("x"), "pddl_problem": bad})
    assert sys.argv == argv
    record = CATALOG.get("test-0000")
    RealGame(
        {
            "pddl_domain": domain_text(),
            "grammar": grammar_text(record.goal),
            "pddl_problem": record.problem(CATALOG.vocab),
        }
    ).reset()
    assert sys.argv == argv


def test_official_layout_is_served_natively_and_by_textworld(tmp_path) -> None:
    """A json_2.1.x folder (what alfworld-download fetches) of our games, read through data_dir."""
    for split, folder in (("test", "valid_unseen"), ("eval", "valid_seen")):
        for task_id in sample(1, (split,))[:2]:
            write_game_folder(CATALOG.get(task_id), CATALOG.vocab, tmp_path / "json_2.1.1" / folder)
    for engine in ("native", "textworld"):
        env = ALFWorldEnv(data_dir=tmp_path, engine=engine, split="test")
        assert (
            len(env.task_ids("test")) == 2 and len(env.task_ids("eval")) == 2 and env.task_ids("train") == []
        )
        for task_id in env.task_ids("test"):
            _, info = env.reset(options={"task_id": task_id})
            assert info["engine"] == engine
            for command in info["walkthrough"]:
                _, reward, *_ = env.step(command)
            assert reward == 1.0


def test_official_alfred_tw_env_loads_our_games_and_its_expert_wins(tmp_path) -> None:
    from alfworld.agents.environment import get_environment

    for task_id in sample(1, ("test",))[:3]:
        write_game_folder(CATALOG.get(task_id), CATALOG.vocab, tmp_path / "train")
    config = {
        "env": {
            "goal_desc_human_anns_prob": 0,
            "task_types": [1, 2, 3, 4, 5, 6],
            "domain_randomization": False,
            "expert_type": "handcoded",
        },
        "general": {"training_method": "dagger"},
        "dagger": {"training": {"max_nb_steps_per_episode": 50}},
        "dataset": {
            "data_path": str(tmp_path / "train"),
            "eval_id_data_path": str(tmp_path),
            "eval_ood_data_path": str(tmp_path),
            "num_train_games": -1,
            "num_eval_games": -1,
        },
    }
    alfred = get_environment("AlfredTWEnv")(config, train_eval="train")
    assert alfred.num_games == 3
    env = alfred.init_env(batch_size=1)
    try:
        for _ in range(3):
            _, infos = env.reset()
            for _ in range(50):
                _, _, dones, infos = env.step([infos["extra.expert_plan"][0][0]])
                if dones[0]:
                    break
            assert infos["won"][0]
    finally:
        env.close()
