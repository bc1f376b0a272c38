"""Q-scoring cost per step: batched shared-prefix QValueModel vs the unbatched two-model approach.

The paper's code (``qvalue-method.md`` 1.5, 1.8 item 7) scores each candidate separately, with a full
forward of history + candidate through the Q-model and another through a second, reference model.
``QValueModel.q`` runs the history once per model through a KV cache and all candidates as one batch,
with the reference being the same weights with the LoRA adapter disabled (one model in memory).

Both compute beta * sum of token log-ratios here, so the benchmark also checks they agree.

Run: ``python benchmarks/bench_qmodel.py [--states 6 --candidates 5]``. Target: >= 5x faster.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import platform
import time
from dataclasses import dataclass

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402


@dataclass
class Args:
    model: str = "smollm2-135m"
    states: int = 6
    candidates: int = 5
    depth: int = 1
    icl: bool = False
    seed: int = 0
    beta: float = 0.1
    lora_top_layers: int = 0  # 0: LoRA on every layer; the quickstart's Q-model adapts the top 8


def webshop_states(n: int, depth: int, *, icl: bool, seed: int = 0):
    """``n`` real WebShop states (chats after ``depth`` random valid steps) and candidate responses."""
    from agentsearch.agents import History, Turn, make_prompt
    from agentsearch.agents.base import sampling_for
    from agentsearch.envs import make
    from agentsearch.search.scripted import RandomValidAgent

    env = make("webshop", split="train")
    prompt = make_prompt("webshop")
    agent = RandomValidAgent("webshop")
    states = []
    for task_id in env.task_ids("train")[:n]:
        obs, info = env.reset(options={"task_id": task_id})
        history = History(info["instruction"], obs)
        for step in range(depth + 1):
            proposals = asyncio.run(
                agent.propose(
                    history, sampling_for(agent, 8, seed=seed + step), valid_actions=info["valid_actions"]
                )
            )
            responses = [f"Thought: I should try {c.action}.\nAction: {c.action}" for c in proposals]
            if step == depth:
                break
            obs, _, terminated, truncated, info = env.step(proposals[0].action)
            history = history.extend(Turn(responses[0], proposals[0].action, obs))
            if terminated or truncated:
                break
        states.append((prompt.head(history, icl=icl) + prompt.turns(history), responses))
    return states


def unbatched_two_model_q(policy, reference, tokenizer, messages, responses, beta):
    """The reference implementation's shape: per candidate, a full forward through each of two models."""
    values = []
    prompt_len = len(
        tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)["input_ids"]
    )
    for response in responses:
        ids = tokenizer.apply_chat_template(
            messages + [{"role": "assistant", "content": response}], return_dict=True
        )["input_ids"]
        inputs = torch.tensor([ids])
        targets = inputs[0, prompt_len:]
        total = 0.0
        for sign, model in ((1.0, policy), (-1.0, reference)):
            logits = model(input_ids=inputs).logits[0, prompt_len - 1 : -1]
            total += sign * float(torch.log_softmax(logits.float(), -1).gather(-1, targets[:, None]).sum())
        values.append(beta * total)
    return values


def main(args: Args) -> dict:
    from peft import get_peft_model

    from agentsearch.llm.models import load_model, load_tokenizer
    from agentsearch.train.qmodel import QValueModel

    torch.manual_seed(args.seed)
    tokenizer = load_tokenizer(args.model)
    base = load_model(args.model)
    reference = copy.deepcopy(base)  # the two-model approach keeps a frozen copy
    from agentsearch.train.fit import lora_config

    lora = lora_config(base, r=16, alpha=32, top_layers=args.lora_top_layers or None)
    lora.init_lora_weights = False  # a trained-looking adapter: pi_theta != pi_ref
    policy = get_peft_model(base, lora).eval()
    merged = copy.deepcopy(policy).merge_and_unload().eval()  # what a full fine-tuned Q-model would be
    qmodel = QValueModel(policy, tokenizer, beta=args.beta)
    states = webshop_states(args.states, args.depth, icl=args.icl, seed=args.seed)
    states = [(m, r[: args.candidates]) for m, r in states]
    prompt_tokens = [
        len(tokenizer.apply_chat_template(m, add_generation_prompt=True, return_dict=True)["input_ids"])
        for m, _ in states
    ]

    with torch.inference_mode():
        qmodel.q(*states[0])  # warm-up
        start = time.perf_counter()
        ours = [qmodel.q(m, r) for m, r in states]
        batched_s = (time.perf_counter() - start) / len(states)
        start = time.perf_counter()
        theirs = [unbatched_two_model_q(merged, reference, tokenizer, m, r, args.beta) for m, r in states]
        unbatched_s = (time.perf_counter() - start) / len(states)
    diff = max(abs(a - b) for qs, ts in zip(ours, theirs, strict=True) for a, b in zip(qs, ts, strict=True))
    result = {
        "model": args.model,
        "states": len(states),
        "candidates_per_state": sum(len(r) for _, r in states) / len(states),
        "mean_prompt_tokens": sum(prompt_tokens) / len(prompt_tokens),
        "batched_shared_prefix_s_per_step": round(batched_s, 3),
        "unbatched_two_model_s_per_step": round(unbatched_s, 3),
        "speedup": round(unbatched_s / batched_s, 2),
        "target_speedup": 5.0,
        "max_abs_q_difference": diff,
        "models_in_memory": {"batched": 1, "unbatched": 2},
        "lora_top_layers": args.lora_top_layers or "all",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
    }
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in vars(Args()).items():
        kind = (lambda s: s.lower() in ("1", "true", "yes")) if isinstance(default, bool) else type(default)
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default)
    print(json.dumps(main(Args(**vars(parser.parse_args()))), indent=2))
