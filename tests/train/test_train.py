"""train_q: step-level DPO on TRL with the shared-prompt forward, its outputs, and early refusals."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from train_helpers import step_messages, write_pairs

from agentsearch.errors import ConfigError, DataFileError
from agentsearch.train import QValueModel, TrainMeta, train_q
from agentsearch.train.logprobs import tokenize_step
from agentsearch.train.trainer import StepDPOConfig, shared_prefix_fused_forward


def collate(tokenizer, n):
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    examples = []
    for i in range(n):
        tokens = tokenize_step(
            tokenizer, step_messages(i), [f"Action: search[item {i}]", "Thought: no.\nAction: x"]
        )
        examples.append(
            {
                "prompt_ids": tokens.prompt_ids,
                "chosen_ids": tokens.completion_ids[0],
                "rejected_ids": tokens.completion_ids[1],
            }
        )
    return DataCollatorForPreference(pad_token_id=tokenizer.pad_token_id)(examples)


def test_shared_prefix_forward_matches_trl_fused_forward(tiny):
    from trl.trainer.utils import add_fused_lm_head

    base, tokenizer = tiny
    model = copy.deepcopy(base)
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "mean_logits", "is_top1"))
    batch = collate(tokenizer, 3)
    labels = batch["input_ids"].masked_fill(batch["completion_mask"] == 0, -100)
    with torch.no_grad():
        trl_out = model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            labels=labels,
            fused_lm_head=True,
        )
        ours = shared_prefix_fused_forward(model, batch["input_ids"], labels)
    torch.testing.assert_close(ours.log_probs, trl_out.log_probs, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(ours.log_probs.sum(1), trl_out.log_probs.sum(1), atol=1e-3, rtol=1e-5)
    torch.testing.assert_close(ours.entropy, trl_out.entropy, atol=1e-3, rtol=1e-4)
    assert torch.equal(ours.is_top1, trl_out.is_top1)


def test_shared_prefix_forward_declines_other_layouts(tiny):
    base, tokenizer = tiny
    batch = collate(tokenizer, 2)
    labels = batch["input_ids"].masked_fill(batch["completion_mask"] == 0, -100)
    assert shared_prefix_fused_forward(base, batch["input_ids"][:3], labels[:3]) is None  # odd rows
    no_completion = labels.clone()
    no_completion[1] = -100
    assert shared_prefix_fused_forward(base, batch["input_ids"], no_completion) is None
    mismatched = batch["input_ids"].clone()
    mismatched[2, 0] = mismatched[2, 0] + 1  # rejected row of pair 0 no longer shares the prompt
    assert shared_prefix_fused_forward(base, mismatched, labels) is None


def test_train_q_learns_the_pairs_and_writes_a_loadable_qmodel(tmp_path, pairs_file):
    out = tmp_path / "qmodel"
    result = train_q(
        pairs_file, "tiny-random", out, learning_rate=1e-2, num_train_epochs=3, eval_fraction=0.2
    )
    assert (out / "adapter_config.json").is_file() and (out / "agentsearch_meta.json").is_file()
    meta = TrainMeta.load(out)
    assert meta.base_model == "tiny-random" and meta.beta == 0.1 and meta.adapter == "lora"
    assert meta.data["pairs"] == 12 and meta.data["heldout_pairs"] > 0 and len(meta.data["sha256"]) == 64
    assert "eval_rewards/accuracies" in result.metrics and "eval_rewards/margins" in result.metrics
    assert result.metrics["final_loss"] < 0.69  # below log 2: the adapter moved
    qmodel = QValueModel.load(out)
    record = json.loads(pairs_file.read_text().splitlines()[0])
    chosen, rejected = qmodel.q(
        record["prompt"], [record["chosen"][0]["content"], record["rejected"][0]["content"]]
    )
    assert chosen > rejected


def test_lora_top_layers_adapts_only_upper_layers(tmp_path, pairs_file):
    out = tmp_path / "top"
    train_q(pairs_file, "tiny-random", out, lora_top_layers=1, max_steps=1, eval_fraction=0.0)
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["layers_to_transform"] == [1]


def test_policy_target_and_loss_type_pass_through(tmp_path, pairs_file):
    out = tmp_path / "policy"
    result = train_q(
        pairs_file, "tiny-random", out, target="policy", loss_type=["ipo"], max_steps=1, eval_fraction=0.0
    )
    meta = TrainMeta.load(out)
    assert meta.target == "policy" and meta.loss_type == ["ipo"]
    from agentsearch.train.fit import policy_model_path

    merged = policy_model_path(out)  # a plain HF folder the generation backends load
    assert (merged / "config.json").is_file() and (merged / "model.safetensors").is_file()
    assert not (merged / "adapter_config.json").exists()
    assert result.train_pairs == 12


def test_full_finetune_writes_full_weights(tmp_path, pairs_file):
    out = tmp_path / "full"
    train_q(pairs_file, "tiny-random", out, lora=False, max_steps=1, eval_fraction=0.0, learning_rate=1e-3)
    assert (out / "model.safetensors").is_file() and TrainMeta.load(out).adapter == "full"
    qmodel = QValueModel.load(out)
    assert qmodel.reference is not None
    assert len(qmodel.q(step_messages(0), ["Action: a", "Action: b"])) == 2


def test_empty_file_is_refused(tmp_path, tiny):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    with pytest.raises(DataFileError, match="no pairs"):
        train_q(path, "tiny-random", tmp_path / "out")


def test_one_sided_record_is_refused_with_its_line(tmp_path):
    path = write_pairs(tmp_path / "pairs.jsonl", 3)
    lines = path.read_text().splitlines()
    broken = json.loads(lines[1])
    del broken["rejected"]
    path.write_text("\n".join([lines[0], json.dumps(broken), lines[2]]) + "\n")
    with pytest.raises(DataFileError, match=r"pairs.jsonl:2: one-sided"):
        train_q(path, "tiny-random", tmp_path / "out")


def test_identical_sides_and_bad_json_are_refused(tmp_path):
    path = write_pairs(tmp_path / "pairs.jsonl", 2)
    record = json.loads(path.read_text().splitlines()[0])
    record["rejected"] = record["chosen"]
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(DataFileError, match=":1: chosen and rejected are identical"):
        train_q(path, "tiny-random", tmp_path / "out")
    path.write_text(json.dumps(record)[:-5] + "\n")
    with pytest.raises(DataFileError, match=":1: not valid JSON"):
        train_q(path, "tiny-random", tmp_path / "out")


def test_records_longer_than_max_length_fail_before_training(tmp_path, pairs_file):
    with pytest.raises(DataFileError, match=r"pairs.jsonl:1: \d+ tokens exceed max_length=20"):
        train_q(pairs_file, "tiny-random", tmp_path / "out", max_length=20)


def test_unknown_option_and_bad_values_are_config_errors(tmp_path, pairs_file):
    with pytest.raises(ConfigError, match="lora_rank"):
        train_q(pairs_file, "tiny-random", tmp_path / "out", lora_rank=4)
    with pytest.raises(ValueError, match="target"):
        StepDPOConfig(output_dir=str(tmp_path), target="critic")


def test_qmodel_refuses_a_base_it_was_not_trained_on(tmp_path, pairs_file):
    out = tmp_path / "qmodel"
    train_q(pairs_file, "tiny-random", out, max_steps=1, eval_fraction=0.0)
    with pytest.raises(ConfigError, match="was trained on base `tiny-random`"):
        QValueModel.load(out, base="smollm2-135m")
    with pytest.raises(ConfigError, match="not an agentsearch Q-model"):
        QValueModel.load(tmp_path)


def test_reference_in_the_policy_pass_matches_separate_passes(tiny):
    from peft import get_peft_model
    from trl.trainer.utils import add_fused_lm_head

    from agentsearch.train.fit import lora_config
    from agentsearch.train.trainer import policy_and_reference_fused_forward

    base, tokenizer = tiny
    model = get_peft_model(copy.deepcopy(base), lora_config(base, r=4, alpha=8, top_layers=1))
    for name, weight in model.named_parameters():  # a trained adapter, so policy and reference differ
        if "lora_B" in name:
            torch.nn.init.normal_(weight, std=0.5)
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "mean_logits", "is_top1"))
    batch = collate(tokenizer, 3)
    labels = batch["input_ids"].masked_fill(batch["completion_mask"] == 0, -100)
    policy, reference = policy_and_reference_fused_forward(model, batch["input_ids"], labels)
    with torch.no_grad():
        alone = shared_prefix_fused_forward(model, batch["input_ids"], labels)
        with model.disable_adapter():
            alone_reference = shared_prefix_fused_forward(model, batch["input_ids"], labels)
    assert not torch.allclose(alone.log_probs, alone_reference.log_probs, atol=1e-3)
    torch.testing.assert_close(policy.log_probs, alone.log_probs, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(reference.log_probs, alone_reference.log_probs, atol=1e-4, rtol=1e-4)
    assert torch.equal(policy.is_top1, alone.is_top1)
    policy.log_probs.sum().backward()  # gradients reach the adapter through the policy stream only
    adapter = [w for name, w in model.named_parameters() if "lora" in name]
    assert any(w.grad is not None and w.grad.abs().sum() > 0 for w in adapter)
    assert not reference.log_probs.requires_grad


def test_train_q_without_a_precompute_ends_on_the_precomputed_loss(tmp_path, pairs_file, monkeypatch):
    from agentsearch.train import trainer

    calls = []
    both = trainer.policy_and_reference_fused_forward
    monkeypatch.setattr(trainer, "policy_and_reference_fused_forward", lambda *a: calls.append(1) or both(*a))
    options = dict(lora_top_layers=1, learning_rate=1e-2, max_steps=4, eval_fraction=0.2, seed=0)
    precomputed = train_q(pairs_file, "tiny-random", tmp_path / "a", precompute_ref_log_probs=True, **options)
    assert not calls
    in_pass = train_q(pairs_file, "tiny-random", tmp_path / "b", precompute_ref_log_probs=False, **options)
    assert len(calls) >= 4  # every training step (and the held-out evaluation) took the one-pass route
    assert precomputed.metrics["final_loss"] != pytest.approx(0.6931, abs=1e-4)  # training moved it
    assert in_pass.metrics["final_loss"] == pytest.approx(precomputed.metrics["final_loss"], abs=1e-5)
    assert in_pass.metrics["eval_loss"] == pytest.approx(precomputed.metrics["eval_loss"], abs=1e-5)


def _keep_only(out, names):
    """What a kill between the final checkpoint's save and the output files leaves behind."""
    import shutil

    for path in out.iterdir():
        if path.name not in names:
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def test_a_rerun_from_the_last_steps_checkpoint_trains_no_further_step(tmp_path, pairs_file):
    from safetensors.torch import load_file

    # 12 pairs at batch 2 are 6 steps an epoch: the limit of 5 falls inside it, where the HF Trainer
    # resumed from checkpoint-5 would train a 6th step.
    options = dict(max_steps=5, save_steps=5, per_device_train_batch_size=2, gradient_accumulation_steps=1,
                   eval_fraction=0.0, learning_rate=1e-2)
    reference = train_q(pairs_file, "tiny-random", tmp_path / "reference", **options)
    out = tmp_path / "killed"
    train_q(pairs_file, "tiny-random", out, **options)
    _keep_only(out, {"checkpoint-5", "agentsearch_run.json"})
    resumed = train_q(pairs_file, "tiny-random", out, **options)
    assert resumed.metrics["final_loss"] == reference.metrics["final_loss"]
    assert not (out / "checkpoint-6").exists()
    expected = load_file(tmp_path / "reference" / "adapter_model.safetensors")
    got = load_file(out / "adapter_model.safetensors")
    assert expected.keys() == got.keys() and all(torch.equal(expected[k], got[k]) for k in expected)
