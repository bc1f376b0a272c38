"""`agentsearch view`: tree pages and the index, checked in headless chromium, and hostile model text."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agentsearch.data.pairs import STRATEGIES
from agentsearch.errors import ConfigError
from agentsearch.search.tree import SearchTree, append_tree, read_trees
from agentsearch.viewer import tree_payload, write_tree_pages
from agentsearch.viewer.assets import script_json

DEMOS = Path(__file__).resolve().parents[2] / "data" / "demos" / "webshop_train.jsonl.gz"

#: Model text that tries to run script, load a URL or break the layout.
HOSTILE = [
    '<script>window.__pwned = "script"</script>',
    '</script><script>window.__pwned = "closed the data block"</script>',
    "</textarea><img src=x onerror=\"window.__pwned='img onerror'\">",
    "<a href=\"javascript:window.__pwned='link'\">click me</a> javascript:window.__pwned=1",
    "<svg onload=\"window.__pwned='svg'\"></svg><iframe src=\"javascript:parent.__pwned=1\"></iframe>",
    '<img src="http://127.0.0.1:9/beacon.png"><link rel=stylesheet href="http://127.0.0.1:9/x.css">',
    '<meta http-equiv="refresh" content="0;url=http://127.0.0.1:9/"><base href="http://127.0.0.1:9/">',
    "<style>body { display: none }</style><!-- <script>window.__pwned='comment'</script> -->",
    "\u2028\u2029 separators \u202e override \u0000 nul &amp; &lt;b&gt; \"quotes\" 'apostrophes'",
    "{{constructor.constructor('window.__pwned=1')()}} ${window.__pwned=1}",
    "W" * 6000,
]


def hostile_tree() -> SearchTree:
    tree = SearchTree.new(
        env="<b>env</b>", task_id='<img src=x onerror="window.__pwned=\'task id\'">', instruction=HOSTILE[0],
        observation=" ".join(HOSTILE), algorithm="</script>mcts", model=HOSTILE[3],
    )
    parent = 0
    for i, text in enumerate(HOSTILE):
        node = tree.add_node(
            parent if i % 3 else 0, response=f"Thought: {text}\nAction: click[{text}]",
            action=f"click[{text}]", observation=text, reward=float(i % 2), terminal=i % 2 == 1, won=i == 5,
        )
        tree.backup(node, float(i % 2))
        parent = node
    tree.finalize()
    return tree


def test_script_json_cannot_close_the_data_block():
    text = script_json({"s": "</script><!-- & \u2028\u2029 >"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"s": "</script><!-- & \u2028\u2029 >"}


def test_payload_carries_q_values_and_the_pairs_of_the_strategy(tree_files):
    for path in tree_files.values():
        for tree in read_trees(path):
            payload = tree_payload(tree, strategy="all_siblings")
            assert len(payload["parent"]) == tree.num_nodes
            assert payload["q"] == [pytest.approx(tree.q(n), abs=1e-4) for n in range(tree.num_nodes)]
            triples = [tuple(p[:3]) for p in payload["pairs"]]
            assert triples == list(STRATEGIES["all_siblings"](tree))
            won = [n for n in range(tree.num_nodes) if payload["flags"][n] & 2]
            assert won == [n for n in range(tree.num_nodes) if tree.won[n]]


def test_page_has_a_strict_policy_and_no_raw_model_text(tmp_path):
    trees = tmp_path / "hostile.jsonl"
    with trees.open("w") as handle:
        append_tree(handle, hostile_tree())
    result = write_tree_pages([trees], tmp_path / "out")
    html = result.entries[0].page.read_text()
    assert "default-src 'none'" in html and "script-src 'sha256-" in html and "unsafe-inline" in html
    assert "unsafe-eval" not in html
    assert "window.__pwned" in html  # the text is there, escaped ...
    assert "<script>window.__pwned" not in html and "<img src" not in html  # ... never as markup
    assert len(re.findall(r"<script\b", html)) == 2  # the data block and the viewer


def test_unknown_task_and_strategy_are_clear_errors(tree_files, tmp_path):
    with pytest.raises(ConfigError, match="No tree for task ids"):
        write_tree_pages([tree_files["mcts"]], tmp_path, task_ids=["no-such-task"])
    with pytest.raises(ConfigError, match="Did you mean"):
        write_tree_pages([tree_files["mcts"]], tmp_path, strategy="all_sibling")
    with pytest.raises(ConfigError, match="No trees file"):
        write_tree_pages([tmp_path / "absent.jsonl"], tmp_path)


@pytest.mark.parametrize("algo", ["mcts", "dfsdt", "beam", "best_of_n", "demo", "generic"])
def test_tree_page_shows_every_node_and_the_clicked_nodes_text(
    algo, tree_files, generic_tree_file, watched, tmp_path
):
    if algo == "demo":
        result = write_tree_pages([DEMOS], tmp_path, task_ids=["1500"])
        tree = next(t for t in read_trees(DEMOS) if t.task_id == "1500")
    elif algo == "generic":  # a plain gymnasium env through GymTextEnv
        result = write_tree_pages([generic_tree_file], tmp_path)
        tree = next(read_trees(generic_tree_file))
    else:
        result = write_tree_pages([tree_files[algo]], tmp_path)
        tree = next(read_trees(tree_files[algo]))
    watched.open(result.entries[0].page)
    page = watched.page
    assert int(page.inner_text("#node-count")) == tree.num_nodes
    node = tree.best_path[-1] if len(tree.best_path) > 1 else tree.num_nodes - 1
    page.fill("#goto", str(node))
    page.dispatch_event("#goto", "change")
    assert page.inner_text("#details h3 >> nth=0").startswith(f"Node #{node}")
    shown = page.locator("#details pre").all_text_contents()
    assert shown[:3] == [tree.action[node], tree.response[node], tree.observation[node]]
    # Clicking a visible row selects it too.
    first_child = tree.children(0)[0]
    page.click(f"#tree li[data-node='{first_child}'] > .row .label")
    assert page.locator("#details pre").nth(1).text_content() == tree.response[first_child]
    siblings = page.locator("#details tr.pick").count()
    assert siblings >= len(tree.children(0))
    # Expanding everything draws one row per node.
    page.click("#expand-all")
    assert page.locator("#tree li").count() == tree.num_nodes
    watched.screenshot(f"tree-{algo}.png")
    assert watched.errors == []
    assert all(url.startswith("file://") for url in watched.requests)


def test_index_searches_and_filters(tree_files, watched, tmp_path):
    result = write_tree_pages(list(tree_files.values()), tmp_path)
    watched.open(result.index)
    page = watched.page
    trees = [t for path in tree_files.values() for t in read_trees(path)]
    assert page.locator("#rows tr").count() == len(trees) == int(page.inner_text("#total"))
    task = trees[0].task_id
    page.fill("#search", task)
    assert page.locator("#rows tr").count() == sum(t.task_id == task for t in trees)
    page.fill("#search", "")
    page.fill("#min-reward", "0.5")
    assert page.locator("#rows tr").count() == sum(t.best_reward >= 0.5 for t in trees)
    page.fill("#min-reward", "")
    page.select_option("#won", "won")
    assert page.locator("#rows tr").count() == sum(t.success for t in trees)
    page.select_option("#won", "any")
    page.fill("#max-depth", "0")
    assert page.locator("#rows tr").count() == 0
    page.fill("#max-depth", "")
    watched.screenshot("index.png")
    page.click("#rows tr >> nth=0 >> a")
    page.wait_for_url(re.compile(r"/tree-00000\.html"))
    page.wait_for_function("window.__viewerReady !== undefined")
    assert int(page.inner_text("#node-count")) == trees[0].num_nodes


def test_hostile_text_runs_nothing_loads_nothing_and_keeps_the_layout(watched, tmp_path):
    tree = hostile_tree()
    trees = tmp_path / "hostile.jsonl"
    with trees.open("w") as handle:
        append_tree(handle, tree)
    result = write_tree_pages([trees], tmp_path / "out")
    page = watched.page
    watched.open(result.index)
    assert page.inner_text("#rows a") == tree.task_id
    watched.open(result.entries[0].page)
    page.click("#expand-all")
    assert page.locator("#tree li").count() == tree.num_nodes
    for node in range(tree.num_nodes):
        page.click(f"#tree li[data-node='{node}'] > .row .nid")
        texts = page.locator("#details pre").all_text_contents()
        expected = [tree.observation[0]] if node == 0 else [
            tree.action[node], tree.response[node], tree.observation[node]
        ]
        assert texts == expected
        # Click inside the text too: a `javascript:` link there would fire.
        page.locator("#details pre").last.click()
        wide = page.evaluate(
            "[document.documentElement.scrollWidth, innerWidth,"
            " document.getElementById('details').scrollWidth, document.getElementById('details').clientWidth]"
        )
        assert wide[0] <= wide[1] and wide[2] <= wide[3], wide
    watched.screenshot("tree-hostile.png")
    assert page.evaluate("window.__pwned") is None
    markup = page.evaluate(
        "Array.from(document.querySelectorAll('*')).flatMap(e => Array.from(e.attributes)"
        ".filter(a => a.name.startsWith('on') || /javascript:/i.test(a.value))"
        ".map(a => e.tagName + ' ' + a.name))"
    )
    assert markup == []
    assert page.locator("img, iframe, link, meta[http-equiv=refresh], base, a[href^=javascript]").count() == 0
    pages = {result.index.resolve().as_uri(), result.entries[0].page.resolve().as_uri()}
    assert set(watched.requests) <= pages, watched.requests
    assert not [m for m in watched.console if "Content Security Policy" in m], watched.console
    assert watched.errors == []


def test_cli_view_writes_the_pages(tree_files, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "agentsearch.cli", "view", str(tree_files["mcts"]), str(tree_files["beam"]),
         "--task", "1500", "--strategy", "all_siblings", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{tmp_path / 'index.html'}: 2 trees"
    assert sorted(p.name for p in tmp_path.glob("tree-*.html")) == ["tree-00000.html", "tree-00001.html"]
