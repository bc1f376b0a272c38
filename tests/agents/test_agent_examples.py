"""The shipped few-shot examples: well-formed, parseable by their own parser, and real solutions."""

from __future__ import annotations

import json

import pytest

from agentsearch.agents import make_prompt
from agentsearch.agents.alfworld import TASK_KINDS
from agentsearch.agents.prompts import load_examples
from agentsearch.errors import DataFileError

EXAMPLES = load_examples()


def test_every_environment_has_an_example() -> None:
    names = {example.env_name for example in EXAMPLES}
    assert {"webshop", "math"} <= names
    if "alfworld" in names:  # one per ReAct task type
        kinds = sorted(e.kind for e in EXAMPLES if e.env_name == "alfworld")
        assert kinds == sorted(TASK_KINDS)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e.env_name}-{e.kind or e.task_id}")
def test_example_responses_parse_back_to_their_actions(example) -> None:
    prompt = make_prompt(example.env_name)
    assert example.steps and example.instruction and example.observation
    for step in example.steps:
        for thought in (step.thought, None):
            assert prompt.parse(prompt.respond(step.action, thought)) == step.action


@pytest.mark.parametrize("env_name", ["math", "alfworld", "webshop"])
def test_examples_replay_to_a_win_in_their_environment(env_name: str) -> None:
    # The shipped transcripts are what the environment says today; a stale file fails here
    # (regenerate it with `python scripts/make_prompt_examples.py`).
    from agentsearch.envs import make

    examples = [e for e in EXAMPLES if e.env_name == env_name]
    if not examples:
        pytest.skip(f"no {env_name} examples shipped")
    env = make(env_name)
    for example in examples:
        observation, _ = env.reset(options={"task_id": example.task_id})
        assert observation == example.observation
        for step in example.steps:
            observation, reward, terminated, _, info = env.step(step.action)
            assert observation == step.observation and not info["invalid_action"]
        assert terminated and info["won"] and reward > 0


def test_alfworld_prompt_drops_the_banner_and_speaks_the_examples_wording() -> None:
    prompt = make_prompt("alfworld")
    example = prompt.example_for("put a hot apple in fridge")
    assert example is not None and example.kind == "heat"
    task = prompt.format_task(example.instruction, example.observation)
    assert task.startswith("You are in the middle of a room") and "Your task is to:" in task
    uses_move = any(step.action.startswith("move ") for step in example.steps)
    assert ("move {obj} to {recep}" in prompt.instruction) == uses_move


def test_malformed_examples_file_names_the_file(tmp_path) -> None:
    bad = tmp_path / "examples.json"
    bad.write_text(json.dumps([{"env_name": "math", "steps": []}]))
    with pytest.raises(DataFileError, match="examples.json"):
        load_examples(bad)
    bad.write_text("[{not json")
    with pytest.raises(DataFileError, match="examples.json:1"):
        load_examples(bad)
