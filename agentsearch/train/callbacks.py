"""Trainer logs to the logger, not over the caller's output.

transformers prints every log dict to stdout (``PrinterCallback``, or ``ProgressCallback`` through
``tqdm.write``), which lands in the middle of the quickstart's and the CLI's own lines. :func:`log_to_logger`
keeps the progress bar and sends the dicts to the ``agentsearch.train`` logger instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from transformers import PrinterCallback, ProgressCallback, TrainerCallback

__all__ = ["StepReport", "log_to_logger"]

logger = logging.getLogger("agentsearch.train")


class _LoggerCallback(TrainerCallback):
    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            logger.info("step %d: %s", state.global_step, {k: round(v, 6) if isinstance(v, float) else v
                                                           for k, v in logs.items()})


class _QuietProgressCallback(ProgressCallback):
    def on_log(self, args, state, control, logs=None, **kwargs):
        pass  # the bar stays; the dict goes to _LoggerCallback


def log_to_logger(trainer: Any) -> Any:
    """Route ``trainer``'s log dicts to the logger (its progress bar, if enabled, stays)."""
    had_progress = any(isinstance(cb, ProgressCallback) for cb in trainer.callback_handler.callbacks)
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if had_progress:
        trainer.add_callback(_QuietProgressCallback())
    trainer.add_callback(_LoggerCallback())
    return trainer


class StepReport(TrainerCallback):
    """Calls ``report(step, max_steps)`` after each optimizer step (a caller's own progress bar)."""

    def __init__(self, report: Callable[[int, int], None]) -> None:
        self.report = report

    def on_step_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.report(state.global_step, state.max_steps)
