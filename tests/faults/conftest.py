"""Fixtures of the fault suite: the CLI as a subprocess, offline and single-threaded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agentsearch.faults.kill import offline_env

# The training tests' pair-file writer (TRL conversational pairs over a few tasks).
sys.path.insert(0, str(Path(__file__).parents[1] / "train"))


@pytest.fixture(scope="session")
def cli_env() -> dict[str, str]:
    return offline_env()
