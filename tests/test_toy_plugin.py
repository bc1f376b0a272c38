"""A new environment in one file: the env, its plug-in record, and the proof that agentsearch takes it up.

Nothing else in the repository names ``toy``: registering the record below is all it takes for the
environment to appear in ``agentsearch collect --help``, to keep the TextEnv contract, and to run through
collect -> pairs -> train-q on the tiny model from the command line (``--import test_toy_plugin``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentsearch.envs import TextEnv, Transition, make
from agentsearch.envs.checker import check_text_env
from agentsearch.plugins import EnvPlugin, env_plugins, get_env_plugin, register_env_plugin

COLOURS = ("red", "green", "blue")


class ToyEnv(TextEnv):
    """Press the button of the colour the instruction names: reward 1, else 0; one press ends it."""

    default_max_steps = 3

    def task_ids(self, split):
        offset = {"train": 0, "eval": 100, "test": 200}[split]
        return [str(offset + i) for i in range(12)]

    def _reset_task(self, task_id):
        self._target = COLOURS[int(task_id) % 3]
        self._pressed: str | None = None
        return "Three buttons: red, green and blue.", f"Press the {self._target} button.", {}

    def _valid_actions(self):
        return [f"press {colour}" for colour in COLOURS] + ["look"]

    def _step(self, action):
        if action == "look":
            return Transition("Three buttons: red, green and blue.")
        if action.startswith("press ") and action[6:] in COLOURS:
            self._pressed = action[6:]
            won = self._pressed == self._target
            return Transition(f"You pressed {self._pressed}.", reward=float(won), terminated=True, won=won)
        return Transition("There is no such button.", invalid_action=True)

    def _get_state(self):
        return (self._target, self._pressed)

    def _set_state(self, state):
        self._target, self._pressed = state


def parse_toy_action(text: str) -> str:
    """The ``Action:`` line, lower-cased (``Action: Press RED`` -> ``press red``)."""
    return text.rpartition("Action:")[2].strip().lower()[:64]


PLUGIN = register_env_plugin(
    EnvPlugin(
        "agentsearch-test/Toy-v0",
        entry_point=ToyEnv,
        parser=parse_toy_action,
        description="press the button the instruction names (a test plug-in)",
    )
)


def run_cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    """``agentsearch --import test_toy_plugin ...`` in a fresh process, this folder importable."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(Path(__file__).parent)}
    return subprocess.run(
        [sys.executable, "-m", "agentsearch.cli", "--import", "test_toy_plugin", *argv],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=600,
    )


def test_the_record_is_found_by_name_and_id() -> None:
    assert env_plugins()["toy"] is PLUGIN
    assert get_env_plugin("agentsearch-test/Toy-v0") is PLUGIN
    assert PLUGIN.make_prompt().parse("Thought: red it is\nAction: Press RED") == "press red"
    assert isinstance(make("toy"), ToyEnv)


def test_the_toy_env_keeps_the_contract() -> None:
    check_text_env(make("toy"), task_ids=["0", "1", "2"])


def test_the_toy_env_is_listed_in_collect_help(tmp_path: Path) -> None:
    proc = run_cli("collect", "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "toy" in proc.stdout.split("--env ENV", 2)[-1].split("--split")[0]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_collect_pairs_train_q_on_the_toy_env_from_the_command_line(tmp_path: Path) -> None:
    collect = run_cli(
        "collect", "--env", "toy", "--model", "tiny-random", "--tasks", "6", "--concurrency", "3",
        "--agent", "action_mode=score_valid", "--agent", "react=false",
        "--search", "iterations=2", "--search", "n_samples=4", "--search", "max_depth=2",
        "--out", "trees.jsonl", "--no-progress", cwd=tmp_path,
    )
    assert collect.returncode == 0, collect.stderr[-2000:]
    trees = [json.loads(line) for line in (tmp_path / "trees.jsonl").read_text().splitlines()]
    assert len(trees) == 6
    assert all(t["env"] == "agentsearch-test/Toy-v0" and t["error"] is None for t in trees)
    pairs = run_cli("pairs", "trees.jsonl", "--strategy", "all_siblings", "--out", "pairs.jsonl",
                    cwd=tmp_path)
    assert pairs.returncode == 0, pairs.stderr[-2000:]
    records = [json.loads(line) for line in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    assert records, pairs.stdout
    # A winning chosen side presses the colour its task names: the pairs carry what the env rewards.
    for record in records:
        target = record["prompt"][2]["content"].split("Press the ")[1].split(" button")[0]
        assert record["q_chosen"] > record["q_rejected"]
        assert (record["q_chosen"] == 1.0) == (record["chosen"][0]["content"] == f"Action: press {target}")
    train = run_cli("train-q", "pairs.jsonl", "--base", "tiny-random", "--out", "qmodel", "--max-steps", "1",
                    "--eval-fraction", "0", cwd=tmp_path)
    assert train.returncode == 0, train.stderr[-2000:]
    meta = json.loads((tmp_path / "qmodel" / "agentsearch_meta.json").read_text())
    assert meta["base_model"] == "tiny-random"
