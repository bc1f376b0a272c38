"""The Ray executor on a real multi-node Ray cluster started by the tests (no mocks).

One cluster of a head node (no CPUs) and two worker nodes of one CPU each (``conftest.py``) serves the
whole module; the test that kills a node runs last. ``RandomValidAgent`` drives the searches, so every
tree is a function of the run seed and the task id, and a Ray run must write the very trees a local run
writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the Ray executor needs Ray: pip install 'agentsearch[ray]'")

from agentsearch.data.demos import DemosConfig, write_demos  # noqa: E402
from agentsearch.eval import EvalConfig, evaluate  # noqa: E402
from agentsearch.faults.kill import check_log_resume, offline_env, trees_key  # noqa: E402
from agentsearch.run import RayExecutor  # noqa: E402
from agentsearch.search.collect import collect, load_collect_config  # noqa: E402

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
def local_trees(tmp_path_factory) -> list[str]:
    out = tmp_path_factory.mktemp("local") / "trees.jsonl"
    collect(collect_config(out))
    return records(out, "timings")


def test_ray_collection_over_two_nodes_writes_the_local_trees(cluster, local_trees, tmp_path):
    out = tmp_path / "trees.jsonl"
    executor = RayExecutor(address=cluster.address)
    seen = []
    collect(collect_config(out), executor=executor, progress=seen.append)
    assert records(out, "timings") == local_trees
    assert [p.done for p in seen] == list(range(1, TASKS + 1)) and seen[-1].total == TASKS
    assert (executor.lost_workers, executor.retried_tasks) == (0, 0)
    # A rerun finds every task in the file and starts no worker.
    before = out.read_bytes()
    collect(collect_config(out), executor=executor)
    assert out.read_bytes() == before


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
