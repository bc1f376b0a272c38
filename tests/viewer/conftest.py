"""Fixtures for the viewer's browser tests: headless Debian chromium driven by Playwright, trees to show.

The browser tests skip, saying why, where chromium or playwright is missing; ``scripts/install.sh``
installs both, so CI runs them. Screenshots go to ``tests/artifacts/viewer/``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agentsearch.search.collect import collect, load_collect_config
from agentsearch.search.tree import read_trees

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "viewer"
ALGORITHMS = ("mcts", "dfsdt", "beam", "best_of_n")


def off_loop(build):
    """Run ``build()`` in a worker thread: collect, search and eval call ``asyncio.run``, which refuses to
    run in the thread where Playwright's sync API keeps its event loop once the browser is up."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(build).result()


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (`pip install playwright`; scripts/install.sh does it)")
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not installed (`apt-get install -y chromium`; scripts/install.sh does it)")
    with sync_playwright() as playwright:
        # Root needs --no-sandbox; the system chromium, since Playwright's own download is not reachable.
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


@dataclass
class Watched:
    """A page with every request, console message and uncaught error it produced."""

    page: object
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: Path, fragment: str = "") -> None:
        self.page.goto(path.resolve().as_uri() + fragment)
        self.page.wait_for_function("window.__viewerReady !== undefined")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def watched(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(120_000)  # a loaded 2-core machine can starve the browser for a while
    seen = Watched(page)
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("console", lambda message: seen.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    yield seen
    page.close()


@pytest.fixture(scope="session")
def tree_files(tmp_path_factory) -> dict[str, Path]:
    """One WebShop trees file per algorithm, 2 train tasks each, searched by the random valid agent."""
    folder = tmp_path_factory.mktemp("trees")
    files = {}
    for algo in ALGORITHMS:
        out = folder / f"{algo}.jsonl"
        config = load_collect_config(
            None,
            {"env": "webshop", "split": "train", "tasks": 2, "algo": algo, "model": "random",
             "concurrency": 2, "out": str(out)},
        )
        off_loop(lambda config=config: collect(config))
        assert len(list(read_trees(out))) == 2
        files[algo] = out
    return files


@pytest.fixture(scope="session")
def generic_tree_file(tmp_path_factory) -> Path:
    """An MCTS tree on a plain gymnasium env (tests/plain_text_env.py) that knows nothing of agentsearch."""
    import asyncio
    import sys

    from agentsearch.envs import make
    from agentsearch.search.mcts import MCTSConfig, mcts
    from agentsearch.search.scripted import RandomValidAgent
    from agentsearch.search.tree import append_tree

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared test env lives in tests/
    from plain_text_env import ENV_ID

    env = make(ENV_ID, valid_actions_key="moves")
    search = mcts(env, RandomValidAgent("corridor"), "3", MCTSConfig(iterations=20, max_depth=6), seed=0)
    tree = off_loop(lambda: asyncio.run(search))
    out = tmp_path_factory.mktemp("generic") / "corridor.jsonl"
    with out.open("w") as handle:
        append_tree(handle, tree)
    return out


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tree_files) -> Path:
    """A real run folder in the layout of `scripts/headline.sh`, made fast: random-agent MCTS trees,
    their pairs, a tiny-random Q-model and SFT policy (3 and 2 steps), and a random-agent evaluation
    of two configurations on the collected tasks (so outcomes link to trees)."""
    pytest.importorskip("trl")
    from agentsearch.data import preference_pairs, write_jsonl
    from agentsearch.data.demos import DemosConfig, write_demos
    from agentsearch.eval import EvalConfig, evaluate
    from agentsearch.search.scripted import RandomValidAgent
    from agentsearch.train.fit import train_q
    from agentsearch.train.sft import train_sft

    run = tmp_path_factory.mktemp("run")
    trees = run / "trees.jsonl"
    trees.write_bytes(tree_files["mcts"].read_bytes())
    pairs = [p for tree in read_trees(trees) for p in preference_pairs(tree, "all_siblings")]
    write_jsonl(pairs, run / "pairs.jsonl")
    # Checkpoints carry trainer_state.json, whose log_history the report plots.
    train_q(run / "pairs.jsonl", "tiny-random", run / "qmodel", max_steps=3, per_device_train_batch_size=2,
            lora_top_layers=1, max_length=2048, eval_fraction=0.0, save_strategy="steps", save_steps=1)
    demos = run / "demos.jsonl"
    write_demos(DemosConfig(env="webshop", split="train", tasks=6, out=str(demos)))
    train_sft([demos], "tiny-random", run / "sft", max_steps=2, eval_fraction=0.2, logging_steps=1,
              curve_steps=1)
    task_ids = [t.task_id for t in read_trees(trees)]
    config = EvalConfig(env="webshop", split="train", task_ids=task_ids, compare=["greedy", "bestofn"],
                        max_steps=3, bootstrap=200, concurrency=2, out=str(run / "eval"))
    off_loop(lambda: evaluate(config, agent=RandomValidAgent("webshop")))
    return run
