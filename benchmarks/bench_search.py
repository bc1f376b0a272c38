"""Search engine benchmarks (issue 6): MCTS overhead, snapshot vs replay branching, K concurrent trees.

Parts (``--part``, default ``engine branching``):

* ``engine``: MCTS with the paper's WebShop defaults (30 iterations, early stop off) driven by the
  zero-latency :class:`RandomValidAgent`, all trees in one event loop. Reports nodes/s end to end and
  the engine alone (wall time minus env work and policy calls, both timed inside the search), also per
  CPU second (the engine's share of the process's CPU time), which other jobs on the machine do not skew.
  Target: >= 20,000 nodes/s for the engine.
* ``branching``: reach a depth-10 WebShop node from another depth-10 node, by snapshot restore and by
  replay from reset (10 env steps + observation checks). Reports microseconds per branch and the ratio.
* ``batching``: MCTS with SmolLM2 (``hf`` backend, shared RequestBatcher) on the same 16 WebShop tasks
  with K=1 and K=16 searches at once; reports nodes/s and their ratio. Target: >= 5x.

    python benchmarks/bench_search.py --part engine branching
    python benchmarks/bench_search.py --part batching --tasks 16 --k1-tasks 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time

import numpy as np

from agentsearch.envs import make
from agentsearch.search import MCTSConfig, RandomValidAgent, mcts
from agentsearch.search.branching import Branching
from agentsearch.search.tree import ROOT, SearchTree


def provenance() -> dict:
    import gymnasium
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gymnasium": gymnasium.__version__,
        "cpus": os.cpu_count(),
        "load": os.getloadavg()[0],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def bench_engine(tasks: int, seed: int) -> dict:
    env = make("webshop")
    agent = RandomValidAgent("webshop")
    ids = list(env.task_ids("train"))[:tasks]
    config = MCTSConfig(early_stop=False)

    async def run() -> list[SearchTree]:
        return [await mcts(env, agent, task_id, config, seed=seed) for task_id in ids]

    start, cpu_start = time.perf_counter(), time.process_time()
    trees = asyncio.run(run())
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    nodes = sum(t.num_nodes for t in trees)
    env_s = sum(t.timings["env"] for t in trees)
    policy_s = sum(t.timings["policy"] for t in trees)
    engine_s = wall - env_s - policy_s
    return {
        "trees": len(trees),
        "nodes": nodes,
        "wall_s": round(wall, 3),
        "nodes_per_s_end_to_end": round(nodes / wall),
        "env_share": round(env_s / wall, 3),
        "policy_share": round(policy_s / wall, 3),
        "engine_nodes_per_s": round(nodes / engine_s),
        "target_engine_nodes_per_s": 20_000,
        # CPU seconds instead of wall seconds: what one uncontended core does (other jobs share the CPUs)
        "cpu_s": round(cpu, 3),
        "engine_nodes_per_cpu_s": round(nodes / (cpu * engine_s / wall)),
        "env_steps_per_s": round(nodes / env_s),
    }


def _deep_node(branch: Branching, tree: SearchTree, rng: np.random.Generator, depth: int) -> int:
    """Grow a random non-terminal path of ``depth`` steps (never buying) and return its last node."""
    node = ROOT
    while tree.depth[node] < depth:
        actions = [a for a in tree.valid_actions[node] or [] if a != "click[buy now]"]
        if not actions or actions == ["search[<query>]"]:
            actions = ["search[granola bars]"]
        action = actions[int(rng.integers(len(actions)))]
        observation, reward, terminated, truncated, info = branch.step(tree, node, action)
        node = tree.add_node(
            node,
            response=action,
            action=action,
            observation=observation,
            reward=reward,
            terminal=terminated or truncated,
            valid_actions=info["valid_actions"],
        )
        branch.commit(node)
    return node


def bench_branching(depth: int, reps: int, seed: int) -> dict:
    results = {}
    for mode in ("snapshot", "replay"):
        env = make("webshop", max_steps=50)
        task_id = env.task_ids("train")[0]
        branch = Branching(env, task_id, mode=mode)
        observation, info = branch.reset()
        tree = SearchTree.new(
            env="webshop",
            task_id=task_id,
            instruction=info["instruction"],
            observation=observation,
            valid_actions=info["valid_actions"],
        )
        rng = np.random.default_rng(seed)
        a = _deep_node(branch, tree, rng, depth)
        b = _deep_node(branch, tree, rng, depth)
        start = time.perf_counter()
        for i in range(reps):
            assert branch.goto(tree, a if i % 2 == 0 else b)
        results[mode] = (time.perf_counter() - start) / reps
    return {
        "depth": depth,
        "snapshot_us": round(results["snapshot"] * 1e6, 2),
        "replay_us": round(results["replay"] * 1e6, 1),
        "replay_over_snapshot": round(results["replay"] / results["snapshot"], 1),
    }


def bench_batching(
    tasks: int, k1_tasks: int, seed: int, model: str, iterations: int, max_tokens: int, action_mode: str
) -> dict:
    """K=1 on ``k1_tasks`` tasks, then K=16 on ``tasks`` tasks, each with a fresh backend (cold cache)."""
    import tempfile

    from agentsearch.agents import make_agent
    from agentsearch.llm import load_llm
    from agentsearch.search.collect import CollectConfig, collect

    figures = {}
    for k, n_tasks in ((1, k1_tasks), (16, tasks)):
        agent = make_agent(
            "webshop",
            load_llm("hf", model),
            react=False,
            icl=False,
            action_mode=action_mode,
            max_tokens=max_tokens,
        )
        last = []
        with tempfile.TemporaryDirectory() as tmp:
            config = CollectConfig(
                env="webshop",
                tasks=n_tasks,
                concurrency=k,
                seed=seed,
                model=model,
                out=f"{tmp}/trees.jsonl",
                search={"iterations": iterations, "n_samples": 5, "max_depth": 4, "early_stop": False},
            )
            start = time.perf_counter()
            collect(config, agent=agent, progress=last.append)
            wall = time.perf_counter() - start
        done = last[-1]
        figures[f"K={k}"] = {
            "tasks": n_tasks,
            "nodes": done.nodes,
            "tokens": done.tokens,
            "wall_s": round(wall, 1),
            "nodes_per_s": round(done.nodes / wall, 3),
            "tokens_per_s": round(done.tokens / wall, 1),
        }
        print(f"K={k}", json.dumps(figures[f"K={k}"]), flush=True)
    figures["action_mode"] = action_mode
    figures["speedup"] = round(figures["K=16"]["nodes_per_s"] / figures["K=1"]["nodes_per_s"], 2)
    figures["target_speedup"] = 5.0
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part", nargs="+", default=["engine", "branching"], choices=["engine", "branching", "batching"]
    )
    parser.add_argument("--tasks", type=int, default=None, help="tasks (engine: 50, batching K=16: 16)")
    parser.add_argument("--k1-tasks", type=int, default=4, help="tasks of the K=1 batching run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument(
        "--iterations", type=int, default=2, help="MCTS iterations per tree in the batching part"
    )
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument(
        "--action-mode", default="score_valid", choices=["score_valid", "generate"],
        help="agent action mode in the batching part (generate: every action decoded, decode-bound)",
    )
    args = parser.parse_args()
    report = {"provenance": provenance()}
    if "engine" in args.part:
        report["engine"] = bench_engine(args.tasks or 50, args.seed)
        print("engine", json.dumps(report["engine"]), flush=True)
    if "branching" in args.part:
        report["branching"] = bench_branching(args.depth, args.reps, args.seed)
        print("branching", json.dumps(report["branching"]), flush=True)
    if "batching" in args.part:
        report["batching"] = bench_batching(
            args.tasks or 16, args.k1_tasks, args.seed, args.model, args.iterations, args.max_tokens,
            args.action_mode,
        )
        print("batching", json.dumps(report["batching"]), flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
