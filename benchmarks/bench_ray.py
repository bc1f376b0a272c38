"""Ray executor scaling: RandomValidAgent WebShop MCTS in-process vs 1 and 2 Ray worker processes.

Starts a local cluster of two one-CPU worker nodes (``agentsearch.run.cluster``), then collects the same
tasks three times: in this process (the local executor), on one Ray worker, on two. Prints nodes/s side
by side, the 2-vs-1 worker ratio (issue 14's target: >= 1.7x) and the Ray path's overhead per task
against the in-process path (actor start-up, the WebShop index built in the actor, and the transfer of
each tree, spread over the tasks). The trees of the three runs must be equal (timings aside).

    OMP_NUM_THREADS=1 python benchmarks/bench_ray.py --tasks 24 --iterations 20
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from agentsearch.run import RayExecutor
from agentsearch.run.cluster import local_cluster
from agentsearch.search.collect import collect, load_collect_config


def run(out: Path, args: argparse.Namespace, executor=None) -> tuple[float, int, list[str]]:
    config = load_collect_config(
        None,
        {
            "env": "webshop",
            "model": "random",
            "tasks": args.tasks,
            "concurrency": args.concurrency,
            "search": {"iterations": args.iterations},
            "out": str(out),
        },
    )
    start = time.perf_counter()
    collect(config, executor=executor)
    seconds = time.perf_counter() - start
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    nodes = sum(len(row["nodes"]["parent"]) for row in rows)
    trees = sorted(
        json.dumps({k: v for k, v in row.items() if k != "timings"}, sort_keys=True) for row in rows
    )
    return seconds, nodes, trees


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=24)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=2, help="searches in flight per worker")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_ray_"))
    results = {"in-process": run(folder / "local.jsonl", args)}
    with local_cluster(nodes=2, cpus_per_node=1) as cluster:
        for workers in (1, 2):
            executor = RayExecutor(address=cluster.address, workers=workers)
            results[f"ray, {workers} worker{'s' if workers > 1 else ''}"] = run(
                folder / f"ray{workers}.jsonl", args, executor
            )
    reference = results["in-process"][2]
    print(f"WebShop MCTS, RandomValidAgent, {args.tasks} tasks x {args.iterations} iterations")
    print(f"{'executor':18s} {'seconds':>8s} {'nodes':>7s} {'nodes/s':>8s}  same trees")
    for name, (seconds, nodes, trees) in results.items():
        print(f"{name:18s} {seconds:8.1f} {nodes:7d} {nodes / seconds:8.1f}  {trees == reference}")
    one, two = results["ray, 1 worker"], results["ray, 2 workers"]
    ratio = (two[1] / two[0]) / (one[1] / one[0])
    print(f"2 vs 1 workers: {ratio:.2f}x nodes/s (target >= 1.7x)")
    overhead = (one[0] - results["in-process"][0]) / args.tasks
    print(f"Ray overhead per task (1 worker vs in-process, start-up included): {overhead * 1000:.0f} ms")


if __name__ == "__main__":
    main()
