"""kill -9 at random moments of collect, eval, demos, train-sft and train-q, then resume.

Each check kills the command a few times (every rerun resumes), then lets it finish, and asserts what
the kills left: no complete record lost or changed, none written twice, every line and JSON file
parsing; trainings end on the final loss of an uninterrupted run. ``scripts/fault_suite.py`` runs the
same checks with 20+ kills each.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
from fault_helpers import cli
from train_helpers import write_pairs

from agentsearch.faults.kill import (
    check_log_resume,
    check_training_resume,
    episodes_key,
    json_files_parse,
    read_log,
    run_to_end,
    trees_key,
)

pytest.importorskip("trl")


def delays(seed: int, kills: int, reference_seconds: float) -> list[float]:
    """Kill moments spread over an uninterrupted run's duration (start-up, training, saving)."""
    rng = random.Random(seed)
    return [rng.uniform(0.3, 0.95) * reference_seconds for _ in range(kills)]


def timed_run(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    run_to_end(argv, env=env)
    return time.perf_counter() - start


def kill_points(seed: int, kills: int, most_lines: int) -> list[tuple[int, float]]:
    """The first kill at a random moment of the start-up, the others after a random number of records."""
    rng = random.Random(seed)
    return [(0, rng.uniform(0.2, 2.0))] + [
        (rng.randint(1, most_lines), rng.uniform(0.0, 0.2)) for _ in range(kills - 1)
    ]


def assert_intact(report) -> None:
    assert report.kills >= 1, report
    assert (report.lost, report.duplicated, report.unparsable) == (0, 0, 0), report


def task_ids(split: str, n: int) -> list[str]:
    from agentsearch.envs import make

    return [str(t) for t in make("webshop", split=split).task_ids(split)[:n]]


def test_collect_survives_kills(tmp_path, cli_env):
    out = tmp_path / "trees.jsonl"
    argv = cli("collect", "--env", "webshop", "--model", "random", "--tasks", "300", "--concurrency", "4",
               "--search", "iterations=5", "--no-progress", "--out", str(out))
    expected = {(t, None, None) for t in task_ids("train", 300)}
    report = check_log_resume(argv, out, trees_key, expected=expected, kill_points=kill_points(0, 3, 60),
                              env=cli_env)
    assert_intact(report)
    assert report.records == 300


def test_demos_survive_kills(tmp_path, cli_env):
    reference = tmp_path / "reference.jsonl"
    run_to_end(cli("demos", "--env", "webshop", "--tasks", "300", "--out", str(reference)), env=cli_env)
    expected = set(read_log(reference, trees_key).keys)
    out = tmp_path / "demos.jsonl"
    argv = cli("demos", "--env", "webshop", "--tasks", "300", "--out", str(out))
    report = check_log_resume(argv, out, trees_key, expected=expected, kill_points=kill_points(1, 3, 60),
                              env=cli_env)
    assert_intact(report)
    assert report.records == len(expected) > 250
    # Demos are replayed expert plans: the resumed file holds the very same records.
    assert sorted(out.read_bytes().splitlines()) == sorted(reference.read_bytes().splitlines())


def test_eval_survives_kills(tmp_path, cli_env):
    out = tmp_path / "eval"
    argv = cli("eval", "--env", "webshop", "--agent", "tiny-random", "--backend", "hf", "--tasks", "6",
               "--max-steps", "2", "--compare", "greedy,sampled", "--concurrency", "2",
               "--agent-opt", "max_tokens=8", "--out", str(out))
    expected = {(c, t) for c in ("greedy", "sampled") for t in task_ids("test", 6)}
    report = check_log_resume(argv, out / "episodes.jsonl", episodes_key, expected=expected,
                              kill_points=kill_points(2, 2, 4), env=cli_env,
                              extra_files=lambda: json_files_parse(out))
    assert_intact(report)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["summaries"]["greedy"]["episodes"] == 6


@pytest.fixture(scope="module")
def demos_file(tmp_path_factory, cli_env) -> Path:
    path = tmp_path_factory.mktemp("demos") / "demos.jsonl"
    run_to_end(cli("demos", "--env", "webshop", "--tasks", "24", "--out", str(path)), env=cli_env)
    return path


def test_train_sft_resumes_to_the_uninterrupted_loss(tmp_path, cli_env, demos_file):
    def argv(out):
        return cli("train-sft", str(demos_file), "--model", "tiny-random", "--out", str(out),
                   "--max-steps", "10", "--save-steps", "5", "--eval-fraction", "0.1", "--seed", "0")

    seconds = timed_run(argv(tmp_path / "reference"), cli_env)
    reference = json.loads((tmp_path / "reference" / "agentsearch_sft.json").read_text())
    report = check_training_resume(argv(tmp_path / "sft"), tmp_path / "sft", "agentsearch_sft.json",
                                   reference_loss=reference["metrics"]["final_loss"],
                                   delays=delays(3, 2, seconds), env=cli_env)
    assert_intact(report)
    assert report.final_loss == pytest.approx(report.reference_loss, abs=1e-5)


def test_train_q_resumes_to_the_uninterrupted_loss(tmp_path, cli_env):
    pairs = write_pairs(tmp_path / "pairs.jsonl", 24)

    def argv(out):
        return cli("train-q", str(pairs), "--base", "tiny-random", "--out", str(out), "--max-steps", "8",
                   "--save-steps", "3", "--eval-fraction", "0.2", "--seed", "0")

    seconds = timed_run(argv(tmp_path / "reference"), cli_env)
    reference = json.loads((tmp_path / "reference" / "agentsearch_meta.json").read_text())
    report = check_training_resume(argv(tmp_path / "qmodel"), tmp_path / "qmodel", "agentsearch_meta.json",
                                   reference_loss=reference["metrics"]["final_loss"],
                                   delays=delays(4, 2, seconds), env=cli_env)
    assert_intact(report)
    assert report.final_loss == pytest.approx(report.reference_loss, abs=1e-5)
