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
from typing import Any

__all__ = ["last_complete_checkpoint", "resume_training"]

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


def _finished(folder: Path) -> bool:
    state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    return state.get("max_steps", 0) > 0 and state.get("global_step", 0) >= state["max_steps"]


def resume_training(trainer: Any, checkpoint: str | None) -> dict[str, float]:
    """``trainer.train()`` resumed from ``checkpoint``, its metrics; a finished training is only loaded.

    The HF Trainer (transformers 5.25) checks its step limit after each step only: resumed from the
    checkpoint of the last step, it trains one step more whenever the limit falls inside an epoch, so a
    run killed between its final save and its output files ended one step beyond an uninterrupted
    run. Such a checkpoint's weights and state are loaded instead (no train metrics then).
    """
    if checkpoint is not None and _finished(Path(checkpoint)):
        from transformers import TrainerState

        trainer._load_from_checkpoint(checkpoint)
        trainer.state = TrainerState.load_from_json(str(Path(checkpoint) / STATE_FILE))
        logger.info("%s is the last step's checkpoint: loaded, nothing left to train.", checkpoint)
        return {}
    return dict(trainer.train(resume_from_checkpoint=checkpoint).metrics)
