import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lock_env import CRASH, ENV_ID

from agentsearch.errors import ConfigError
from agentsearch.search.collect import CollectConfig, collect, load_collect_config
from agentsearch.search.tree import read_trees

HERE = Path(__file__).parent


def config(tmp_path, **kw) -> CollectConfig:
    values = dict(
        env=ENV_ID,
        model="random",
        tasks=12,
        concurrency=4,
        out=str(tmp_path / "trees.jsonl"),
        search={"iterations": 8},
    )
    values.update(kw)
    return CollectConfig(**values)


def task_ids(path) -> list[str]:
    return [json.loads(line)["task_id"] for line in Path(path).read_text().splitlines()]


def test_collect_writes_one_tree_per_task_and_reruns_skip(tmp_path):
    events = []
    cfg = config(tmp_path)
    out = collect(cfg, progress=events.append)
    ids = task_ids(out)
    assert sorted(ids) == sorted(["t0", "t1", "t2", "t3", *[f"g{i:04d}" for i in range(8)]])
    assert [e.done for e in events] == list(range(1, 13)) and events[-1].total == 12
    assert events[-1].nodes == sum(t.num_nodes for t in read_trees(out))
    before = out.read_bytes()
    collect(config(tmp_path, tasks=14))  # two more tasks: only those are searched
    assert out.read_bytes().startswith(before)
    assert len(task_ids(out)) == len(set(task_ids(out))) == 14


def test_truncated_last_line_is_cut_and_redone(tmp_path, caplog):
    out = collect(config(tmp_path, tasks=5))
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:4]) + "\n" + lines[4][:50])  # the last write was cut short
    collect(config(tmp_path, tasks=5))
    assert "partial line" in caplog.text
    ids = task_ids(out)
    assert len(ids) == len(set(ids)) == 5
    assert all(t.error is None for t in read_trees(out))


def test_a_failing_task_is_recorded_and_the_run_goes_on(tmp_path):
    out = collect(config(tmp_path, task_ids=["t0", CRASH, "t1"]))
    trees = {t.task_id: t for t in read_trees(out)}
    assert set(trees) == {"t0", CRASH, "t1"}
    assert "simulated crash" in trees[CRASH].error
    assert trees["t0"].error is None and trees["t1"].error is None


def test_seeded_collection_is_reproducible(tmp_path):
    def nodes(path):
        return {t.task_id: t.to_dict()["nodes"] for t in read_trees(path)}

    a = collect(config(tmp_path, out=str(tmp_path / "a.jsonl"), concurrency=3))
    b = collect(config(tmp_path, out=str(tmp_path / "b.jsonl"), concurrency=5))
    c = collect(config(tmp_path, out=str(tmp_path / "c.jsonl"), seed=1))
    assert nodes(a) == nodes(b)
    assert nodes(a) != nodes(c)


def test_config_layers_and_validation(tmp_path):
    yaml_path = tmp_path / "run.yaml"
    yaml_path.write_text("tasks: 7\nsearch:\n  iterations: 4\n")
    cfg = load_collect_config(yaml_path, {"concurrency": 2, "search": {"n_samples": 3}})
    assert (cfg.env, cfg.tasks, cfg.concurrency) == ("webshop", 7, 2)
    assert cfg.search["iterations"] == 4 and cfg.search["n_samples"] == 3 and cfg.search["max_depth"] == 10
    with pytest.raises(ConfigError, match="iterations"):
        load_collect_config(None, {"search": {"iteration": 3}})
    with pytest.raises(ConfigError, match="mcts"):
        load_collect_config(None, {"algo": "mtcs"})


def test_kill_9_then_resume_loses_nothing_and_duplicates_nothing(tmp_path):
    out = tmp_path / "trees.jsonl"
    script = (
        "import sys, lock_env; from agentsearch.cli import main; "
        f"sys.exit(main(['collect', '--env', '{ENV_ID}', '--model', 'random', '--tasks', '400', "
        f"'--concurrency', '4', '--search', 'early_stop=false', '--no-progress', '--out', '{out}']))"
    )
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 30:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    written = out.read_bytes().count(b"\n")
    assert 30 <= written < 400
    rerun = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    ids = task_ids(out)
    assert len(ids) == 400 and len(set(ids)) == 400
    assert f"({written} already there)" in rerun.stdout
