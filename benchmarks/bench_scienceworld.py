"""ScienceWorld through agentsearch (issue 12): replay-branched MCTS and greedy play with a scripted policy.

The zero-latency :class:`RandomValidAgent` drives both, so the figures are the environment's and the
search engine's alone: per task, MCTS's best return and success, nodes, the env steps spent replaying
(ScienceWorld has no snapshots), wall time; then greedy play (the first valid action at temperature 0)
and the gold path's return as the ceiling. Needs ``pip install 'agentsearch[scienceworld]'`` and Java 17.

    python benchmarks/bench_scienceworld.py --tasks 3 --iterations 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

from agentsearch.agents import run_episode
from agentsearch.envs import make
from agentsearch.search.mcts import MCTSConfig, mcts
from agentsearch.search.scripted import RandomValidAgent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=3, help="the first N train tasks (one per task type)")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--max-depth", type=int, default=8)
    args = parser.parse_args()
    env = make("scienceworld", split="train")
    agent = RandomValidAgent("scienceworld")
    config = MCTSConfig(iterations=args.iterations, n_samples=3, max_depth=args.max_depth, depth_penalty=0.0)
    rows = []
    for task_id in list(env.task_ids("train"))[: args.tasks]:
        start = time.perf_counter()
        tree = asyncio.run(mcts(env, agent, task_id, config, seed=0))
        mcts_s = time.perf_counter() - start
        best = max((tree.reward[n] for n in range(tree.num_nodes)), default=0.0)
        start = time.perf_counter()
        episode = run_episode(env, agent, task_id=task_id, temperature=0.0, max_steps=args.max_depth)
        greedy = asyncio.run(episode)
        greedy_s = time.perf_counter() - start
        env.reset(options={"task_id": task_id})
        plan = env.expert_plan() or []
        gold = sum(env.step(action)[1] for action in plan)
        rows.append({
            "task": task_id, "mcts_nodes": tree.num_nodes, "mcts_best_step_reward": round(best, 3),
            "mcts_success": tree.success, "replay_steps": tree.provenance["replay_steps"],
            "mcts_s": round(mcts_s, 1), "greedy_return": round(greedy.reward, 3),
            "greedy_steps": greedy.steps,
            "greedy_s_per_step": round(greedy_s / max(greedy.steps, 1), 3),
            "gold_return": round(gold, 3), "gold_steps": len(plan),
        })
        print(json.dumps(rows[-1]), flush=True)
    env.close()
    print(json.dumps({"load_avg_1min": os.getloadavg()[0], "iterations": args.iterations,
                      "max_depth": args.max_depth}))


if __name__ == "__main__":
    main()
