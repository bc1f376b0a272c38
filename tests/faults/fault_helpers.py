"""Helpers of the fault suite (a module of its own: every test folder has a ``conftest``)."""

from __future__ import annotations

import sys


def cli(*argv: str) -> list[str]:
    """The ``agentsearch`` command line run as a subprocess of this interpreter."""
    return [sys.executable, "-m", "agentsearch.cli", *argv]
