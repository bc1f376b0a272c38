"""Tree viewer speed and size (issue 15): a synthetic 10,000-node tree rendered in headless chromium.

Builds a tree of ``--nodes`` nodes (branching ``--branching``, WebShop-sized texts: a ~150-character
response and a ~``--obs-chars``-character observation per node) and a 100-node tree with the same texts,
writes both pages with ``agentsearch.viewer``, then, in Debian's chromium via Playwright:

* open to ready: from navigation start to the end of the first render (HTML parse, ``JSON.parse`` of
  every node, the outline with the root, depth 1 and the best path expanded), median of ``--repeats``,
  as wall time and as the CPU time of the browser's processes (less sensitive to other jobs' load);
* expand all: one row per node drawn, to the next layout;
* select: clicking the deepest best-path node (ancestors expanded, its text and siblings shown).

Prints page size per 1,000 nodes and each time for both trees side by side, against the issue's
target (the 10,000-node tree renders within 2 s), and the load average while it ran.

Usage: ``python benchmarks/bench_viewer.py [--nodes 10000] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from agentsearch.search.tree import SearchTree
from agentsearch.viewer.tree_page import render_tree_page, tree_payload

WORDS = ("search", "click", "organic", "gluten", "free", "pack", "ounce", "price", "lower", "than", "dollars",
         "size", "color", "black", "large", "bars", "coffee", "shampoo", "buy", "now", "next", "back")


def synthetic_tree(nodes: int, branching: int, obs_chars: int, seed: int = 0) -> SearchTree:
    """A breadth-first tree of ``nodes`` nodes with random Q statistics and WebShop-sized texts."""
    rng = random.Random(seed)

    def text(chars: int) -> str:
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < chars:
            words.append(rng.choice(WORDS))
        return " ".join(words)

    tree = SearchTree.new(env="agentsearch/WebShop-v0", task_id="bench", instruction=text(120),
                          observation=text(obs_chars), algorithm="mcts")
    frontier, head = [0], 0
    while tree.num_nodes < nodes:
        parent = frontier[head]
        head += 1
        for _ in range(branching):
            if tree.num_nodes >= nodes:
                break
            action = f"click[{text(20)}]"
            terminal = rng.random() < 0.1
            node = tree.add_node(parent, response=f"Thought: {text(110)}\nAction: {action}", action=action,
                                 observation=text(obs_chars), reward=rng.random() if terminal else 0.0,
                                 terminal=terminal, won=terminal and rng.random() < 0.2, num_tokens=40)
            if not terminal:
                frontier.append(node)
    for _ in range(nodes // 2):
        tree.backup(rng.randrange(1, tree.num_nodes), rng.random())
    tree.finalize()
    return tree


def browser_cpu_seconds() -> float:
    """CPU seconds used so far by this process's descendants (Playwright's driver and every chromium
    process): unlike wall time, it hardly depends on how many other jobs share the cores."""
    parents, ticks = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid], ticks[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    mine, frontier = set(), [os.getpid()]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        mine.update(children)
        frontier.extend(children)
    return sum(ticks[pid] for pid in mine) / os.sysconf("SC_CLK_TCK")


def measure(browser, path: Path, repeats: int) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(300_000)
    ready, cpu = [], []
    for _ in range(repeats):
        before = browser_cpu_seconds()
        page.goto(path.resolve().as_uri())
        page.wait_for_function("window.__viewerReady !== undefined")
        cpu.append(1000 * (browser_cpu_seconds() - before))
        ready.append(page.evaluate("window.__viewerReady"))
    expand_ms = page.evaluate(
        "() => { const t = performance.now(); document.getElementById('expand-all').click();"
        " document.body.offsetHeight; return performance.now() - t; }"
    )
    rows = page.locator("#tree li").count()
    page.goto(path.resolve().as_uri())
    page.wait_for_function("window.__viewerReady !== undefined")
    select_ms = page.evaluate(
        "() => { const t = performance.now(); const i = document.getElementById('goto');"
        " i.value = String(JSON.parse(document.getElementById('tree-data').textContent).best_path.at(-1));"
        " i.dispatchEvent(new Event('change')); document.body.offsetHeight; return performance.now() - t; }"
    )
    page.close()
    return {"ready_ms": statistics.median(ready), "ready_cpu_ms": statistics.median(cpu),
            "expand_all_ms": expand_ms, "rows": rows, "select_ms": select_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--branching", type=int, default=5)
    parser.add_argument("--obs-chars", type=int, default=600, help="characters per observation")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("chromium is not installed (apt-get install -y chromium)")
    load_before = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="bench_viewer_"))
    results = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        for nodes in (100, args.nodes):
            tree = synthetic_tree(nodes, args.branching, args.obs_chars)
            start = time.perf_counter()
            html = render_tree_page(tree_payload(tree))
            write_ms = 1000 * (time.perf_counter() - start)
            path = folder / f"tree-{nodes}.html"
            path.write_text(html, encoding="utf-8")
            size = path.stat().st_size
            results[nodes] = {"write_ms": write_ms, "bytes": size, **measure(browser, path, args.repeats)}
        browser.close()
    load_after = os.getloadavg()
    print(f"synthetic trees: branching {args.branching}, ~{args.obs_chars}-char observations, "
          f"~150-char responses; chromium {executable}; median of {args.repeats} loads")
    print(f"{'nodes':>8} {'page KB':>9} {'KB/1k nodes':>12} {'python ms':>10} {'open->ready ms':>15} "
          f"{'browser CPU ms':>15} {'expand all ms':>14} {'rows':>6} {'select ms':>10}")
    for nodes, r in results.items():
        print(f"{nodes:8d} {r['bytes'] / 1024:9.0f} {r['bytes'] / 1024 / nodes * 1000:12.0f} "
              f"{r['write_ms']:10.0f} {r['ready_ms']:15.0f} {r['ready_cpu_ms']:15.0f} "
              f"{r['expand_all_ms']:14.0f} {r['rows']:6d} {r['select_ms']:10.0f}")
    big, small = results[args.nodes], results[100]
    print(f"open->ready, {args.nodes} vs 100 nodes: {big['ready_ms'] / small['ready_ms']:.1f}x; "
          f"target: {args.nodes}-node tree within 2000 ms -> "
          f"{'met' if big['ready_ms'] < 2000 else 'NOT met'} ({big['ready_ms']:.0f} ms)")
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
