"""``kill -9`` a command at chosen moments, resume it, and check what it left behind.

Example::

    from agentsearch.envs import make
    from agentsearch.faults.kill import check_log_resume, trees_key
    argv = ["agentsearch", "collect", "--env", "webshop", "--model", "random", "--tasks", "300",
            "--no-progress", "--out", "runs/t.jsonl"]
    expected = {(str(t), None, None) for t in make("webshop", split="train").task_ids("train")[:300]}
    report = check_log_resume(argv, "runs/t.jsonl", trees_key, expected=expected,
                              kill_points=[(0, 1.5), (20, 0.1), (50, 0.0)])
    report.lost, report.duplicated          # (0, 0)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "KillReport",
    "KillRound",
    "LogState",
    "check_log_resume",
    "check_training_resume",
    "episodes_key",
    "json_files_parse",
    "offline_env",
    "read_log",
    "run_killed",
    "run_to_end",
    "trees_key",
]

Key = Callable[[dict[str, Any]], Hashable]


def offline_env() -> dict[str, str]:
    """This process's environment for a CLI subprocess: offline, one thread per process (the kills
    share the machine with whatever else runs)."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def trees_key(record: dict[str, Any]) -> Hashable:
    """A tree (or demo) is identified by its task id; a demo cut from a tree by that tree and leaf."""
    provenance = record.get("provenance") or {}
    return record["task_id"], provenance.get("from_tree"), provenance.get("leaf")


def episodes_key(record: dict[str, Any]) -> Hashable:
    """An evaluation episode is one (configuration, task)."""
    return record["config"], record["task_id"]


@dataclass
class LogState:
    """A JSONL log as a reader finds it.

    Attributes:
        prefix: the bytes up to and including the last newline (the complete lines).
        keys: the key of each complete line, in file order.
        bad_lines: 1-based numbers of complete lines that do not parse as JSON objects.
        partial_tail: bytes after the last newline (a write cut short).
    """

    prefix: bytes
    keys: list[Hashable]
    bad_lines: list[int]
    partial_tail: int


def read_log(path: str | Path, key: Key) -> LogState:
    """Parse every complete line of ``path`` (a missing file is an empty log)."""
    path = Path(path)
    data = path.read_bytes() if path.is_file() else b""
    prefix, newline, tail = data.rpartition(b"\n")
    prefix += newline
    keys, bad = [], []
    for number, raw in enumerate(prefix.split(b"\n")[:-1] if prefix else [], start=1):
        try:
            record = json.loads(raw)
            keys.append(key(record))
        except (ValueError, KeyError, TypeError):
            bad.append(number)
    return LogState(prefix, keys, bad, len(tail))


def json_files_parse(folder: str | Path, *, skip_incomplete_checkpoints: bool = True) -> list[str]:
    """The ``*.json`` files under ``folder`` that do not parse (checkpoints a kill cut short are skipped
    when asked: resuming deletes them)."""
    folder = Path(folder)
    bad = []
    for path in sorted(folder.rglob("*.json")):
        parts = path.relative_to(folder).parts
        if skip_incomplete_checkpoints and parts[0].startswith("checkpoint-"):
            state = folder / parts[0] / "trainer_state.json"
            try:
                json.loads(state.read_text())
            except (OSError, ValueError):
                continue
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            bad.append(str(path))
    return bad


@dataclass
class KillRound:
    """One run of the command: killed after ``delay`` seconds, or it ended first (``killed`` False)."""

    delay: float
    killed: bool
    returncode: int | None


def _popen(argv: Sequence[str], env: Mapping[str, str] | None, cwd: str | Path | None, log: Any):
    # A new session, so the kill takes the whole process group (a verifier worker, a tokenizer pool)
    # the way a preempted machine does.
    return subprocess.Popen(
        list(argv), env=dict(env) if env is not None else None, cwd=cwd, stdout=log, stderr=log,
        start_new_session=True,
    )


def run_killed(
    argv: Sequence[str],
    delay: float,
    *,
    when: Callable[[], bool] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    log: str | Path | None = None,
    timeout: float = 600,
) -> KillRound:
    """Start ``argv``; once ``when()`` holds (at once without it), wait ``delay`` s and ``SIGKILL`` it.

    The whole process group is killed. Returns without a kill when the command ends first.
    """
    with open(log or os.devnull, "ab") as handle:
        proc = _popen(argv, env, cwd, handle)
        deadline = time.monotonic() + timeout
        while when is not None and not when() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            proc.wait(timeout=delay)
            return KillRound(delay, False, proc.returncode)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return KillRound(delay, True, proc.returncode)


def run_to_end(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 3600,
) -> subprocess.CompletedProcess:
    """Run ``argv`` to completion; raises ``RuntimeError`` with its stderr's tail when it fails."""
    proc = subprocess.run(
        list(argv), env=dict(env) if env is not None else None, cwd=cwd, capture_output=True, text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} ... exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


