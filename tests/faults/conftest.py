"""Fixtures of the fault suite: the CLI as a subprocess, offline and single-threaded."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# The training tests' pair-file writer (TRL conversational pairs over a few tasks).
sys.path.insert(0, str(Path(__file__).parents[1] / "train"))


@pytest.fixture(scope="session")
def cli_env() -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
