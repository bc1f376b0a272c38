"""Fixtures for training tests: the tiny random model with the real SmolLM2 tokenizer, and pair files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from train_helpers import write_pairs

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytest.importorskip("trl")
pytest.importorskip("peft")


@pytest.fixture(scope="session")
def tiny():
    from agentsearch.llm.models import load_model, load_tokenizer

    return load_model("tiny-random"), load_tokenizer("tiny-random")


@pytest.fixture
def pairs_file(tmp_path: Path) -> Path:
    return write_pairs(tmp_path / "pairs.jsonl", 12)