@dataclass
class KillReport:
    """What a kill-and-resume check found.

    Attributes:
        command: the subcommand checked.
        kills: kills that landed while the command ran; ``ended_first`` runs that finished before theirs.
        records: records in the final file; ``expected`` how many the command should write.
        lost: expected records missing at the end, plus complete records present after some kill and
            gone (or changed) later.
        duplicated: records written more than once.
        unparsable: complete lines (or JSON files) that did not parse at any point.
        final_loss / reference_loss: training runs only, the resumed and the uninterrupted final loss
            (for trainings ``records`` counts completed trainings and ``lost`` those whose final loss
            differs from the uninterrupted one).
        seconds: wall time of the whole check.
    """

    command: str
    kills: int = 0
    ended_first: int = 0
    records: int = 0
    expected: int = 0
    lost: int = 0
    duplicated: int = 0
    unparsable: int = 0
    final_loss: float | None = None
    reference_loss: float | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def _command(argv: Sequence[str]) -> str:
    """The subcommand of an ``agentsearch`` command line (``python -m agentsearch.cli collect ...``)."""
    for index, arg in enumerate(argv):
        if arg.endswith(("agentsearch", "agentsearch.cli")) and index + 1 < len(argv):
            return argv[index + 1]
    return Path(argv[0]).name


def check_log_resume(
    argv: Sequence[str],
    out: str | Path,
    key: Key,
    *,
    expected: Collection[Hashable],
    kill_points: Sequence[tuple[int, float]],
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    extra_files: Callable[[], list[str]] | None = None,
) -> KillReport:
    """Kill ``argv`` once per kill point (each rerun resumes), then run it to the end, and check ``out``.

    A kill point ``(lines, delay)`` kills the run ``delay`` seconds after it has appended ``lines``
    more complete lines (``(0, t)``: ``t`` seconds after its start, startup included), so kills land
    mid-run however fast the machine is. ``expected`` holds the keys an uninterrupted run writes (see
    :func:`trees_key`, :func:`episodes_key`).

    After every kill the complete lines must parse, and each later state of the file must start with
    them byte for byte (a resume may cut a partial last line, never a complete one). ``extra_files``
    returns the names of other outputs that fail to parse (checked after every kill and at the end).
    """
    start = time.perf_counter()
    out = Path(out)
    report = KillReport(command=_command(argv), expected=len(expected))
    prefixes: list[bytes] = []

    def lines() -> int:
        return out.read_bytes().count(b"\n") if out.is_file() else 0

    for more, delay in kill_points:
        target = lines() + more
        round_ = run_killed(argv, delay, when=lambda target=target: lines() >= target, env=env, cwd=cwd)
        report.kills += int(round_.killed)
        report.ended_first += int(not round_.killed)
        state = read_log(out, key)
        report.unparsable += len(state.bad_lines) + len(extra_files() if extra_files else [])
        prefixes.append(state.prefix)
    run_to_end(argv, env=env, cwd=cwd)
    final = read_log(out, key)
    report.unparsable += len(final.bad_lines) + final.partial_tail + len(extra_files() if extra_files else [])
    report.records = len(final.keys)
    report.duplicated = len(final.keys) - len(set(final.keys))
    report.lost = len(set(expected) - set(final.keys))
    report.lost += sum(not final.prefix.startswith(prefix) for prefix in prefixes)
    report.seconds = time.perf_counter() - start
    return report


def check_training_resume(
    argv: Sequence[str],
    out: str | Path,
    meta_file: str,
    *,
    reference_loss: float,
    delays: Sequence[float],
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    tolerance: float = 1e-5,
    retries_per_delay: int = 5,
) -> KillReport:
    """Kill a training once per delay (each rerun resumes), finish it, and compare its final loss.

    Reruns resume from a checkpoint, so they end sooner than a fresh run: a rerun that finishes before
    its kill is a completed training, whose final loss is checked against ``reference_loss``; ``out`` is
    then removed and the same delay is tried on a fresh training, so every delay becomes a kill (up to
    ``retries_per_delay`` tries; after a fresh training that still finished first, the next kill comes
    at half of its duration).
    After every kill every JSON file of ``out`` must parse (checkpoints a kill cut short excepted: the
    resume deletes them); at the end all must. ``records`` counts the completed trainings, ``lost``
    those whose final loss differs from the reference by more than ``tolerance``; ``final_loss`` is the
    last one's.
    """
    start = time.perf_counter()
    report = KillReport(command=_command(argv), expected=1)

    def finished() -> None:
        report.unparsable += len(json_files_parse(out, skip_incomplete_checkpoints=False))
        meta = json.loads((Path(out) / meta_file).read_text(encoding="utf-8"))
        report.final_loss = float(meta["metrics"]["final_loss"])
        report.records += 1
        report.lost += int(abs(report.final_loss - reference_loss) > tolerance)

    for delay in delays:
        for _ in range(retries_per_delay):
            fresh = not Path(out).exists()
            started = time.monotonic()
            round_ = run_killed(argv, delay, env=env, cwd=cwd)
            if round_.killed:
                report.kills += 1
                report.unparsable += len(json_files_parse(out))
                break
            report.ended_first += 1
            finished()
            if fresh:  # a fresh training ran faster than the reference: kill the next one halfway
                delay = min(delay, time.monotonic() - started) / 2
            shutil.rmtree(out)
    run_to_end(argv, env=env, cwd=cwd)
    finished()
    report.expected = report.records
    report.reference_loss = reference_loss
    report.seconds = time.perf_counter() - start
    return report
