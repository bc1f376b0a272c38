"""LLM backend throughput (issue 5), measured side by side in one run.

(a) ``hf`` backend vs plain ``model.generate(num_return_sequences=n)``: R requests x n samples, T new
    tokens, a shared prefix of P tokens plus a distinct tail per request (a search frontier). Target >= 10x.
(b) ``score()`` of 5 candidates vs 10 separate forward passes (the reference Q-scorer runs policy and
    reference model once per candidate). Target >= 5x. Beside it, the same request twice in one
    ``score_many`` batch (a Q-guided agent's greedy and sampled proposals in ``score_valid`` mode), which
    should cost one call, not two.
(c) tokens/s of each backend on workload (a): ``hf`` direct, ``openai`` through ``agentsearch serve`` on
    127.0.0.1, and ``vllm`` where it imports (run this script with ``.venv-vllm/bin/python --only vllm``).

Usage::

    python benchmarks/bench_llm.py                       # all sections, SmolLM2-135M, the issue's workload
    python benchmarks/bench_llm.py --only score --model tiny-random
    .venv-vllm/bin/python benchmarks/bench_llm.py --only vllm
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WORDS = ("red blue cotton shirt shoes size small large price dollars pack bottle organic fresh "
         "leather wooden lamp desk chair men women kids waterproof wireless charger").split()


def workload(tokenizer, requests: int, prefix_tokens: int, n: int, max_tokens: int):
    """Chats sharing a system prompt of ``prefix_tokens`` tokens, each with its own observation."""
    from agentsearch.llm.base import Request, SamplingParams

    manual = ("You are a web shopping agent. Read the instruction and the page, think step by step, then "
              "act with search[query] or click[button]. Prefer items that match every attribute. ") * 60
    ids = tokenizer(manual, add_special_tokens=False).input_ids[:prefix_tokens]
    system = tokenizer.decode(ids)
    rng = random.Random(0)
    out = []
    for i in range(requests):
        observation = "Instruction: buy " + " ".join(rng.choice(WORDS) for _ in range(30))
        messages = [{"role": "system", "content": system}, {"role": "user", "content": observation}]
        out.append(Request(messages, SamplingParams(n=n, temperature=1.0, max_tokens=max_tokens, seed=i)))
    return out


def same_workload(args, tokenizer):
    return workload(tokenizer, args.requests, args.prefix_tokens, args.n, args.max_tokens)


def rate(tokens: int, seconds: float, cpu: float | None = None) -> str:
    text = f"{tokens:5d} tokens in {seconds:7.1f} s = {tokens / seconds:7.1f} tokens/s"
    return text if cpu is None else text + f"  (CPU time {cpu:7.1f} s = {tokens / cpu:7.1f} tokens/CPU-s)"


class Timer:
    """Wall-clock and this process's CPU time: on a shared machine the CPU-time ratio is the steadier one."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def plain_generate(model, tokenizer, requests, n: int, max_tokens: int) -> int:
    """One padded ``generate`` call over all prompts with ``num_return_sequences=n``; generated tokens."""
    import torch

    prompts = [tokenizer.apply_chat_template(r.prompt, add_generation_prompt=True)["input_ids"]
               for r in requests]
    width = max(len(p) for p in prompts)
    pad = tokenizer.pad_token_id
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    torch.manual_seed(0)
    out = model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=1.0, top_p=1.0,
                         top_k=0, num_return_sequences=n, max_new_tokens=max_tokens, pad_token_id=pad)
    new = out[:, width:]
    eos = set(model.generation_config.eos_token_id if isinstance(model.generation_config.eos_token_id, list)
              else [model.generation_config.eos_token_id])
    total = 0
    for row in new.tolist():
        for token in row:
            total += 1
            if token in eos:
                break
    return total


def bench_generate(args) -> None:
    from agentsearch.llm.hf import HFBackend

    llm = HFBackend(args.model)
    requests = same_workload(args, llm.tokenizer)
    prompt_len = sum(llm.num_tokens(r.prompt) for r in requests) / len(requests)
    with Timer() as ours:
        results = llm.generate(requests)
    ours_tokens = sum(c.num_tokens for r in results for c in r)
    print(f"\n(a) {args.requests} requests x n={args.n}, {args.max_tokens} new tokens, "
          f"{args.prefix_tokens}-token shared prefix, mean prompt {prompt_len:.0f} tokens, {args.model}")
    print(f"  hf backend:     {rate(ours_tokens, ours.wall, ours.cpu)}", flush=True)
    print(f"  {llm.stats}", flush=True)
    if not args.skip_baseline:
        with Timer() as base:
            base_tokens = plain_generate(llm.model, llm.tokenizer, requests, args.n, args.max_tokens)
        ratio = (ours_tokens / ours.wall) / (base_tokens / base.wall)
        cpu_ratio = (ours_tokens / ours.cpu) / (base_tokens / base.cpu)
        print(f"  plain generate: {rate(base_tokens, base.wall, base.cpu)}")
        print(f"  speed-up: {ratio:.1f}x tokens/s, {cpu_ratio:.1f}x tokens/CPU-s   target >= 10x   "
              f"{'MET' if min(ratio, cpu_ratio) >= 10 else 'NOT MET'}", flush=True)


