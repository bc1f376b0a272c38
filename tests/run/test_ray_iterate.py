"""`iterate` with the Ray executor: collection and evaluation on a real two-node Ray cluster.

One round on tiny-random must write the trees and pairs a local run writes for the same seed, and its
evaluation the same greedy episodes; a second round collects Q-guided on the workers, each loading the
first round's Q-model from the run folder.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the Ray executor needs Ray: pip install 'agentsearch[ray]'")
pytest.importorskip("trl")
pytest.importorskip("peft")

import torch  # noqa: E402

from agentsearch.train.loop import LoopConfig, iterate  # noqa: E402


def tiny_config(out: Path, **overrides) -> LoopConfig:
    """Three train tasks and two test tasks on tiny-random, one training step."""
    return LoopConfig(
        out=str(out),
        model="tiny-random",
        train_tasks=3,
        test_tasks=2,
        search={"iterations": 2, "n_samples": 2, "max_depth": 3, "early_stop": True},
        agent={"icl": False, "react": False, "context_tokens": 512, "max_tokens": 8,
               "action_mode": "score_valid"},
        train={"max_steps": 1, "per_device_train_batch_size": 2, "lora_top_layers": 1,
               "max_length": 1024, "eval_fraction": 0.0},
        candidates=2,
        max_steps=3,
        # One search at a time, locally and on each worker, so every model call sees the same batch.
        concurrency=1,
        **overrides,
    )


def records(path: Path, run: Path, *drop: str) -> list[dict]:
    """The file's records without wall-clock fields and with the run folder named alike, sorted."""
    rows = [json.loads(line.replace(str(run), "<run>")) for line in path.read_text().splitlines()]
    rows = [{k: v for k, v in row.items() if k not in drop} for row in rows]
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))


def same(a, b) -> bool:
    """Equal, floats to 1e-6 relative: a log-prob summed in a worker process can differ in its 7th digit."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(same, a, b))
    return a == b


def test_iterate_on_ray_writes_the_local_trees_and_collects_q_guided_on_the_workers(cluster, tmp_path):
    local_out, ray_out = tmp_path / "local", tmp_path / "ray"
    # Ray gives each one-CPU worker one thread; so does the local run, or float sums could differ.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        (local,) = iterate(tiny_config(local_out), rounds=1, evaluate_last=True)
    finally:
        torch.set_num_threads(threads)
    config = tiny_config(ray_out, executor="ray", address=cluster.address)
    (remote,) = iterate(config, rounds=1, evaluate_last=True)

    by_task = [
        sorted(records(r.trees, run, "timings"), key=lambda t: t["task_id"])
        for r, run in ((remote, ray_out), (local, local_out))
    ]
    assert len(by_task[0]) == 3 and same(*by_task)
    assert remote.num_pairs == local.num_pairs > 0
    pairs = [records(r.pairs, run) for r, run in ((remote, ray_out), (local, local_out))]
    assert same(*pairs)
    # Greedy plays without the Q-model, so its episodes match; Q-guided ran on the workers with the
    # Q-model of the Ray run (trained on the same pairs in another order, so not the same weights).
    episodes = [run / "round0" / "eval" / "episodes.jsonl" for run in (ray_out, local_out)]
    remote_eps, local_eps = (
        [json.loads(line) for line in path.read_text().splitlines()] for path in episodes
    )

    def greedy(episodes):
        return sorted(
            ({k: v for k, v in e.items() if k != "seconds"} for e in episodes if e["config"] == "greedy"),
            key=lambda e: e["task_id"],
        )

    assert len(greedy(remote_eps)) == 2 and same(greedy(remote_eps), greedy(local_eps))
    qguided = [r for r in remote_eps if r["config"] == "qguided"]
    assert len(qguided) == 2 and all("error" not in r for r in qguided)

    # Round 1 collects Q-guided: every worker builds the collector from round 0's Q-model on disk.
    first, second = iterate(config, rounds=2)
    assert first.trees == remote.trees  # round 0 resumed from its file
    round1 = [json.loads(line) for line in second.trees.read_text().splitlines()]
    assert len(round1) == 3 and all(t.get("error") is None for t in round1)
    assert {t["provenance"]["collector"] for t in round1} == {"qguided"}
    assert {t["provenance"]["collector_qmodel"] for t in round1} == {str(ray_out / "round0" / "qmodel")}
