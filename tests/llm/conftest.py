"""Shared fixtures for backend tests: one tiny-random backend per session (building it takes ~1 s)."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")


@pytest.fixture(scope="session")
def tiny():
    from agentsearch.llm.hf import HFBackend

    return HFBackend("tiny-random")


@pytest.fixture()
def fresh_tiny():
    """A backend with an empty prefix cache and zeroed counters."""
    from agentsearch.llm.hf import HFBackend

    return HFBackend("tiny-random")
