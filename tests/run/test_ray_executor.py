"""The Ray executor on a real multi-node Ray cluster started by the tests (no mocks).

One cluster of a head node (no CPUs) and two worker nodes of one CPU each (``conftest.py``) serves the
whole module; the test that kills a node runs last. ``RandomValidAgent`` drives the searches, so every
tree is a function of the run seed and the task id, and a Ray run must write the very trees a local run
writes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the Ray executor needs Ray: pip install 'agentsearch[ray]'")

from agentsearch.data.demos import DemosConfig, write_demos  # noqa: E402
from agentsearch.eval import EvalConfig, evaluate  # noqa: E402
from agentsearch.faults.kill import check_log_resume, offline_env, trees_key  # noqa: E402
from agentsearch.run import RayExecutor  # noqa: E402
from agentsearch.run.ray_executor import _pack, _unpack  # noqa: E402
from agentsearch.search.collect import SearchRunner, collect, load_collect_config  # noqa: E402
from agentsearch.search.tree import TreeLine  # noqa: E402

TASKS = 16
OPTIONS = {
    "env": "webshop",
    "model": "random",
    "tasks": TASKS,
    "concurrency": 2,
    "search": {"iterations": 20},
}


def collect_config(out: Path):
    # The CLI's layering (the env's shipped defaults under the options), so CLI and Python runs agree.
    return load_collect_config(None, {**OPTIONS, "out": str(out)})


def records(path: Path, *drop: str) -> list[str]:
    """The file's records without the wall-clock fields, sorted (workers finish in any order)."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return sorted(json.dumps({k: v for k, v in row.items() if k not in drop}, sort_keys=True) for row in rows)


@pytest.fixture(scope="module")
def local_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "trees.jsonl"
    collect(collect_config(out))
    return out


@pytest.fixture(scope="module")
def local_trees(local_file) -> list[str]:
    return records(local_file, "timings")


def lines_by_task(data: bytes) -> dict[str, bytes]:
    """A trees file's lines (bytes, no newline) by task id."""
    return {json.loads(line)["task_id"]: line for line in data.split(b"\n") if line}


def without_timings(line: bytes) -> bytes:
    """The line with its wall-clock ``timings`` object emptied, every other byte kept."""
    blanked, count = re.subn(rb'"timings":\{[^{}]*\}', b'"timings":{}', line)
    assert count == 1
    return blanked


def test_large_records_cross_the_wire_compressed_under_rays_inline_limit():
    small = {"episode": 1, "score": 0.5}
    assert not _pack(small).compressed and _unpack(_pack(small)) == small
    page = b'{"observation":"' + b"WebShop [SEP] Search [SEP] item 12 [SEP] $9.99 " * 4000 + b'"}'
    big = TreeLine("t1", page, success=True, failed=False, nodes=21, tokens=0)  # ~190 KB, like a tree
    packed = _pack(big)
    assert packed.compressed and len(packed.data) < 100 * 1024  # Ray sends it inline in the reply
    assert _unpack(packed) == big


def test_ray_collection_over_two_nodes_writes_the_local_trees(cluster, local_trees, tmp_path):
    out = tmp_path / "trees.jsonl"
    executor = RayExecutor(address=cluster.address)
    seen = []
    collect(collect_config(out), executor=executor, progress=seen.append)
    assert records(out, "timings") == local_trees
    assert [p.done for p in seen] == list(range(1, TASKS + 1)) and seen[-1].total == TASKS
    assert seen[-1].nodes == sum(
        len(json.loads(line)["nodes"]["parent"]) for line in out.read_text().splitlines()
    )
    assert seen[-1].last.task_id == seen[-1].record.task_id
    assert (executor.lost_workers, executor.retried_tasks) == (0, 0)
    assert executor.startup_seconds > 0 and executor.work_seconds > 0
    # A rerun finds every task in the file and starts no worker.
    before = out.read_bytes()
    collect(collect_config(out), executor=executor)
    assert out.read_bytes() == before


def test_workers_send_each_tree_as_the_line_a_local_run_writes(cluster, local_file, tmp_path):
    """The driver appends the bytes a worker serialised: the in-process run's line, timings aside."""
    local = lines_by_task(local_file.read_bytes())
    got: dict[str, TreeLine] = {}
    executor = RayExecutor(address=cluster.address)
    runner = SearchRunner(collect_config(tmp_path / "unused.jsonl"))
    executor.map(runner, list(local), lambda task, record: got.setdefault(task, record), concurrency=2)
    assert got.keys() == local.keys()
    for task, record in got.items():
        assert isinstance(record, TreeLine) and record.task_id == task
        assert without_timings(record.line) == without_timings(local[task])
        tree = record.tree()
        assert (record.nodes, record.tokens, record.success, record.failed) == (
            tree.num_nodes,
            tree.tokens,
            tree.success,
            tree.error is not None,
        )
    # And the file a Ray collection writes holds those lines, byte for byte (timings aside).
    out = tmp_path / "trees.jsonl"
    collect(collect_config(out), executor=executor)
    remote = lines_by_task(out.read_bytes())
    assert {t: without_timings(line) for t, line in remote.items()} == {
        t: without_timings(line) for t, line in local.items()
    }


