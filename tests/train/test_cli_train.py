"""Subprocess smoke tests of `agentsearch train-q` (CleanRL style: the smallest budget)."""

from __future__ import annotations

import json
import subprocess
import sys

from train_helpers import assert_clean_terminal, assert_no_library_noise, write_pairs


def run_cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agentsearch.cli", *argv],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
        timeout=1500,  # generous: under a loaded 2-core CI machine the quickstart took 10 min
    )


def test_train_q_cli_writes_a_qmodel_and_reports_heldout_accuracy(tmp_path):
    pairs = write_pairs(tmp_path / "pairs.jsonl", 10)
    out = tmp_path / "qmodel"
    proc = run_cli(
        "train-q",
        str(pairs),
        "--base",
        "tiny-random",
        "--out",
        str(out),
        "--max-steps",
        "2",
        "--beta",
        "0.05",
        "--eval-fraction",
        "0.2",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "held-out pairs: accuracy" in proc.stdout
    meta = json.loads((out / "agentsearch_meta.json").read_text())
    assert meta["beta"] == 0.05 and meta["base_model"] == "tiny-random"
    # Clean output: a bar of optimizer steps and the result; the trainer's dictionaries go to the log.
    assert_clean_terminal(proc, "train-q", out / "train-q.log")


def test_train_q_cli_reports_a_bad_pairs_file_without_a_traceback(tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"prompt": [{"role": "user", "content": "x"}], "chosen": []}\n')
    proc = run_cli("train-q", str(pairs), "--base", "tiny-random", "--out", str(tmp_path / "q"))
    assert proc.returncode == 2
    assert "pairs.jsonl:1: one-sided or incomplete pair" in proc.stderr and "Traceback" not in proc.stderr


def test_quickstart_runs_the_whole_loop_and_prints_the_comparison(tmp_path):
    # The README's main job on the smallest budget: the real loop, the tiny model in place of SmolLM2.
    out = tmp_path / "quickstart"
    proc = run_cli(
        "quickstart", "--model", "tiny-random", "--train-tasks", "3", "--test-tasks", "2", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = proc.stdout[proc.stdout.index("pairs;") :]
    assert "greedy" in table and "qguided" in table
    summary = json.loads((out / "round0" / "eval" / "summary.json").read_text())
    assert {s["episodes"] for s in summary["summaries"].values()} == {2}
    # The Q-guided agent of the quickstart ranks by beta * log pi_theta among candidates with the greedy step.
    assert summary["config"]["q_prior"] == 1.0 and summary["config"]["include_greedy"] is True
    assert (out / "round0" / "qmodel" / "agentsearch_meta.json").is_file()
    # Clean output: the stage bars and the table; the libraries' words go to the run's log file.
    assert_no_library_noise(proc)
    assert "collect round 0" in proc.stdout and "eval" in proc.stdout
    log = (out / "quickstart.log").read_text()
    assert (
        "agentsearch.eval INFO eval: 2 tasks x 2 configs" in log
        and f"full log: {out / 'quickstart.log'}" in proc.stdout
    )
