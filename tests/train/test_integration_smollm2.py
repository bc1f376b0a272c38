"""End to end with the real SmolLM2: Q-model trained on real search pairs, then a Q-guided episode.

The trees come from a real MCTS on WebShop driven by the zero-latency random policy (so the test spends
its CPU on the model, not on sampling); their pairs are rendered in the LLM agent's lean chat format,
the Q-model is SmolLM2 + LoRA trained for a few steps, and the Q-guided agent wraps the SmolLM2 agent.
"""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.slow


def test_train_q_on_search_pairs_then_a_qguided_episode_with_smollm2(tmp_path):
    from agentsearch.agents import make_agent, run_episode
    from agentsearch.agents.base import History, sampling_for
    from agentsearch.agents.qguided import QGuidedAgent, qmodel_scorer
    from agentsearch.data import preference_pairs, write_jsonl
    from agentsearch.envs import make
    from agentsearch.llm import load_llm
    from agentsearch.search.collect import CollectConfig, collect
    from agentsearch.search.tree import read_trees
    from agentsearch.train import QValueModel, TrainMeta, train_q

    trees_path = collect(
        CollectConfig(
            env="webshop",
            tasks=3,
            model="random",
            concurrency=3,
            out=str(tmp_path / "trees.jsonl"),
            search={"iterations": 6, "n_samples": 3, "max_depth": 3, "early_stop": False},
        )
    )
    llm = load_llm("hf", "smollm2-135m")
    agent = make_agent(
        "webshop", llm, icl=False, react=False, context_tokens=640, max_tokens=24, action_mode="score_valid"
    )
    pairs = []
    for tree in read_trees(trees_path):
        pairs += [
            p for p in preference_pairs(tree, "all_siblings", messages_fn=agent.messages) if p["depth"] <= 1
        ]
    assert len(pairs) >= 4, "the random MCTS gave too few pairs to train on"
    write_jsonl(pairs[:4], tmp_path / "pairs.jsonl")

    out = tmp_path / "qmodel"
    result = train_q(
        tmp_path / "pairs.jsonl",
        "smollm2-135m",
        out,
        max_steps=1,
        per_device_train_batch_size=2,
        lora_top_layers=2,
        eval_fraction=0.0,
        max_length=1024,
        learning_rate=1e-3,
    )
    assert TrainMeta.load(out).base_model == "smollm2-135m" and result.train_pairs > 0
    qmodel = QValueModel.load(out)
    first = pairs[0]
    q_chosen, q_rejected = qmodel.q(
        first["prompt"], [first["chosen"][0]["content"], first["rejected"][0]["content"]]
    )
    assert q_chosen != 0.0 and q_rejected != 0.0  # the adapter moved both away from the reference

    guided = QGuidedAgent(agent, qmodel_scorer(qmodel, agent.messages), candidates=3)
    env = make("webshop", split="test")
    observation, info = env.reset(options={"task_id": env.task_ids("test")[0]})
    history = History(info["instruction"], observation)
    ranked = asyncio.run(
        guided.propose(history, sampling_for(guided, 3, seed=0), valid_actions=info["valid_actions"])
    )
    if len(ranked) > 1:
        scores = [c.extras["score"] for c in ranked]
        assert scores == sorted(scores, reverse=True)
    episode = asyncio.run(run_episode(env, guided, task_id=env.task_ids("test")[0], max_steps=1, seed=0))
    assert episode.steps == 1 and all(isinstance(a, str) and a for a in episode.actions)
