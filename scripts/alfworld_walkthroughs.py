"""Replay the stored walkthrough of every shipped ALFWorld game on one engine and count the wins.

    python scripts/alfworld_walkthroughs.py --engine textworld            # all 874 games (slow engine)
    python scripts/alfworld_walkthroughs.py --engine textworld --task-type pick_and_place_simple
"""

from __future__ import annotations

import argparse
import time

from agentsearch.envs.alfworld import ENGINES, ALFWorldEnv


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=ENGINES, default="textworld")
    parser.add_argument("--task-type", default=None, help="only games of this task type")
    parser.add_argument("--splits", nargs="*", default=["train", "eval", "test"])
    parser.add_argument("--exclude-type", default=None, help="skip games of this task type")
    parser.add_argument("--shard", default="0/1", help="i/n: play every n-th game starting at i")
    args = parser.parse_args()
    env = ALFWorldEnv(engine=args.engine, split="test")
    shard, shards = (int(x) for x in args.shard.split("/"))
    games = wins = 0
    start = time.perf_counter()
    for split in args.splits:
        for number, task_id in enumerate(env.task_ids(split)):
            task_type = env.catalog.get(task_id).task_type
            if number % shards != shard or task_type == args.exclude_type:
                continue
            if args.task_type and task_type != args.task_type:
                continue
            _, info = env.reset(options={"task_id": task_id})
            for command in info["walkthrough"]:
                _, reward, terminated, _, info = env.step(command)
            games += 1
            won = bool(info["won"] and terminated and reward == 1.0)
            wins += won
            if not won:
                print(f"NOT WON: {task_id}", flush=True)
            if games % 25 == 0:
                print(f"{games} games, {wins} won ({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"{args.engine}: walkthrough won {wins}/{games} games in {time.perf_counter() - start:.0f} s")
    return 0 if wins == games else 1


if __name__ == "__main__":
    raise SystemExit(main())
