"""Disk full, a file size limit, a read-only output folder: a clear error, and nothing written is lost.

The size limit (``RLIMIT_FSIZE``, set in the child before it starts) works everywhere, root included.
A real full disk and a read-only folder need a tiny ``tmpfs`` mount, so those cases skip where the
test may not mount (no ``CAP_SYS_ADMIN``).
"""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import uuid
from pathlib import Path

import pytest
from fault_helpers import cli

from agentsearch.faults.kill import read_log, trees_key


def collect_argv(out: Path, tasks: int) -> list[str]:
    return cli("collect", "--env", "webshop", "--model", "random", "--tasks", str(tasks),
               "--concurrency", "2", "--search", "iterations=3", "--no-progress", "--out", str(out))


def run(argv: list[str], env: dict[str, str], file_limit: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:
        if file_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, preexec_fn=limit)


def assert_clean_error(proc: subprocess.CompletedProcess, out: Path, words: str) -> None:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "agentsearch: error: cannot write" in proc.stderr and str(out) in proc.stderr
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_file_size_limit_mid_collection_keeps_every_tree_written(tmp_path, cli_env):
    out = tmp_path / "trees.jsonl"
    assert run(collect_argv(out, 10), cli_env).returncode == 0
    before = out.read_bytes()
    # Room for a few more trees, not for all 40: the run stops at the limit with a clear error.
    proc = run(collect_argv(out, 40), cli_env, file_limit=len(before) + 3 * len(before) // 10)
    assert_clean_error(proc, out, "(file size limit)")
    after = out.read_bytes()
    assert after.startswith(before) and after.endswith(b"\n")  # the failed line was cut back off
    state = read_log(out, trees_key)
    assert not state.bad_lines and state.partial_tail == 0 and 10 < len(state.keys) < 40
    # With room again, a rerun resumes and finishes without a duplicate.
    assert run(collect_argv(out, 40), cli_env).returncode == 0
    keys = read_log(out, trees_key).keys
    assert len(keys) == len(set(keys)) == 40


def test_atomic_files_keep_their_old_content_when_a_write_fails(tmp_path, cli_env):
    """A pairs file rewritten under a size limit: the error is clear and the old file stays whole."""
    trees = tmp_path / "trees.jsonl"
    assert run(collect_argv(trees, 6), cli_env).returncode == 0
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"old": true}\n')
    proc = run(cli("pairs", str(trees), "--out", str(pairs), "--strategy", "all_siblings"), cli_env,
               file_limit=64)
    if proc.returncode == 0:  # the random trees gave too few pairs to pass 64 bytes
        pytest.skip("no pairs large enough to hit the limit")
    assert_clean_error(proc, pairs, "(file size limit)")
    assert json.loads(pairs.read_text()) == {"old": True}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@contextlib.contextmanager
def tiny_tmpfs(tmp_path: Path, size: str):
    mount = tmp_path / f"mnt-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_and_a_read_only_folder(tmp_path, cli_env):
    with tiny_tmpfs(tmp_path, "96k") as mount:
        out = mount / "trees.jsonl"
        proc = run(collect_argv(out, 400), cli_env)
        assert_clean_error(proc, out, "(disk full)")
        state = read_log(out, trees_key)
        assert state.keys and not state.bad_lines and state.partial_tail == 0
        kept = out.read_bytes()
        remounted = subprocess.run(["mount", "-o", "remount,ro", str(mount)], capture_output=True)
        assert remounted.returncode == 0, remounted.stderr
        proc = run(collect_argv(out, 400), cli_env)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert "read-only" in proc.stderr.lower()
        assert out.read_bytes() == kept
