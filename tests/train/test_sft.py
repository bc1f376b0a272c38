"""Step-level SFT on tiny-random: demonstrations, the loss mask, packing, refusals, the CLI."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from train_helpers import assert_clean_terminal

from agentsearch.agents import LLMAgent, make_prompt
from agentsearch.data.demos import DemoReplayError, DemosConfig, expert_demo, replay_demo, write_demos
from agentsearch.envs import make
from agentsearch.errors import ConfigError, DataFileError
from agentsearch.search.tree import read_trees
from agentsearch.train.sft_data import IGNORE_INDEX, render_path


@pytest.fixture(scope="module")
def webshop_demos():
    env, prompt = make("webshop"), make_prompt("webshop")
    trees = [expert_demo(env, "webshop", task_id, prompt) for task_id in ("1500", "1501", "1502", "1503")]
    return [tree for tree in trees if tree is not None]


def _agent(tokenizer, env="webshop"):
    return LLMAgent(make_prompt(env), backend=None, tokenizer=tokenizer, react=False, icl=False)


def test_expert_demos_win_and_spell_clickables_as_the_page(webshop_demos):
    assert all(tree.success and tree.best_reward == 1.0 for tree in webshop_demos)
    tree = webshop_demos[0]
    actions = tree.action[1:]
    assert actions[0].startswith("search[") and actions[-1] == "click[Buy Now]"
    product = actions[1][len("click[") : -1]
    assert product.isupper() and product in tree.observation[1]  # as the results page prints it
    assert tree.response[1:] == [f"Action: {action}" for action in actions]


def test_react_demos_carry_the_templated_thoughts():
    env, prompt = make("webshop"), make_prompt("webshop")
    tree = expert_demo(env, "webshop", "1500", prompt, react=True)
    assert tree.response[1].startswith("Thought: I think I should use the search bar")
    assert tree.response[-1].endswith("Action: click[Buy Now]")


@pytest.mark.parametrize("env_name, task_count", [("math", 3), ("alfworld", 2)])
def test_experts_of_the_other_environments_win(env_name, task_count):
    env, prompt = make(env_name), make_prompt(env_name)
    for task_id in list(env.task_ids("train"))[:task_count]:
        tree = expert_demo(env, env_name, task_id, prompt)
        assert tree is not None and tree.success, task_id


def test_a_demo_that_does_not_replay_is_refused(webshop_demos):
    tree = dataclasses.replace(webshop_demos[0])
    tree.observation = list(tree.observation)
    tree.observation[2] = tree.observation[2] + " tampered"
    with pytest.raises(DemoReplayError, match=rf"task {tree.task_id}, step 1"):
        replay_demo(make("webshop"), tree)


def test_loss_mask_covers_exactly_the_responses_and_their_end_token(tiny, webshop_demos):
    _, tokenizer = tiny
    tree = webshop_demos[0]
    (sequence,) = render_path(tree, tree.best_path[-1], _agent(tokenizer), tokenizer)
    spans, current = [], []
    for token, label in zip(sequence.input_ids, sequence.labels, strict=True):
        if label == IGNORE_INDEX:
            if current:
                spans.append(current)
            current = []
        else:
            assert label == token
            current.append(token)
    spans.append(current)
    expected = [
        tokenizer(r, add_special_tokens=False).input_ids + [tokenizer.eos_token_id] for r in tree.response[1:]
    ]
    assert spans == expected
    assert sequence.steps == len(tree.response) - 1


def _summed_loss(model, sequences) -> float:
    total = 0.0
    with torch.no_grad():
        for s in sequences:
            logits = model(input_ids=torch.tensor([s.input_ids])).logits[0, :-1]
            labels = torch.tensor(s.labels[1:])
            total += float(torch.nn.functional.cross_entropy(logits, labels, reduction="sum"))
    return total


def test_packed_and_per_step_losses_agree(tiny, webshop_demos):
    model, tokenizer = tiny
    agent = _agent(tokenizer)
    for tree in webshop_demos[:2]:
        packed = render_path(tree, tree.best_path[-1], agent, tokenizer)
        per_step = render_path(tree, tree.best_path[-1], agent, tokenizer, pack=False)
        assert len(packed) == 1 and len(per_step) == len(tree.response) - 1
        assert sum(s.loss_tokens for s in packed) == sum(s.loss_tokens for s in per_step)
        assert sum(len(s.input_ids) for s in packed) < sum(len(s.input_ids) for s in per_step) / 2
        assert _summed_loss(model, packed) == pytest.approx(_summed_loss(model, per_step), rel=1e-4)


def test_a_truncated_history_starts_a_new_sequence(tiny, webshop_demos):
    _, tokenizer = tiny
    tree = webshop_demos[0]
    # A context so small that older turns are dropped: prompts no longer extend each other.
    agent = LLMAgent(
        make_prompt("webshop"),
        backend=None,
        tokenizer=tokenizer,
        react=False,
        icl=False,
        context_tokens=900,
        max_tokens=128,
    )
    sequences = render_path(tree, tree.best_path[-1], agent, tokenizer)
    assert len(sequences) > 1
    assert sum(s.steps for s in sequences) == len(tree.response) - 1


def test_write_demos_resumes_after_a_cut_line_and_never_duplicates(tmp_path):
    out = tmp_path / "demos.jsonl"
    first = write_demos(DemosConfig(env="webshop", tasks=3, out=str(out)))
    assert first.written == 3
    with out.open("ab") as handle:  # what a kill in the middle of a write leaves
        handle.write(b'{"schema_version": 1, "task_id": "15')
    second = write_demos(DemosConfig(env="webshop", tasks=5, out=str(out)))
    assert (second.written, second.skipped) == (2, 3)
    assert [tree.task_id for tree in read_trees(out)] == ["1500", "1501", "1502", "1503", "1504"]


def test_demos_from_trees_keep_only_paths_that_reach_the_reward(tmp_path, webshop_demos):
    from agentsearch.search.tree import append_tree

    trees = tmp_path / "trees.jsonl"
    with trees.open("w") as handle:
        for tree in webshop_demos:
            append_tree(handle, tree)
    out = tmp_path / "rft.jsonl"
    result = write_demos(DemosConfig(from_trees=[str(trees)], min_reward=1.0, out=str(out)))
    assert result.written == len(webshop_demos)
    again = write_demos(DemosConfig(from_trees=[str(trees)], min_reward=1.0, out=str(out)))
    assert (again.written, again.skipped) == (0, len(webshop_demos))
    none = write_demos(DemosConfig(from_trees=[str(trees)], min_reward=1.5, out=str(tmp_path / "x.jsonl")))
    assert none.written == 0


def test_train_sft_refuses_malformed_files_and_a_foreign_tokenizer(tmp_path, webshop_demos):
    from agentsearch.search.tree import append_tree
    from agentsearch.train.sft import SFT_META_FILE, train_sft

    bad = tmp_path / "bad.jsonl"
    with bad.open("w") as handle:
        append_tree(handle, webshop_demos[0])
        handle.write("{not json\n")
        append_tree(handle, webshop_demos[1])
    with pytest.raises(DataFileError, match=r"bad.jsonl:2: "):
        train_sft([bad], "tiny-random", tmp_path / "out")

    good = tmp_path / "good.jsonl"
    with good.open("w") as handle:
        for tree in webshop_demos:
            append_tree(handle, tree)
    out = tmp_path / "sft"
    out.mkdir()
    (out / SFT_META_FILE).write_text(
        json.dumps(
            {
                "base_model": "x",
                "base_fingerprint": {},
                "tokenizer": "0123456789abcdef",
                "env": "webshop",
                "adapter": "lora",
                "agent_options": {},
            }
        )
    )
    with pytest.raises(ConfigError, match="another tokenizer"):
        train_sft([good], "tiny-random", out)


def _cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agentsearch.cli", *argv],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
        timeout=600,
    )


def test_cli_demos_then_train_sft_gives_a_model_every_flag_accepts(tmp_path):
    from agentsearch.agents import make_agent
    from agentsearch.llm import load_llm
    from agentsearch.llm.models import agent_defaults, resolve_model

    demos = tmp_path / "demos.jsonl"
    proc = _cli("demos", "--env", "webshop", "--tasks", "6", "--out", str(demos))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "wrote 6 demos" in proc.stdout
    out = tmp_path / "sft"
    proc = _cli(
        "train-sft",
        str(demos),
        "--model",
        "tiny-random",
        "--out",
        str(out),
        "--max-steps",
        "2",
        "--eval-fraction",
        "0.2",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "held-out: action accuracy" in proc.stdout
    assert_clean_terminal(proc, "train-sft", out / "train-sft.log")
    meta = json.loads((out / "agentsearch_sft.json").read_text())
    assert meta["agent_options"]["icl"] is False and meta["data"]["heldout_paths"] == 1
    merged = resolve_model(out)
    assert (Path(merged) / "config.json").is_file() and resolve_model(out) == merged  # built once
    assert agent_defaults(out, "webshop") == {"react": False, "icl": False}
    assert agent_defaults(out, "math") == {}

    agent = make_agent("webshop", load_llm("hf", str(out)))
    assert (agent.react, agent.icl) == (False, False)
    assert make_agent("webshop", load_llm("hf", "tiny-random")).icl is True  # the prompted default


def test_a_rerun_from_the_last_steps_checkpoint_trains_no_further_step(tmp_path, webshop_demos):
    import shutil

    from safetensors.torch import load_file

    from agentsearch.search.tree import append_tree
    from agentsearch.train.sft import SFT_META_FILE, train_sft

    demos = tmp_path / "demos.jsonl"
    with demos.open("w") as handle:
        for tree in webshop_demos:
            append_tree(handle, tree)
    # One trajectory a step: the limit of 3 falls inside the epoch, where the HF Trainer resumed from
    # checkpoint-3 would train a 4th step.
    options = dict(
        max_steps=3, save_steps=3, logging_steps=1, gradient_accumulation_steps=1, eval_fraction=0.0
    )
    assert len(webshop_demos) > 3
    train_sft([demos], "tiny-random", tmp_path / "reference", **options)
    out = tmp_path / "killed"
    train_sft([demos], "tiny-random", out, **options)
    for path in out.iterdir():  # what a kill between the final checkpoint and the output files leaves
        if path.name not in {"checkpoint-3", SFT_META_FILE}:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    train_sft([demos], "tiny-random", out, **options)
    assert not (out / "checkpoint-4").exists()
    expected = load_file(tmp_path / "reference" / "adapter_model.safetensors")
    got = load_file(out / "adapter_model.safetensors")
    assert expected.keys() == got.keys() and all(torch.equal(expected[k], got[k]) for k in expected)
