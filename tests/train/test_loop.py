"""`iterate`: round r > 0 collects with round r-1's Q-guided agent, and every tree and pair says so."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from agentsearch.agents import make_prompt
from agentsearch.data import read_jsonl
from agentsearch.data.demos import expert_demo
from agentsearch.envs import make
from agentsearch.search.tree import append_tree, read_trees
from agentsearch.train.loop import LoopConfig, iterate


def _tiny_config(tmp_path: Path, **overrides) -> LoopConfig:
    """Three train tasks on tiny-random, one training step per stage."""
    return LoopConfig(
        out=str(tmp_path),
        model="tiny-random",
        train_tasks=3,
        agent={"icl": False, "react": False, "context_tokens": 1024, "max_tokens": 8,
               "action_mode": "score_valid"},
        train={"max_steps": 1, "per_device_train_batch_size": 2, "lora_top_layers": 1,
               "max_length": 1024, "eval_fraction": 0.0},
        candidates=2,
        concurrency=3,
        **overrides,
    )

def test_second_round_is_collected_q_guided_and_recorded_in_trees_and_pairs(tmp_path: Path) -> None:
    config = _tiny_config(
        tmp_path, search={"iterations": 2, "n_samples": 3, "max_depth": 3, "early_stop": True}
    )
    first, second = iterate(config, rounds=2)
    qmodel = str(tmp_path / "round0" / "qmodel")
    assert first.qmodel == Path(qmodel) and (Path(qmodel) / "agentsearch_meta.json").is_file()

    round0 = list(read_trees(first.trees))
    round1 = list(read_trees(second.trees))
    assert len(round0) == len(round1) == 3
    assert all(t.round == 0 and t.provenance["collector"] == "agent" for t in round0)
    assert all(t.provenance["collector_qmodel"] is None for t in round0)
    assert all(t.round == 1 and t.provenance["collector"] == "qguided" for t in round1)
    assert all(t.provenance["collector_qmodel"] == qmodel for t in round1)

    pairs = list(read_jsonl(second.pairs))  # round 1 trains on the trees of rounds 0 and 1
    assert len(pairs) == second.num_pairs > 0
    for pair in pairs:
        expected = ("agent", None) if pair["round"] == 0 else ("qguided", qmodel)
        assert (pair["collector"], pair["collector_qmodel"]) == expected
    manifest = json.loads((tmp_path / "round1" / "round.json").read_text())
    assert manifest["collector"] == "qguided" and manifest["collector_qmodel"] == qmodel

    # A rerun over fewer tasks (a later round cut short) resumes: every file is kept, round 0's record too.
    again = iterate(dataclasses.replace(config, train_tasks=2), rounds=2)
    assert [r.num_pairs for r in again] == [first.num_pairs, second.num_pairs]
    assert json.loads((tmp_path / "round0" / "round.json").read_text())["config"]["train_tasks"] == 3


def test_sft_stage_fine_tunes_the_policy_that_acts_and_bases_the_next_round(tmp_path: Path) -> None:
    config = _tiny_config(
        tmp_path,
        search={"iterations": 3, "n_samples": 3, "max_depth": 4, "early_stop": False},
        sft={"max_steps": 1, "eval_fraction": 0.0, "context_tokens": 1024},
    )
    # A random model never wins, so round 0's file starts with the expert's win on the first train task
    # (collection resumes: it searches the other two) and the SFT stage has one success to train on.
    env = make("webshop")
    demo = expert_demo(env, "webshop", str(env.task_ids("train")[0]), make_prompt("webshop"))
    assert demo is not None and demo.success
    (tmp_path / "round0").mkdir()
    with open(tmp_path / "round0" / "trees.jsonl", "w") as handle:
        append_tree(handle, dataclasses.replace(demo, round=0))

    first, second = iterate(config, rounds=2)
    policy = str(tmp_path / "round0" / "policy")
    assert first.policy == "tiny-random" and first.next_policy == policy
    assert (Path(policy) / "agentsearch_sft.json").is_file()
    assert second.policy == policy and second.next_policy is None  # the last round does not fine-tune
    assert all(t.provenance["collector_policy"] == policy for t in read_trees(second.trees))
    assert json.loads((tmp_path / "round1" / "qmodel" / "agentsearch_meta.json").read_text())[
        "base_model"
    ] == policy

    again = iterate(config, rounds=2)  # a rerun reuses every stage
    assert [r.next_policy for r in again] == [policy, None]
