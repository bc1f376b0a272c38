"""`agentsearch report`: a run folder's page (evaluation, outcomes, collection, pairs, curves) in chromium."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agentsearch.errors import ConfigError
from agentsearch.eval import read_episodes
from agentsearch.search.tree import read_trees
from agentsearch.viewer.report_page import find_run_contents, write_report


def test_run_contents_are_found_by_what_the_commands_write(tiny_run):
    found = find_run_contents(tiny_run)
    assert found.evals == [tiny_run / "eval"]
    assert found.trees == [tiny_run / "demos.jsonl", tiny_run / "trees.jsonl"]
    assert found.pairs == [tiny_run / "pairs.jsonl"]
    assert found.qmodels == [tiny_run / "qmodel"] and found.sft == [tiny_run / "sft"]


def test_report_page_in_the_browser(tiny_run, watched, tmp_path):
    index = write_report(tiny_run, tmp_path / "report").index
    page = watched.page
    page.goto(index.resolve().as_uri())
    text = page.inner_text("main")
    for heading in ("Evaluation", "Collection", "Preference pairs", "Training"):
        assert page.locator("h2", has_text=heading).count() == 1
    # Two interval charts for the configurations plus the paired difference; curves of both trainings.
    assert page.locator("svg[aria-label='mean score, 95% CI'] circle").count() == 2
    assert page.locator("svg[aria-label='paired score difference, 95% CI'] circle").count() == 1
    assert page.locator("svg[aria-label='DPO loss'] polyline").count() >= 1
    assert page.locator("svg[aria-label='held-out action accuracy'] polyline").count() == 1
    episodes = read_episodes(tiny_run / "eval" / "episodes.jsonl")
    tasks = {e["task_id"] for e in episodes}
    rows = page.locator("details:has(summary:has-text('per-task outcomes')) tbody tr")
    assert rows.count() == len(tasks)
    summary = json.loads((tiny_run / "eval" / "summary.json").read_text())["summaries"]
    assert f"{summary['greedy']['score']['mean']:.3f}" in text
    watched.screenshot("report.png")
    # An outcome links to its tree page, which opens on that task.
    page.click("a:text-is('tree') >> nth=0")
    page.wait_for_function("window.__viewerReady !== undefined")
    shown = page.inner_text("#title")
    collected = {t.task_id: t for t in read_trees(tiny_run / "trees.jsonl")}
    task = shown.split(" ")[1]
    assert task in tasks and task in collected
    assert watched.errors == [] and all(url.startswith("file://") for url in watched.requests)


def test_hostile_run_files_run_nothing_and_load_nothing(tmp_path, watched):
    run = tmp_path / "run"
    (run / "eval").mkdir(parents=True)
    evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    with (run / "eval" / "episodes.jsonl").open("w") as handle:
        for config in (evil, "</textarea>greedy"):
            for task in (evil, "javascript:window.__pwned=3", "7"):
                record = {"config": config, "task_id": task, "score": 0.5, "success": True, "steps": 2,
                          "tokens": 1, "actions": [evil, '<a href="javascript:window.__pwned=4">x</a>'],
                          "rewards": [0.0, "<b>1</b>"]}
                handle.write(json.dumps(record) + "\n")
        handle.write('{"config": "partial')  # a writer in progress: skipped, and the file left as it is
    size = (run / "eval" / "episodes.jsonl").stat().st_size
    (run / "qmodel").mkdir()
    (run / "qmodel" / "agentsearch_meta.json").write_text(json.dumps(
        {"target": evil, "base_model": "<style>body{display:none}</style>", "metrics": {evil: evil}}))
    (run / "qmodel" / "trainer_state.json").write_text(json.dumps(
        {"log_history": [{"step": 1, "loss": 1.0}, {"step": 2, "loss": "NaN"}, {"step": 3, "loss": 0.5}]}))
    index = write_report(run).index
    assert (run / "eval" / "episodes.jsonl").stat().st_size == size
    html = index.read_text()
    assert "<img" not in html and "<script>window" not in html and "<style>body" not in html
    page = watched.page
    page.goto(index.resolve().as_uri())
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    for cell in page.locator("td").all():  # a `javascript:` link in a cell would fire
        cell.click()
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img, iframe, a[href^=javascript], script").count() == 0
    assert evil in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    assert set(watched.requests) == {index.resolve().as_uri()}
    assert not [m for m in watched.console if "Content Security Policy" in m]


def test_report_refuses_a_folder_without_run_files(tmp_path):
    with pytest.raises(ConfigError, match="holds no evaluation"):
        write_report(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        write_report(tmp_path / "absent")


def test_cli_report(tiny_run, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "agentsearch.cli", "report", str(tiny_run), "--out", str(tmp_path),
         "--no-trees"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (f"{tmp_path / 'index.html'}: evaluations 1, trees files 2, pairs files 1, "
                                   "train-q outputs 1, train-sft outputs 1, tree pages 0")
    assert not (tmp_path / "trees").exists()
