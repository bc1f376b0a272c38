"""Scale-out figures of issue 14: Ray worker scaling, and model servers against an in-process backend.

``--mode ray`` (default): RandomValidAgent WebShop MCTS in-process vs 1 and 2 Ray worker processes.
Starts a local cluster of two one-CPU worker nodes (``agentsearch.run.cluster``), then collects the same
tasks three times: in this process (the local executor), on one Ray worker, on two. Each Ray run's time
is split into start-up (the actors start and each builds its runner's state, the WebShop index
included, before any task is handed out: ``RayExecutor.startup_seconds``) and work (the rest of the
``collect`` call). Prints seconds and nodes/s side by side, with and without start-up, the 2-vs-1 worker
ratio both ways (issue 14's target: >= 1.7x) and the Ray path's overhead per task against the in-process
path (with start-up spread over the tasks, and without). The in-process run builds its (scripted) agent
before the clock; its start-up is loading the WebShop world (the first environment), timed on its own. The
trees of the three runs must be equal (timings aside).

    OMP_NUM_THREADS=1 python benchmarks/bench_ray.py --tasks 24 --iterations 20

``--mode servers``: the quickstart's round-0 collection (its SFT policy, act-only agent options, MCTS
budget and untrained train tasks) on ``--tasks`` tasks, twice, in this process's local executor: with an
in-process ``hf`` backend of ``--servers`` torch threads, then with the ``openai`` backend over
``--servers`` real ``agentsearch serve`` processes of one torch thread each (``agentsearch.run.servers``),
requests taking the servers in turn. Prints nodes/s and generated tokens/s side by side and the ratio.
Model loading, server start-up and a one-task warm-up search are not timed. What differs besides the
processes:

* the in-process backend keeps one prefix KV cache and batches every search's requests together; each
  server has its own cache and batches only the requests it receives, and consecutive requests of one
  search go to different servers, so a history cached on one server is recomputed on the other;
* requests and answers cross HTTP (JSON, detokenised text, per-token log-probs);
* the openai backend has no local tokenizer, so the agent does not cut prompts to ``context_tokens``
  (at the quickstart's depth 6 a whole WebShop episode fits 2,048 tokens, so none is cut either way);
* the trees need not be equal (sampling runs in other processes and batches): compare nodes/s.

    HF_HUB_OFFLINE=1 python benchmarks/bench_ray.py --mode servers             # SFT policy, 8 tasks
    HF_HUB_OFFLINE=1 python benchmarks/bench_ray.py --mode servers --model tiny-random --tasks 1 \\
        --iterations 1 --concurrency 1                                         # a smoke check
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentsearch.search.collect import build_agent, collect, load_collect_config
from agentsearch.train.loop import QUICKSTART

#: Per mode, the defaults of --tasks, --iterations and --concurrency.
MODE_DEFAULTS: dict[str, dict[str, int]] = {
    "ray": {"tasks": 24, "iterations": 20, "concurrency": 2},
    "servers": {
        "tasks": 8,
        "iterations": QUICKSTART.search["iterations"],
        "concurrency": QUICKSTART.concurrency,
    },
}


@dataclass(frozen=True)
class Run:
    """One timed collection: wall seconds, nodes and generated tokens of its trees, the trees' JSON, and
    of the seconds those spent on start-up (``None`` when not timed apart)."""

    seconds: float
    nodes: int
    tokens: int
    trees: list[str]
    startup: float | None = None

    @property
    def nodes_per_s(self) -> float:
        return self.nodes / self.seconds

    @property
    def work(self) -> float:
        """Seconds without the start-up."""
        return self.seconds - (self.startup or 0.0)

    @property
    def work_nodes_per_s(self) -> float:
        return self.nodes / self.work


def run(
    out: Path, options: dict[str, Any], executor=None, *, warmup: bool = False, startup: bool = False
) -> Run:
    """Collect with ``options`` into ``out``; only the collection is timed.

    In this process the agent (and its model) is built before the clock starts; a remote executor's
    workers build theirs inside the timed call, and a Ray executor's start-up (``startup_seconds``) is
    kept in ``Run.startup``. ``startup`` (in this process): build one environment first (it loads the
    env's world, WebShop's catalog and index, which later environments of the process share), timed as
    the run's start-up and counted in its seconds, as a Ray worker's start-up is in a Ray run's.
    ``warmup``: first search one more task (the one after the timed ones) for one iteration, untimed: the
    first forward passes of a model (thread pools, allocations) cost far more than later ones (37 s
    against 11 s for one tiny-random search, 2 threads on a loaded machine).
    """
    config = load_collect_config(None, {**options, "out": str(out)})
    agent = None if executor is not None and executor.remote else build_agent(config)
    startup_seconds = None
    if startup and agent is not None:
        from agentsearch.envs import make

        start = time.perf_counter()
        make(config.env, split=config.split, **config.env_kwargs)
        startup_seconds = time.perf_counter() - start
    if warmup:
        scratch = dataclasses.replace(
            config,
            out=str(out.with_suffix(".warmup.jsonl")),
            skip_tasks=config.skip_tasks + (config.tasks or 0),
            tasks=1,
            search={**config.search, "iterations": 1},
        )
        collect(scratch, agent=agent)
    start = time.perf_counter()
    collect(config, agent=agent, executor=executor)
    seconds = time.perf_counter() - start
    if executor is not None:
        startup_seconds = getattr(executor, "startup_seconds", None)  # part of the timed call
    elif startup_seconds is not None:
        seconds += startup_seconds  # timed before the call
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    errors = [row["error"] for row in rows if row["error"] is not None]
    if errors:
        raise RuntimeError(f"{len(errors)} searches failed, e.g. {errors[0]}")
    trees = sorted(
        json.dumps({k: v for k, v in row.items() if k != "timings"}, sort_keys=True) for row in rows
    )
    nodes = sum(len(row["nodes"]["parent"]) for row in rows)
    return Run(seconds, nodes, sum(row["tokens"] for row in rows), trees, startup_seconds)


def bench_ray(args: argparse.Namespace, folder: Path) -> None:
    from agentsearch.run import RayExecutor
    from agentsearch.run.cluster import local_cluster

    options = {
        "env": "webshop",
        "model": "random",
        "tasks": args.tasks,
        "concurrency": args.concurrency,
        "search": {"iterations": args.iterations},
    }
    results = {"in-process": run(folder / "local.jsonl", options, startup=True)}
    with local_cluster(nodes=2, cpus_per_node=1) as cluster:
        for workers in (1, 2):
            executor = RayExecutor(address=cluster.address, workers=workers)
            results[f"ray, {workers} worker{'s' if workers > 1 else ''}"] = run(
                folder / f"ray{workers}.jsonl", options, executor
            )
    reference = results["in-process"].trees
    print(f"WebShop MCTS, RandomValidAgent, {args.tasks} tasks x {args.iterations} iterations")
    print(
        f"{'executor':18s} {'seconds':>8s} {'start-up':>8s} {'work':>7s} {'nodes':>7s} {'nodes/s':>8s} "
        f"{'work nodes/s':>12s}  same trees"
    )
    for name, result in results.items():
        startup = "-" if result.startup is None else f"{result.startup:.1f}"
        print(
            f"{name:18s} {result.seconds:8.1f} {startup:>8s} {result.work:7.1f} {result.nodes:7d} "
            f"{result.nodes_per_s:8.1f} {result.work_nodes_per_s:12.1f}  {result.trees == reference}"
        )
    local, one, two = results["in-process"], results["ray, 1 worker"], results["ray, 2 workers"]
    print(
        f"2 vs 1 workers: {two.nodes_per_s / one.nodes_per_s:.2f}x nodes/s with start-up, "
        f"{two.work_nodes_per_s / one.work_nodes_per_s:.2f}x without (target >= 1.7x)"
    )
    overhead = (one.seconds - local.seconds) / args.tasks
    work_overhead = (one.work - local.seconds) / args.tasks
    print(
        f"Ray overhead per task (1 worker vs in-process): {overhead * 1000:.0f} ms with start-up, "
        f"{work_overhead * 1000:.0f} ms without"
    )


def bench_servers(args: argparse.Namespace, folder: Path) -> None:
    import os

    import torch

    from agentsearch.run.servers import local_servers

    options = {
        "env": "webshop",
        "split": "train",
        "tasks": args.tasks,
        "skip_tasks": QUICKSTART.train_skip,
        "algo": "mcts",
        "search": {**QUICKSTART.search, "iterations": args.iterations},
        "model": args.model,
        "agent": QUICKSTART.agent,
        "concurrency": args.concurrency,
        "seed": QUICKSTART.seed,
    }
    torch.set_num_threads(args.servers)
    inprocess = f"in-process hf, {args.servers} threads"
    served = f"{args.servers} x serve, 1 thread"
    results = {inprocess: run(folder / "hf.jsonl", {**options, "backend": "hf"}, warmup=True)}
    with local_servers(args.model, count=args.servers, threads=1) as servers:
        llm = {"base_url": ",".join(servers.urls)}
        results[served] = run(
            folder / "serve.jsonl", {**options, "backend": "openai", "llm": llm}, warmup=True
        )
    print(
        f"WebShop MCTS, {args.model}, {args.tasks} tasks x {args.iterations} iterations "
        f"(quickstart agent and search), {args.concurrency} searches at once; load average "
        f"{os.getloadavg()[0]:.2f} after the runs"
    )
    print(f"{'backend':26s} {'seconds':>8s} {'nodes':>6s} {'nodes/s':>8s} {'tokens/s':>9s}")
    for name, result in results.items():
        print(
            f"{name:26s} {result.seconds:8.1f} {result.nodes:6d} {result.nodes_per_s:8.2f} "
            f"{result.tokens / result.seconds:9.1f}"
        )
    ratio = results[served].nodes_per_s / results[inprocess].nodes_per_s
    print(f"{served} vs {inprocess}: {ratio:.2f}x nodes/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mode",
        choices=sorted(MODE_DEFAULTS),
        default="ray",
        help="ray: Ray worker scaling (RandomValidAgent); servers: `agentsearch serve` "
        "processes vs an in-process backend",
    )
    parser.add_argument("--tasks", type=int, default=None, help="train tasks (default: ray 24, servers 8)")
    parser.add_argument(
        "--iterations",
        type=int,
        default=None,
        help="MCTS iterations (default: ray 20, servers the quickstart's)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="searches in flight, per worker with Ray (default: ray 2, servers the quickstart's)",
    )
    parser.add_argument("--model", default=QUICKSTART.model, help="servers mode: the policy")
    parser.add_argument(
        "--servers",
        type=int,
        default=2,
        help="servers mode: servers of one thread each, against one backend of as many",
    )
    args = parser.parse_args()
    for key, value in MODE_DEFAULTS[args.mode].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    folder = Path(tempfile.mkdtemp(prefix="bench_ray_"))
    (bench_ray if args.mode == "ray" else bench_servers)(args, folder)


if __name__ == "__main__":
    main()
