"""WebShop speed and memory (issue 2): step latency, search latency, snapshot/restore, 100k products.

Run::

    python benchmarks/bench_webshop.py                 # shipped 2k catalog + a generated 100k catalog
    python benchmarks/bench_webshop.py --large 0       # shipped catalog only

Measured side by side in one run:

* **step latency (excluding search)**: every non-search step of the oracle's episodes over the test goals
  (clicks on results, item, option and buy), plus invalid actions; median and p95. Target: median <= 1 ms.
* **search latency**: cold BM25 searches (the per-query cache bypassed) for queries an agent would type
  (goal instructions without the price clause); median and p95. Target: <= 5 ms at 2k, <= 50 ms at 100k.
* **snapshot + restore** at a mid-episode state, against replaying the same 10 actions from ``reset``
  (search results cached, so the replay is as cheap as it can be). Target: <= 50 microseconds.
* **memory** of the 100k-product world (catalog, goals, BM25 index): resident-set growth while loading.
* **oracle**: reward over all shipped goals (the test split is also a unit test).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import statistics
import time
from dataclasses import dataclass

import bm25s
import numpy as np

from agentsearch.envs.webshop import WebShopEnv
from agentsearch.envs.webshop.oracle import oracle_actions

PRICE_CLAUSE = re.compile(r", and price lower than [\d.]+ dollars$")


@dataclass
class Args:
    large: int = 100_000
    """size of the generated catalog for the scale figures (0 skips them)"""
    goals: int = 500
    """goals whose oracle episodes are timed"""
    queries: int = 300
    """cold searches timed per catalog"""
    snapshot_iterations: int = 20_000
    """snapshot+restore pairs timed"""
    json: str | None = None
    """also write the figures to this JSON file"""


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(samples_s: list[float]) -> dict[str, float]:
    arr = np.asarray(samples_s) * 1e3
    return {"median_ms": float(np.median(arr)), "p95_ms": float(np.percentile(arr, 95)), "n": len(samples_s)}


def time_steps(env: WebShopEnv, task_ids: list[str]) -> dict[str, float]:
    """Median latency of non-search steps over oracle episodes (plus one invalid action per episode)."""
    samples: list[float] = []
    for task_id in task_ids:
        env.reset(options={"task_id": task_id})
        actions = oracle_actions(env)
        for action in actions:
            if action.startswith("search["):
                env.step(action)
                continue
            if action == "click[buy now]":
                start = time.perf_counter()
                env.step("click[no such button]")  # an invalid action on the item page
                samples.append(time.perf_counter() - start)
            start = time.perf_counter()
            env.step(action)
            samples.append(time.perf_counter() - start)
    return percentiles(samples)


def agent_queries(env: WebShopEnv, count: int) -> list[str]:
    goals = env.world.goals[:count]
    return [PRICE_CLAUSE.sub("", goal.instruction_text).lower() for goal in goals]


def time_search(env: WebShopEnv, queries: list[str]) -> dict[str, float]:
    engine = env.world.engine
    samples = []
    for query in queries:
        start = time.perf_counter()
        engine._search(query)  # uncached: what a first visit of a query costs
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def time_snapshot_restore(env: WebShopEnv, iterations: int) -> dict[str, float]:
    env.reset(options={"task_id": "0"})
    actions = oracle_actions(env)
    prefix = actions[:-1]  # stop on the item page, before buying
    replay = (prefix + ["click[description]", "click[< prev]"] * 10)[:10]
    for action in replay:
        env.step(action)
    snapshot = env.snapshot()
    gc.disable()
    start = time.perf_counter()
    for _ in range(iterations):
        env.restore(env.snapshot())
    pair_s = (time.perf_counter() - start) / iterations
    start = time.perf_counter()
    for _ in range(iterations):
        env.restore(snapshot)
    restore_s = (time.perf_counter() - start) / iterations
    replay_samples = []
    for _ in range(200):
        start = time.perf_counter()
        env.reset(options={"task_id": "0"})
        for action in replay:
            env.step(action)
        replay_samples.append(time.perf_counter() - start)
    gc.enable()
    replay_s = statistics.median(replay_samples)
    return {
        "snapshot_restore_us": pair_s * 1e6,
        "restore_us": restore_s * 1e6,
        "replay_10_actions_us": replay_s * 1e6,
        "replay_over_snapshot_restore": replay_s / pair_s,
    }


def oracle_score(env: WebShopEnv) -> dict[str, float]:
    rewards = []
    for task_id in range(len(env.world.goals)):
        env.reset(options={"task_id": str(task_id)})
        reward = 0.0
        for action in oracle_actions(env):
            _, reward, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                break
        rewards.append(reward)
    return {
        "goals": len(rewards),
        "mean_reward": float(np.mean(rewards)),
        "success": float(np.mean([r == 1.0 for r in rewards])),
    }


def provenance() -> dict[str, object]:
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "numpy": np.__version__,
        "bm25s": bm25s.__version__,
    }


def measure(env: WebShopEnv, args: Args, label: str) -> dict[str, object]:
    test_ids = env.task_ids("test")[: args.goals]
    return {
        "products": len(env.world.catalog),
        "goals": len(env.world.goals),
        "step_excluding_search": time_steps(env, test_ids),
        "search_cold": time_search(env, agent_queries(env, args.queries)),
        "snapshot": time_snapshot_restore(env, args.snapshot_iterations),
        "label": label,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in Args.__dataclass_fields__.items():
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=type(default.default) if default.default is not None else str,
            default=default.default,
        )
    args = Args(**vars(parser.parse_args()))
    report: dict[str, object] = {"provenance": provenance()}

    start = time.perf_counter()
    shipped = WebShopEnv(split="test")
    load_2k = time.perf_counter() - start
    report["shipped"] = {
        **measure(shipped, args, "shipped"),
        "load_s": load_2k,
        "oracle": oracle_score(shipped),
    }

    if args.large:
        from agentsearch.envs.webshop.generate import cached_catalog

        start = time.perf_counter()
        cached_catalog(args.large)  # generated once into the cache; not part of the load figures
        generate_s = time.perf_counter() - start
        gc.collect()
        before = rss_mib()
        start = time.perf_counter()
        large = WebShopEnv(split="test", generated_products=args.large)
        load_s = time.perf_counter() - start
        gc.collect()
        report["large"] = {
            **measure(large, args, f"generated {args.large}"),
            "load_s": load_s,
            "generate_s_if_not_cached": generate_s,
            "rss_growth_mib": rss_mib() - before,
        }

    print_report(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


def print_report(report: dict[str, object]) -> None:
    print(json.dumps(report["provenance"]))
    targets = {"step": 1.0, "search": {"shipped": 5.0, "large": 50.0}, "snapshot_us": 50.0}
    for key in ("shipped", "large"):
        if key not in report:
            continue
        r = report[key]
        assert isinstance(r, dict)
        step, search, snap = r["step_excluding_search"], r["search_cold"], r["snapshot"]
        print(
            f"\n== {r['label']}: {r['products']} products, {r['goals']} goals, world load {r['load_s']:.1f} s"
        )
        print(
            f"step (excl. search)  median {step['median_ms']:.3f} ms  p95 {step['p95_ms']:.3f} ms  "
            f"(n={step['n']}; target median <= {targets['step']} ms)"
        )
        print(
            f"search (cold)        median {search['median_ms']:.2f} ms  p95 {search['p95_ms']:.2f} ms  "
            f"(n={search['n']}; target <= {targets['search'][key]} ms)"
        )
        print(
            f"snapshot+restore     {snap['snapshot_restore_us']:.2f} us "
            f"(restore alone {snap['restore_us']:.2f} us; target <= {targets['snapshot_us']} us)"
        )
        print(
            f"replay 10 actions    {snap['replay_10_actions_us']:.1f} us  = "
            f"{snap['replay_over_snapshot_restore']:.0f}x snapshot+restore"
        )
        if "rss_growth_mib" in r:
            print(
                f"memory               +{r['rss_growth_mib']:.0f} MiB resident for the world "
                "(catalog, goals, index)"
            )
        if "oracle" in r:
            o = r["oracle"]
            print(
                f"oracle               {o['goals']} goals, mean reward {o['mean_reward']:.4f}, "
                f"success {o['success']:.2%}"
            )


if __name__ == "__main__":
    main()
