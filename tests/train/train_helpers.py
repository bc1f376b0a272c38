"""Helpers shared by the training tests: chat states, pair files in TRL's format, CLI output checks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

SYSTEM = {"role": "system", "content": "You are a web shopping agent."}


def step_messages(i: int) -> list[dict[str, str]]:
    return [
        SYSTEM,
        {
            "role": "user",
            "content": f"Instruction: buy item {i} under {10 + i} dollars\nObservation: search page",
        },
    ]


def write_pairs(path: Path, n: int) -> Path:
    """``n`` pairs over 5 tasks in TRL's conversational format, with agentsearch metadata."""
    with path.open("w") as handle:
        for i in range(n):
            record = {
                "prompt": step_messages(i),
                "chosen": [
                    {"role": "assistant", "content": f"Thought: search first.\nAction: search[item {i}]"}
                ],
                "rejected": [{"role": "assistant", "content": f"Thought: guess.\nAction: click[b{i:04d}]"}],
                "q_chosen": 1.0,
                "q_rejected": 0.0,
                "task_id": str(i % 5),
                "round": 0,
            }
            handle.write(json.dumps(record) + "\n")
    return path


# What the libraries write (warnings, weight-loading and tokenizing bars, trainer dictionaries, log
# records), which belongs in a command's log file and never on the user's terminal.
LIBRARY_NOISE = ("FutureWarning", "Loading weights", "Tokenizing", "'loss':", " INFO ")


def assert_no_library_noise(proc: subprocess.CompletedProcess) -> None:
    terminal = proc.stdout + proc.stderr
    for noise in LIBRARY_NOISE:
        assert noise not in terminal, noise


def assert_clean_terminal(proc: subprocess.CompletedProcess, bar: str, log: Path) -> None:
    """A training command's terminal shows its step bar and result; the libraries' words go to ``log``."""
    assert_no_library_noise(proc)
    assert bar in proc.stdout and f"full log: {log}" in proc.stdout
    assert "agentsearch.train INFO step 2:" in log.read_text()
