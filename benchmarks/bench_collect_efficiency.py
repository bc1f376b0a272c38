"""Collection efficiency (issue 17, item 3): a WebShop MCTS collection's model tokens/s against this CPU's
matrix-multiply limit, and the tokens it prefills per model call against the tokens new at that call.

Runs the quickstart's round-0 collection (``QUICKSTART`` in ``agentsearch/train/loop.py``, through the
loop's own collector and collect stage: its search config, agent options, concurrency, seed and train-task
offset) with the shipped SFT policy on the ``hf`` backend; only ``--model`` and ``--trees`` change it.

* **Matmul limit**: best GFLOP/s of a float32 ``F.linear`` pair at the model's sizes (``[rows, hidden] x
  [hidden, intermediate]`` and back; SmolLM2-135M: 576 and 1536), at 16 to 1024 token rows, with the
  thread count the backend uses (torch's, or ``--threads``). **Token ceiling** = limit / FLOPs per token,
  counted as 2 x (parameters outside the input embedding + the LM head's): the linear layers and the LM
  head, as if every token ran all of them (SmolLM2-135M: 2 x (106.2M + 28.3M) = 269 MFLOP). Not counted:
  attention scores and mixing (4 x context x hidden FLOPs per layer and token, a quarter more at 1,000
  tokens of context), which lower the real ceiling, and that the backend applies the LM head only where
  logits are needed (last prompt position, decode steps), which raises it by up to 1.27x for prefill.
* **Model tokens/s**: prompt tokens forwarded (``prompt_tokens - cached_tokens``, not from the prefix
  cache) + generated + scored tokens (``BackendStats``), per second of the collection's wall time and
  per second the backend was busy (``BatcherStats.backend_seconds``). ``computed_tokens`` (every position
  run, padding and finished decode rows included) over those real tokens is the padding overhead (a
  sample's last token is never run, so without padding it reads slightly below 1).
  Share of wall: model (backend busy) and env (``timings["env"]`` summed over trees: reset, step,
  snapshot, restore); they can overlap (the event loop steps envs while the backend thread works).
* **Prefill per call**: a thin wrapper around the agent records the ``History`` of every ``propose``
  call (one model prompt each: an expansion or a rollout step); after the run each is rendered as the
  backend renders it (the agent's own ``messages(history)``, then ``encode_prompt`` with the backend's
  budget). The tokens **new** at a call are its length minus the longest common prefix with its
  parent's prompt (the history one turn shorter), or at a root with any earlier root's (the system
  prompt), but at least 1 (a forward pass runs the last token, whose logits start the response); a
  history prompted twice has 1 new token. That is what a perfect token-level prefix cache would leave
  to compute. The same with that prefix rounded down to the cache's blocks is what an *unlimited* block
  cache would leave: prefilled / new splits into block rounding (block / new) and everything else
  (prefilled / block: eviction, and the prefix cache's other misses). Calls whose parent's prompt is not
  a prefix of theirs (the agent cut the history to ``context_tokens``) are counted: a cut shifts the
  history, so no prefix cache spares it, and "new" counts it.

Run::

    python benchmarks/bench_collect_efficiency.py                     # the SFT policy, 8 trees
    python benchmarks/bench_collect_efficiency.py --model tiny-random --trees 1

Targets (issue 17): model tokens/s near the ceiling, tokens prefilled per call near the tokens new at
the call (ratios near 1). The issue quotes about 233 GFLOP/s, i.e. about 860 tokens/s, on 2 cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from agentsearch.agents.base import Candidate, History  # noqa: E402
from agentsearch.llm.base import SamplingParams  # noqa: E402
from agentsearch.train.loop import QUICKSTART  # noqa: E402

#: Token rows of the matmul timing: decode batches (16), prefill passes (256-1024).
MATMUL_ROWS = (16, 64, 256, 1024)


def provenance() -> dict[str, Any]:
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load": round(os.getloadavg()[0], 2),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def matmul_gflops(hidden: int, intermediate: int, rows: int, seconds: float) -> float:
    """Best GFLOP/s of ``x @ up.T @ down.T`` (an MLP's two projections) for ``x`` of ``rows`` tokens."""
    import torch
    import torch.nn.functional as F

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(rows, hidden, generator=generator)
    up = torch.randn(intermediate, hidden, generator=generator)
    down = torch.randn(hidden, intermediate, generator=generator)
    flops = 2 * 2 * rows * hidden * intermediate
    with torch.inference_mode():
        start = time.perf_counter()
        F.linear(F.linear(x, up), down)  # warm-up, and the size of a timed block
        once = time.perf_counter() - start
        repeats = max(1, int(0.01 / max(once, 1e-7)))  # blocks of about 10 ms: timer noise stays small
        best, deadline = float("inf"), time.perf_counter() + seconds
        while time.perf_counter() < deadline or best == float("inf"):
            start = time.perf_counter()
            for _ in range(repeats):
                F.linear(F.linear(x, up), down)
            best = min(best, (time.perf_counter() - start) / repeats)
    return flops / best / 1e9


def parameter_counts(model: Any) -> tuple[int, int]:
    """Parameters outside the input embedding and the LM head, and the LM head's (tied or not)."""
    embedding = model.get_input_embeddings().weight
    head = model.get_output_embeddings().weight
    body = sum(p.numel() for p in model.parameters() if p is not embedding and p is not head)
    return body, head.numel()


class RecordingAgent:
    """The collecting agent, unchanged, keeping the history of every ``propose`` call (one prompt each)."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.histories: list[History] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.agent, name)

    async def propose(
        self, history: History, sampling: SamplingParams, *, valid_actions: Sequence[str] | None = None
    ) -> list[Candidate]:
        self.histories.append(history)
        return await self.agent.propose(history, sampling, valid_actions=valid_actions)


@dataclass
class PrefillNeed:
    """What the recorded calls' prompts hold, and what a perfect or an unlimited block cache leaves."""

    calls: int = 0
    #: prompt tokens of every call, as if nothing were cached
    prompt: int = 0
    #: tokens new at each call (a perfect token-level prefix cache)
    new: int = 0
    #: what an unlimited prefix cache of the backend's block size leaves
    block: int = 0
    #: calls whose parent's prompt is not a prefix of theirs (the history was cut)
    cut: int = 0


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


def prefill_need(
    histories: Sequence[History], render: Callable[[History], list[int]], block_size: int
) -> PrefillNeed:
    """:class:`PrefillNeed` of ``histories`` in call order (see the module docstring)."""
    rendered: dict[History, list[int]] = {}

    def ids(history: History) -> list[int]:
        if history not in rendered:
            rendered[history] = render(history)
        return rendered[history]

    need, roots = PrefillNeed(), []
    seen: set[History] = set()
    for history in histories:
        prompt = ids(history)
        if history in seen:
            shared = len(prompt)
        elif history.turns:
            parent = ids(History(history.instruction, history.observation, history.turns[:-1]))
            shared = common_prefix(prompt, parent)
            need.cut += shared < len(parent)
        else:
            shared = max((common_prefix(prompt, root) for root in roots), default=0)
            roots.append(prompt)
        seen.add(history)
        usable = min(shared, len(prompt) - 1)  # the last token always runs: its logits start the response
        need.calls += 1
        need.prompt += len(prompt)
        need.new += len(prompt) - usable
        need.block += len(prompt) - usable // block_size * block_size
    return need


def collect_trees(model: str, trees: int, llm: Any, out: Path) -> tuple[RecordingAgent, float]:
    """The quickstart's round-0 collection of ``trees`` train tasks into ``out``: the agent, wall seconds."""
    # The loop's own collector and collect stage, so the benchmark runs exactly what the quickstart runs.
    from agentsearch.run import LocalExecutor
    from agentsearch.train.loop import _collect, _Collector

    config = dataclasses.replace(QUICKSTART, model=model, train_tasks=trees)
    agent = RecordingAgent(_Collector(config, model)(llm))

    def report(event: Any) -> None:
        if event.done is not None:
            print(f"  {event}", flush=True)

    start = time.perf_counter()
    _collect(config, out, 0, lambda _llm: agent, llm, LocalExecutor(), {}, report)
    return agent, time.perf_counter() - start


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


#: A table row: figure, measured value, what it is compared with, their ratio, the target.
Row = tuple[str, float, str, float | None, str]


def print_table(rows: Sequence[Row]) -> None:
    print(f"{'figure':<52} {'measured':>10}  {'reference':<22} {'ratio':>7}  target")
    for label, value, reference, value_ratio, target in rows:
        shown = "" if value_ratio is None else f"{value_ratio:.3f}"
        print(f"{label:<52} {value:>10.4g}  {reference:<22} {shown:>7}  {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=QUICKSTART.model)
    parser.add_argument(
        "--trees",
        type=int,
        default=QUICKSTART.concurrency,
        help="train tasks searched (default: the quickstart's concurrency, so every search slot is busy)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--matmul-seconds", type=float, default=1.0, help="timing per matmul shape")
    args = parser.parse_args()
    import torch

    from agentsearch.llm import load_llm
    from agentsearch.llm.tokens import encode_prompt
    from agentsearch.search.tree import read_trees

    if args.threads:
        torch.set_num_threads(args.threads)
    report: dict[str, Any] = {"provenance": provenance()}
    print(f"{platform.platform()}, torch {torch.__version__}, {torch.get_num_threads()} threads, ", end="")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)

    llm = load_llm("hf", args.model)
    hidden, intermediate = llm.model.config.hidden_size, llm.model.config.intermediate_size
    by_rows = {rows: matmul_gflops(hidden, intermediate, rows, args.matmul_seconds) for rows in MATMUL_ROWS}
    limit = max(by_rows.values())
    body, head = parameter_counts(llm.model)
    flops_per_token = 2 * (body + head)
    ceiling = limit * 1e9 / flops_per_token
    shown = ", ".join(f"{rows}: {gflops:.1f}" for rows, gflops in by_rows.items())
    print(f"matmul {hidden}x{intermediate} float32, GFLOP/s by token rows: {shown}")
    print(
        f"{args.model}: {body / 1e6:.1f}M parameters outside the embedding + {head / 1e6:.1f}M LM head ",
        end="",
    )
    print(f"-> {flops_per_token / 1e6:.0f} MFLOP per token", flush=True)

    before = dataclasses.replace(llm.stats)
    print(f"collecting {args.trees} trees (search {QUICKSTART.search}, concurrency {QUICKSTART.concurrency})")
    with tempfile.TemporaryDirectory() as tmp:
        agent, wall = collect_trees(args.model, args.trees, llm, Path(tmp) / "trees.jsonl")
        trees = list(read_trees(Path(tmp) / "trees.jsonl"))
    stats = llm.stats
    forwarded = stats.prompt_tokens - stats.cached_tokens - (before.prompt_tokens - before.cached_tokens)
    generated = stats.generated_tokens - before.generated_tokens
    scored = stats.scored_tokens - before.scored_tokens
    computed = stats.computed_tokens - before.computed_tokens
    passes = stats.forward_calls - before.forward_calls
    real = forwarded + generated + scored
    busy = agent.backend.stats.backend_seconds
    env_s = sum(tree.timings.get("env", 0.0) for tree in trees)
    nodes = sum(tree.num_nodes for tree in trees)

    budget = llm.max_context - agent.max_tokens  # what the backend cuts a prompt to (encode_prompt)
    cache = llm.prefix_cache
    need = prefill_need(
        agent.histories, lambda h: encode_prompt(llm.tokenizer, agent.messages(h), budget), cache.block_size
    )
    calls = max(need.calls, 1)
    new = f"new {need.new / calls:.1f}"

    print(
        f"\n{len(trees)} trees, {nodes} nodes, {need.calls} model calls ({need.cut} with the history cut), ",
        end="",
    )
    print(f"{wall:.1f} s wall, {busy:.1f} s in the backend, {env_s:.2f} s in envs; ", end="")
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"model tokens: {forwarded} prefilled + {generated} generated + {scored} scored = {real}; ", end="")
    print(f"{computed} positions run in {passes} forward passes ({computed / max(passes, 1):.1f} per pass)")
    print(
        f"prefix cache: {len(cache) * cache.block_size} of {cache.max_blocks * cache.block_size} tokens ",
        end="",
    )
    print(f"held at the end (block {cache.block_size})\n")
    wall_rate, busy_rate = real / wall, real / busy if busy else 0.0
    limit_of = f"ceiling {ceiling:.0f}"
    per_token = f"token ceiling, tokens/s ({flops_per_token / 1e6:.0f} MFLOP/token)"
    unlimited = f"  unlimited {cache.block_size}-token block cache"
    block = f"block {need.block / calls:.1f}"
    print_table(
        [
            ("CPU matmul limit, GFLOP/s", limit, "issue: about 233", None, ""),
            (per_token, ceiling, "issue: about 860", None, ""),
            ("model tokens/s over the collection", wall_rate, limit_of, ratio(wall_rate, ceiling), "near 1"),
            (
                "model tokens/s while the backend ran",
                busy_rate,
                limit_of,
                ratio(busy_rate, ceiling),
                "near 1",
            ),
            (
                "positions run / real tokens (padding)",
                computed / max(real, 1),
                "1",
                ratio(computed, real),
                "",
            ),
            ("prefilled per call, tokens", forwarded / calls, new, ratio(forwarded, need.new), "near 1"),
            (unlimited, need.block / calls, new, ratio(need.block, need.new), ""),
            (
                "  prefilled / unlimited block cache",
                forwarded / calls,
                block,
                ratio(forwarded, need.block),
                "",
            ),
            ("prompt per call, no cache, tokens", need.prompt / calls, new, ratio(need.prompt, need.new), ""),
            ("share of wall: model (backend busy)", busy / wall, "", None, ""),
            ("share of wall: env (summed over trees)", env_s / wall, "", None, ""),
        ]
    )

    report["collection"] = {
        "model": args.model,
        "trees": len(trees),
        "nodes": nodes,
        "calls": need.calls,
        "cut_calls": need.cut,
        "wall_s": round(wall, 2),
        "backend_s": round(busy, 2),
        "env_s": round(env_s, 3),
        "prefilled_tokens": forwarded,
        "generated_tokens": generated,
        "scored_tokens": scored,
        "computed_tokens": computed,
        "forward_passes": passes,
        "prompt_tokens_no_cache": need.prompt,
        "new_tokens": need.new,
        "block_cache_tokens": need.block,
        "prefix_cache_tokens_held": len(cache) * cache.block_size,
    }
    report["figures"] = {
        "matmul_gflops_by_rows": {str(k): round(v, 1) for k, v in by_rows.items()},
        "flops_per_token": flops_per_token,
        "token_ceiling": round(ceiling, 1),
        "tokens_per_s_wall": round(wall_rate, 1),
        "tokens_per_s_wall_over_ceiling": ratio(wall_rate, ceiling),
        "tokens_per_s_busy_over_ceiling": ratio(busy_rate, ceiling),
        "prefilled_over_new": ratio(forwarded, need.new),
        "block_over_new": ratio(need.block, need.new),
        "model_share": ratio(busy, wall),
        "env_share": ratio(env_s, wall),
    }
    print("\n" + json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