def bench_score(args) -> None:
    import torch

    from agentsearch.llm.hf import HFBackend

    llm = HFBackend(args.model, prefix_cache_tokens=0)  # cold: the prompt is prefilled in every call
    [request] = workload(llm.tokenizer, 1, args.prefix_tokens, 1, 1)
    prompt = request.prompt
    candidates = ["search[red cotton shirt size small]", "click[Buy Now]", "click[< Prev]",
                  "click[item B07XYZ123]", "search[organic fresh pack of 6 bottles under 20 dollars]"]
    prompt_ids = llm.tokenizer.apply_chat_template(prompt, add_generation_prompt=True)["input_ids"]

    def separate() -> list[float]:
        scores = []
        for text in candidates:
            for _model in ("policy", "reference"):
                ids = prompt_ids + llm.tokenizer(text, add_special_tokens=False).input_ids
                with torch.inference_mode():
                    logits = llm.model(torch.tensor([ids])).logits[0].float()
                logprobs = torch.log_softmax(logits[len(prompt_ids) - 1 : -1], dim=-1)
                targets = torch.tensor(ids[len(prompt_ids):])
                scores.append(float(logprobs.gather(-1, targets[:, None]).sum()))
        return scores[::2]

    names = ("score", "score x2", "same batch x2", "separate")
    walls: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(args.repeats):
        runs = {"score": lambda: llm.score(prompt, candidates),
                "score x2": lambda: (llm.score(prompt, candidates), llm.score(prompt, candidates)),
                "same batch x2": lambda: llm.score_many([(prompt, candidates), (prompt, candidates)]),
                "separate": separate}
        for name, run in runs.items():
            with Timer() as timer:
                result = run()
            walls[name].append(timer.wall)
            cpus[name].append(timer.cpu)
            if name == "score":
                ours = result
            elif name == "separate":
                reference = result
    error = max(abs(a - b) for a, b in zip(ours, reference, strict=True))
    wall = {k: min(v) for k, v in walls.items()}
    cpu = {k: min(v) for k, v in cpus.items()}
    print(f"\n(b) score 5 candidates, prompt {len(prompt_ids)} tokens, best of {args.repeats}, {args.model} "
          f"(max |score - separate| = {error:.1e})")
    def ms(name: str) -> str:
        return f"{wall[name] * 1000:8.0f} ms  (CPU {cpu[name] * 1000:8.0f} ms)"

    print(f"  10 separate forward passes:        {ms('separate')}")
    labels = {"score": "one score() call:                ", "score x2": "two score() calls (policy + ref):"}
    for name, label in labels.items():
        ratio, cpu_ratio = wall["separate"] / wall[name], cpu["separate"] / cpu[name]
        met = "MET" if min(ratio, cpu_ratio) >= 5 else "NOT MET"
        verdict = f"   target >= 5x   {met}" if name == "score" else ""
        print(f"  {label} {ms(name)}   "
              f"{ratio:.1f}x wall, {cpu_ratio:.1f}x CPU{verdict}")
    print(f"  one batch asking twice:            {ms('same batch x2')}   "
          f"{wall['same batch x2'] / wall['score']:.2f}x one call's wall   target ~1x (not 2x)")


def bench_openai(args) -> None:
    import socket

    import httpx

    from agentsearch.llm.models import load_tokenizer
    from agentsearch.llm.openai import OpenAIBackend

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "agentsearch.cli", "serve", "--model", args.model,
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("agentsearch serve did not start") from None
                time.sleep(0.5)
        requests = same_workload(args, load_tokenizer(args.model))
        url = f"http://127.0.0.1:{port}/v1"
        client = OpenAIBackend(args.model, base_url=url, max_concurrency=args.requests)
        start = time.perf_counter()
        results = client.generate(requests)
        seconds = time.perf_counter() - start
        tokens = sum(c.num_tokens for r in results for c in r)
        print(f"  openai -> agentsearch serve: {rate(tokens, seconds)}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def bench_vllm(args) -> None:
    from agentsearch.llm.models import load_tokenizer
    from agentsearch.llm.vllm import VLLMBackend

    llm = VLLMBackend(args.model)
    requests = same_workload(args, load_tokenizer(args.model))
    llm.generate(requests[:1])  # warm-up outside the timing
    start = time.perf_counter()
    results = llm.generate(requests)
    seconds = time.perf_counter() - start
    tokens = sum(c.num_tokens for r in results for c in r)
    print(f"  vllm (in-process):           {rate(tokens, seconds)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=30)
    parser.add_argument("--prefix-tokens", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3, help="repeats of (b); the best is reported")
    parser.add_argument("--only", default="generate,score,openai",
                        help="comma-separated sections: generate, score, openai, vllm")
    parser.add_argument("--skip-baseline", action="store_true", help="(a) without plain generate")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's). On a machine shared with other jobs, 1 "
                             "thread avoids OpenMP threads waiting on each other (5x faster at load 18)")
    args = parser.parse_args()
    sections = set(args.only.split(","))
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # for the `agentsearch serve` subprocess

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average "
          f"{os.getloadavg()[0]:.1f}")
    if "generate" in sections:
        bench_generate(args)
    if "score" in sections:
        bench_score(args)
    if sections & {"openai", "vllm"}:
        print(f"\n(c) backends on workload (a): {args.requests} requests x n={args.n}, "
              f"{args.max_tokens} tokens")
    if "openai" in sections:
        bench_openai(args)
    if "vllm" in sections:
        bench_vllm(args)


if __name__ == "__main__":  # vLLM's engine starts a spawned subprocess that re-imports this module
    main()
