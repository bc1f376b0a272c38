"""train-q throughput: StepDPOTrainer vs TRL's DPOTrainer with default settings, same pairs/model/LoRA.

Both runs train the same LoRA (r 16, all linear layers of every decoder layer) on the same pairs of real
WebShop states with the same seed, and log the loss of each step; the loss values must match, since
only the way log-probabilities are computed differs:

* ``trl_default``: ``DPOConfig`` defaults (gradient checkpointing on, reference computed every step with
  the adapter disabled, full ``prompt + completion`` rows for chosen and rejected).
* ``agentsearch``: ``StepDPOConfig`` defaults (shared-prompt forward: the prompt once per pair, LM head on
  completion tokens only; reference log-probs precomputed once; no gradient checkpointing).
* ``trl_default_top8`` and ``agentsearch_top8``: the same two with LoRA on the top 8 layers only (what
  ``train-q --lora-top-layers 8`` and the headline train), compared with each other.

Run: ``python benchmarks/bench_train.py [--pairs 8 --steps 2]``. Target: >= 5x pairs/s, same losses.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

import torch  # noqa: E402
from bench_qmodel import webshop_states  # noqa: E402


@dataclass
class Args:
    model: str = "smollm2-135m"
    pairs: int = 8
    batch_size: int = 4
    steps: int = 2
    depth: int = 1
    seed: int = 0
    top8: bool = True


def build_pairs(n: int, depth: int, seed: int) -> list[dict]:
    pairs = []
    for messages, responses in webshop_states(n, depth, icl=False, seed=seed):
        pairs.append(
            {
                "prompt": messages,
                "chosen": [{"role": "assistant", "content": responses[0]}],
                "rejected": [{"role": "assistant", "content": responses[-1]}],
            }
        )
    return pairs


def run(kind: str, args: Args, pairs: list[dict], out: str) -> dict:
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    from agentsearch.llm.models import load_model, load_tokenizer
    from agentsearch.train.fit import lora_config
    from agentsearch.train.trainer import StepDPOConfig, StepDPOTrainer

    torch.manual_seed(args.seed)
    tokenizer = load_tokenizer(args.model)
    model = load_model(args.model).train()
    common = dict(
        output_dir=out,
        per_device_train_batch_size=args.batch_size,
        max_steps=args.steps,
        learning_rate=1e-4,
        beta=0.1,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=args.seed,
        max_length=4096,
        bf16=False,
        disable_tqdm=True,
    )
    if kind.startswith("trl_default"):
        trainer_cls, config = DPOTrainer, DPOConfig(**common)
    else:
        trainer_cls, config = StepDPOTrainer, StepDPOConfig(**common)
    lora = lora_config(model, r=16, alpha=32, top_layers=8 if kind.endswith("_top8") else None)
    start = time.perf_counter()  # construction included: TRL precomputes reference log-probs there
    trainer = trainer_cls(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(pairs),
        processing_class=tokenizer,
        peft_config=lora,
    )
    trainer.train()
    seconds = time.perf_counter() - start
    losses = [round(e["loss"], 5) for e in trainer.state.log_history if "loss" in e]
    trained = args.steps * args.batch_size
    return {
        "seconds": round(seconds, 1),
        "pairs_per_s": round(trained / seconds, 4),
        "losses": losses,
        "gradient_checkpointing": bool(config.gradient_checkpointing),
        "precompute_ref_log_probs": bool(config.precompute_ref_log_probs),
    }


def main(args: Args) -> dict:
    from agentsearch.llm.models import load_tokenizer

    pairs = build_pairs(args.pairs, args.depth, args.seed)
    tokenizer = load_tokenizer(args.model)
    lengths = [
        len(
            tokenizer.apply_chat_template(p["prompt"], add_generation_prompt=True, return_dict=True)[
                "input_ids"
            ]
        )
        for p in pairs
    ]
    results = {"pairs": len(pairs), "mean_prompt_tokens": sum(lengths) / len(lengths), "runs": {}}
    kinds = ["trl_default", "agentsearch"] + (["trl_default_top8", "agentsearch_top8"] if args.top8 else [])
    for kind in kinds:
        with tempfile.TemporaryDirectory() as out:
            results["runs"][kind] = run(kind, args, pairs, out)
    base = results["runs"]["trl_default"]
    ours = results["runs"]["agentsearch"]
    results["speedup"] = round(ours["pairs_per_s"] / base["pairs_per_s"], 2)
    results["max_loss_difference"] = max(
        abs(a - b) for a, b in zip(base["losses"], ours["losses"], strict=True)
    )
    if args.top8:
        base8, ours8 = results["runs"]["trl_default_top8"], results["runs"]["agentsearch_top8"]
        results["speedup_top8"] = round(ours8["pairs_per_s"] / base8["pairs_per_s"], 2)
        results["max_loss_difference_top8"] = max(
            abs(a - b) for a, b in zip(base8["losses"], ours8["losses"], strict=True)
        )
    results["target_speedup"] = 5.0
    results["torch"] = torch.__version__
    results["threads"] = torch.get_num_threads()
    results["machine"] = platform.processor() or platform.machine()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in vars(Args()).items():
        kind = (lambda s: s.lower() in ("1", "true", "yes")) if isinstance(default, bool) else type(default)
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default)
    print(json.dumps(main(Args(**vars(parser.parse_args()))), indent=2))
