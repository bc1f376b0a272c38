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
        collect(config)
        assert len(list(read_trees(out))) == 2
        files[algo] = out
    return files
