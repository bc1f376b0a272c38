"""Any gymnasium text env: search on a plain env (no TextEnv, no snapshots), in Python and from the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest
from plain_text_env import ENV_ID, CorridorEnv

from agentsearch.agents import make_prompt
from agentsearch.envs import env_id, make
from agentsearch.envs.gym_text import GymTextEnv
from agentsearch.errors import ConfigError
from agentsearch.search.branching import Branching
from agentsearch.search.mcts import MCTSConfig, mcts
from agentsearch.search.scripted import RandomValidAgent


def run_cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(Path(__file__).parent)}
    return subprocess.run([sys.executable, "-m", "agentsearch.cli", *argv], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


def test_mcts_on_a_wrapped_plain_env_branches_by_replay() -> None:
    """The gymnasium wrappers of `gym.make` have no snapshot(): search replays instead of raising."""
    plain = gym.make(ENV_ID)  # OrderEnforcing/PassiveEnvChecker/TimeLimit around CorridorEnv
    assert not hasattr(plain, "snapshot")
    branch = Branching(plain, "3")
    branch.reset()
    assert branch.mode == "replay"
    env = make(ENV_ID, valid_actions_key="moves")
    tree = asyncio.run(mcts(env, RandomValidAgent("corridor"), "3", MCTSConfig(iterations=20, max_depth=6),
                            seed=0))
    assert tree.provenance["branching"] == "replay" and tree.provenance["replay_steps"] > 0
    assert tree.success and not any(tree.diverged)  # seeded resets replay exactly
    assert tree.env == ENV_ID


def test_module_colon_id_imports_the_module_and_finds_its_namespaced_id() -> None:
    assert env_id("plain_text_env:Corridor-v0") == ENV_ID
    assert env_id("corridor") == ENV_ID  # the short name of a registered id
    with pytest.raises(ConfigError, match="Cannot import 'no_such_module'"):
        env_id("no_such_module:Thing-v0")


def test_adapter_options_reach_the_wrapper_not_the_constructor() -> None:
    env = make(ENV_ID, valid_actions_key="moves", length=6)  # `length` is CorridorEnv's own argument
    assert isinstance(env, GymTextEnv) and isinstance(env.env, CorridorEnv) and env.env.length == 6
    assert env.max_steps == 10  # the id's max_episode_steps, counted by the wrapper
    _, info = env.reset(options={"task_id": "0"})
    assert info["valid_actions"] == ["go left", "go right", "wait"]
    without_key = make(ENV_ID)
    assert without_key.reset(options={"task_id": "0"})[1]["valid_actions"] is None  # free-form
    with pytest.raises(ConfigError, match="only apply to plain gymnasium envs"):
        make("webshop", valid_actions_key="moves")


def test_an_unregistered_env_gets_the_generic_prompt() -> None:
    prompt = make_prompt(ENV_ID)
    assert prompt.env_name == "corridor"
    assert prompt.parse("Thought: right\nAction: go right") == "go right"
    task = prompt.format_task("Leave by the exit in room 2.", "You are in room 0.")
    assert task == "Task: Leave by the exit in room 2.\nObservation: You are in room 0."


def test_collect_on_a_plain_gymnasium_env_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "corridor.yaml").write_text("env_kwargs:\n  valid_actions_key: moves\n")
    proc = run_cli("--import", "plain_text_env", "collect", "--env", ENV_ID, "--config", "corridor.yaml",
                   "--model", "random", "--tasks", "3", "--search", "iterations=8", "--out", "trees.jsonl",
                   "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    trees = [json.loads(line) for line in (tmp_path / "trees.jsonl").read_text().splitlines()]
    assert [t["task_id"] for t in trees] == ["0", "1", "2"]
    assert all(t["error"] is None and t["provenance"]["branching"] == "replay" for t in trees)
    assert any(t["success"] for t in trees)
    # The `module:Id` form needs no --import.
    again = run_cli("collect", "--env", "plain_text_env:Corridor-v0", "--config", "corridor.yaml",
                    "--model", "random", "--task-ids", "5", "--search", "iterations=4", "--out", "more.jsonl",
                    "--no-progress", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((tmp_path / "more.jsonl").read_text())["task_id"] == "5"


def test_an_unknown_env_on_the_command_line_names_the_registered_ones(tmp_path: Path) -> None:
    proc = run_cli("collect", "--env", "mypkg/MyEnv-v0", "--model", "random", "--out", "t.jsonl",
                   cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "Unknown environment 'mypkg/MyEnv-v0'" in proc.stderr and "--import" in proc.stderr