def test_each_worker_prepares_first_and_runs_at_most_concurrency_tasks_with_one_queued(cluster):
    class Probe:
        """Per task: its worker, how many of the worker's tasks were running, what prepare was given."""

        def __init__(self) -> None:
            self.running = 0
            self.prepared: list[int] = []

        async def prepare(self, concurrency: int) -> None:
            self.prepared.append(concurrency)

        async def __call__(self, task: int) -> dict:
            self.running += 1
            try:
                running = self.running
                await asyncio.sleep(0.05)
                return {"task": task, "pid": os.getpid(), "running": running, "prepared": list(self.prepared)}
            finally:
                self.running -= 1

    got = []
    executor = RayExecutor(address=cluster.address, workers=2, queued=1)
    executor.map(Probe(), range(12), lambda task, record: got.append(record), concurrency=2)
    assert sorted(r["task"] for r in got) == list(range(12))
    assert len({r["pid"] for r in got}) == 2
    assert all(r["prepared"] == [2] for r in got)  # once per worker, before its first task
    assert max(r["running"] for r in got) == 2  # the queued task waited for a free slot


def test_ray_eval_and_demos_write_the_local_records(cluster, tmp_path):
    executor = RayExecutor(address=cluster.address)
    config = {"env": "webshop", "tasks": 6, "agent": "random", "compare": ["greedy", "sampled"]}
    local = evaluate(EvalConfig(**config, out=str(tmp_path / "local")))
    remote = evaluate(EvalConfig(**config, out=str(tmp_path / "ray")), executor=executor)
    assert records(remote.episodes_path, "seconds") == records(local.episodes_path, "seconds")
    assert len(records(remote.episodes_path)) == 12
    # The means agree; the bootstrap intervals resample the episodes in file order, which differs.
    means = [
        {n: (s.episodes, s.score.mean, s.success.mean) for n, s in r.summaries.items()}
        for r in (remote, local)
    ]
    assert means[0] == means[1]

    demos = {"env": "webshop", "tasks": 10, "keep_losers": True}
    write_demos(DemosConfig(**demos, out=str(tmp_path / "local.jsonl")))
    result = write_demos(DemosConfig(**demos, out=str(tmp_path / "ray.jsonl")), executor=executor)
    assert result.written + result.no_plan == 10 and result.written > 0
    # Demos are replayed expert plans: the same lines, byte for byte, in the order the workers finished.
    local_lines = (tmp_path / "local.jsonl").read_bytes().splitlines()
    assert sorted((tmp_path / "ray.jsonl").read_bytes().splitlines()) == sorted(local_lines)


def test_a_killed_driver_resumes_without_losing_or_duplicating_a_tree(cluster, local_trees, tmp_path):
    out = tmp_path / "trees.jsonl"
    argv = [
        sys.executable,
        "-m",
        "agentsearch.cli",
        "collect",
        "--env",
        "webshop",
        "--model",
        "random",
        "--tasks",
        str(TASKS),
        "--concurrency",
        "2",
        "--search",
        "iterations=20",
        "--no-progress",
        "--executor",
        "ray",
        "--address",
        cluster.address,
        "--out",
        str(out),
    ]
    expected = {(tree["task_id"], None, None) for tree in map(json.loads, local_trees)}
    # Killed (the whole driver process, kill -9) after its 2nd tree, then 3 trees into the rerun.
    report = check_log_resume(
        argv, out, trees_key, expected=expected, kill_points=[(2, 0.0), (3, 0.0)], env=offline_env()
    )
    assert report.kills == 2, report
    assert (report.lost, report.duplicated, report.unparsable, report.records) == (0, 0, 0, TASKS), report
    assert records(out, "timings") == local_trees


def test_a_node_killed_mid_run_loses_nothing_and_duplicates_nothing(cluster, local_trees, tmp_path, capfd):
    """Runs last: it takes one of the module's two worker nodes away."""
    out = tmp_path / "trees.jsonl"
    executor = RayExecutor(address=cluster.address)
    killed = []

    def kill_a_node_after_two_trees(progress) -> None:
        if progress.done == 2 and not killed:
            node = cluster.nodes[-1]
            cluster.kill_node(node)  # its raylet and its worker die at once, tasks in flight with them
            killed.append(node)

    collect(collect_config(out), executor=executor, progress=kill_a_node_after_two_trees)
    capfd.readouterr()  # the killed raylet's state dump
    assert killed
    ids = [json.loads(line)["task_id"] for line in out.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == TASKS
    assert records(out, "timings") == local_trees
    # The lost worker held tasks (two in flight per worker); they ran again on the surviving node.
    assert executor.lost_workers == 1 and executor.retried_tasks >= 1
