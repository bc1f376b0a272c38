"""Which checkpoint a resumed training starts from: the newest one a kill did not cut short.

The HF ``Trainer`` writes ``checkpoint-<step>/`` file by file (weights, optimizer, scheduler, RNG states)
and ``trainer_state.json`` last, so a checkpoint is complete when that file is there and parses. A kill
in the middle of a save leaves a newer, incomplete folder; resuming from it would crash or, worse, load
half a state, so it is skipped (and removed, so the Trainer's rotation never counts it).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

__all__ = ["last_complete_checkpoint"]

logger = logging.getLogger(__name__)

STATE_FILE = "trainer_state.json"


def _step(folder: Path) -> int:
    suffix = folder.name.rsplit("-", 1)[-1]
    return int(suffix) if suffix.isdigit() else -1


def _complete(folder: Path) -> bool:
    try:
        json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


def last_complete_checkpoint(out: str | Path) -> str | None:
    """The newest complete ``checkpoint-<step>`` folder of ``out`` (``None`` when there is none).

    Newer incomplete folders (a kill during a save) are deleted with a warning.
    """
    folders = sorted((p for p in Path(out).glob("checkpoint-*") if _step(p) >= 0), key=_step, reverse=True)
    for folder in folders:
        if _complete(folder):
            return str(folder)
        logger.warning("%s is incomplete (a save was interrupted); removing it and resuming earlier.", folder)
        shutil.rmtree(folder, ignore_errors=True)
    return None
