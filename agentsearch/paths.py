"""Where shipped datasets and regenerated caches live."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = ["data_dir", "cache_dir"]


def data_dir(*parts: str) -> Path:
    """Path inside the shipped ``data/`` folder (installed as ``agentsearch._data``)."""
    root = Path(str(resources.files("agentsearch._data")))
    return root.joinpath(*parts)


def cache_dir(*parts: str) -> Path:
    """Path inside the cache for regenerated bulky artefacts; created on demand.

    ``$AGENTSEARCH_CACHE`` overrides the default ``~/.cache/agentsearch``.
    """
    root = Path(os.environ.get("AGENTSEARCH_CACHE", Path.home() / ".cache" / "agentsearch"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
