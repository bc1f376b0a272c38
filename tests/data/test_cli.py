"""Subprocess smoke tests of `agentsearch pairs` and `agentsearch data stats` on a real WebShop collection."""

import json
import subprocess
import sys

import pytest

from agentsearch.data import load_pairs
from agentsearch.search.collect import CollectConfig, collect


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "trees.jsonl"
    return collect(
        CollectConfig(
            env="webshop",
            tasks=3,
            model="random",
            concurrency=3,
            out=str(out),
            search={"iterations": 10, "early_stop": False},
        )
    )


def cli(*args):
    return subprocess.run([sys.executable, "-m", "agentsearch.cli", *args], capture_output=True, text=True)


def test_pairs_and_stats(trees, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    values = tmp_path / "values.jsonl"
    proc = cli(
        "pairs",
        str(trees),
        "--strategy",
        "all_siblings",
        "--min-gap",
        "0.1",
        "--out",
        str(pairs),
        "--values",
        str(values),
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in pairs.read_text().splitlines()]
    assert records and all(r["gap"] >= 0.1 for r in records)
    assert f"{len(records)} pairs from 3 trees" in proc.stdout
    assert len(load_pairs(pairs)) == len(records)
    stats = cli("data", "stats", str(trees), str(pairs))
    assert stats.returncode == 0, stats.stderr
    assert '"trees": 3' in stats.stdout and f'"pairs": {len(records)}' in stats.stdout
    assert "gap histogram" in stats.stdout


def test_bad_strategy_and_bad_file_are_clear_errors(trees, tmp_path):
    proc = cli("pairs", str(trees), "--strategy", "nope", "--out", str(tmp_path / "p.jsonl"))
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        trees.read_text().splitlines()[0] + "\nnot json\n" + trees.read_text().splitlines()[1] + "\n"
    )
    proc = cli("pairs", str(bad), "--out", str(tmp_path / "p.jsonl"))
    assert proc.returncode == 2 and "bad.jsonl:2" in proc.stderr and "Traceback" not in proc.stderr


def test_stats_rejects_an_incomplete_pair_as_train_q_does(trees, tmp_path):
    good = tmp_path / "pairs.jsonl"
    assert cli("pairs", str(trees), "--strategy", "all_siblings", "--out", str(good)).returncode == 0
    records = [json.loads(line) for line in good.read_text().splitlines()]
    assert len(records) >= 3
    del records[1]["chosen"]
    bad = tmp_path / "incomplete.jsonl"
    bad.write_text("".join(json.dumps(record) + "\n" for record in records[:3]))
    proc = cli("data", "stats", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "incomplete.jsonl:2" in proc.stderr and "chosen" in proc.stderr
    assert '"pairs"' not in proc.stdout
