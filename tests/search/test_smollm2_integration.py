"""End to end: MCTS with the real SmolLM2 on WebShop; its pairs tokenize in TRL's DPOTrainer as they are."""

import pytest

from agentsearch.data import load_pairs, preference_pairs, write_jsonl
from agentsearch.search.collect import CollectConfig, collect
from agentsearch.search.tree import read_trees

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # 740 s on a loaded 2-core machine


def test_mcts_with_smollm2_gives_trees_and_pairs_dpo_accepts(tmp_path):
    config = CollectConfig(
        env="webshop", tasks=2, model="smollm2-135m", backend="hf", concurrency=2,
        out=str(tmp_path / "trees.jsonl"),
        agent={"react": False, "icl": False, "action_mode": "score_valid", "max_tokens": 16},
        search={"iterations": 2, "n_samples": 3, "max_depth": 3, "early_stop": False},
    )
    trees = list(read_trees(collect(config)))
    assert len(trees) == 2
    for tree in trees:
        assert tree.error is None, tree.error
        assert tree.model == "smollm2-135m" and tree.tokens > 0 and tree.num_nodes > 3
        assert all(tree.response[n] for n in range(1, tree.num_nodes))  # real generated turns
    pairs = [pair for tree in trees for pair in preference_pairs(tree, "all_siblings")]
    assert pairs
    responses = {r for tree in trees for r in tree.response}
    assert all(
        p["chosen"][0]["content"] in responses and p["rejected"][0]["content"] in responses for p in pairs
    )

    from trl import DPOConfig, DPOTrainer

    from agentsearch.llm.models import load_tokenizer, model_path

    path = tmp_path / "pairs.jsonl"
    write_jsonl(pairs, path)
    trainer = DPOTrainer(
        model=model_path("tiny-random"),  # the real tokenizer; weights do not matter for tokenization
        args=DPOConfig(output_dir=str(tmp_path / "dpo"), use_cpu=True, report_to=[], max_length=4096),
        train_dataset=load_pairs(path),
        processing_class=load_tokenizer("tiny-random"),
    )
    tokenized = trainer.train_dataset
    assert len(tokenized) == len(pairs)  # nothing dropped as truncated
    assert {"prompt_ids", "chosen_ids", "rejected_ids"} <= set(tokenized.column_names)
    assert all(len(row["chosen_ids"]) > 0 and len(row["prompt_ids"]) > 0 for row in tokenized)
