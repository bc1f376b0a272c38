"""train-sft throughput: packed trajectories on StepSFTTrainer vs TRL's SFTTrainer on per-step examples.

Both train the same LoRA (r 16, every linear layer) of SmolLM2-135M on the same WebShop expert
demonstrations, rendered the same way (the agent's act-only chats, loss on the response tokens and their
end-of-turn token only), with the same seed, for one epoch over the same trajectories:

* ``trl_default``: TRL's ``SFTTrainer`` with ``SFTConfig`` defaults (batch 8, gradient checkpointing,
  LM head over every position) on one example per step, each repeating its history. CPU needs two
  changes to the defaults: ``use_cpu=True`` and ``bf16=False`` (bfloat16 ran 8x slower here).
* ``agentsearch``: ``StepSFTTrainer`` with ``StepSFTConfig`` defaults (batch 1, no checkpointing, LM
  head at labelled positions only) on one packed sequence per trajectory.

Before training, the summed loss over all labelled tokens is computed in both layouts: it must agree
(packing changes the layout, not the loss). Then each trainer runs its epoch, timed.

Run: ``python benchmarks/bench_sft.py [--trajectories 16]``. Target: >= 3x trajectories/s, same loss.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402


def sequences(n: int, pack: bool):
    from agentsearch.agents import LLMAgent, make_prompt
    from agentsearch.data.demos import expert_demo
    from agentsearch.envs import make
    from agentsearch.llm.models import load_tokenizer
    from agentsearch.train.sft_data import render_paths

    env, prompt = make("webshop"), make_prompt("webshop")
    tokenizer = load_tokenizer("smollm2-135m")
    agent = LLMAgent(prompt, backend=None, tokenizer=tokenizer, react=False, icl=False)
    trees = [expert_demo(env, "webshop", task_id, prompt) for task_id in env.task_ids("train")[:n]]
    paths = [(tree, tree.best_path[-1]) for tree in trees if tree is not None and tree.success]
    return render_paths(paths, agent, tokenizer, pack=pack), tokenizer


def summed_loss(model, seqs) -> float:
    total = 0.0
    model.eval()
    with torch.no_grad():
        for s in seqs:
            logits = model(input_ids=torch.tensor([s.input_ids])).logits[0, :-1]
            total += float(
                torch.nn.functional.cross_entropy(logits, torch.tensor(s.labels[1:]), reduction="sum")
            )
    return total


def train(kind: str, seqs, tokenizer, seed: int) -> dict:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from agentsearch.llm.models import load_model
    from agentsearch.train.fit import lora_config
    from agentsearch.train.sft import StepSFTConfig, StepSFTTrainer

    torch.manual_seed(seed)
    model = load_model("smollm2-135m")
    model.config._name_or_path = "smollm2-135m"
    data = Dataset.from_list([{"input_ids": s.input_ids, "labels": s.labels} for s in seqs])
    with tempfile.TemporaryDirectory() as out:
        common = dict(
            output_dir=out,
            num_train_epochs=1,
            learning_rate=2e-4,
            seed=seed,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            bf16=False,
            logging_steps=1,
            max_length=None,
        )
        if kind == "trl_default":
            trainer_class, args = SFTTrainer, SFTConfig(**common)
        else:
            trainer_class, args = StepSFTTrainer, StepSFTConfig(**common, curve_steps=0)
        peft = lora_config(model, r=16, alpha=32, top_layers=None)
        trainer = trainer_class(
            model=model, args=args, train_dataset=data, processing_class=tokenizer, peft_config=peft
        )
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    return {
        "seconds": seconds,
        "steps": trainer.state.global_step,
        "first_loss": losses[0],
        "last_loss": losses[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    per_step, tokenizer = sequences(args.trajectories, pack=False)
    packed, _ = sequences(args.trajectories, pack=True)

    from agentsearch.llm.models import load_model

    model = load_model("smollm2-135m")
    loss_steps, loss_packed = summed_loss(model, per_step), summed_loss(model, packed)
    tokens = sum(s.loss_tokens for s in packed)
    step_tokens, packed_tokens = (sum(len(s.input_ids) for s in seqs) for seqs in (per_step, packed))
    print(
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, load {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{len(packed)} trajectories: {len(per_step)} per-step examples ({step_tokens} tokens) vs "
        f"{len(packed)} packed sequences ({packed_tokens} tokens), "
        f"{tokens} labelled tokens in both"
    )
    print(
        f"initial loss per labelled token: per-step {loss_steps / tokens:.6f}, "
        f"packed {loss_packed / tokens:.6f} "
        f"(relative difference {abs(loss_steps - loss_packed) / loss_steps:.1e})"
    )
    results = {
        kind: train(kind, per_step if kind == "trl_default" else packed, tokenizer, args.seed)
        for kind in ("trl_default", "agentsearch")
    }
    base = results["trl_default"]["seconds"]
    for kind, r in results.items():
        print(
            f"{kind:12s} {r['steps']:4d} steps {r['seconds']:8.1f} s  "
            f"{len(packed) / r['seconds']:.3f} traj/s  "
            f"loss first {r['first_loss']:.4f} last {r['last_loss']:.4f}  speedup {base / r['seconds']:.2f}x"
        )
    print("target: >= 3x")


if __name__ == "__main__":
    main()
