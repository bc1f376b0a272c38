"""Terminal output of the CLI's multi-stage commands (``quickstart``, ``iterate``).

The terminal shows one progress bar per stage and the stages' notes; everything the libraries say (log
records, ``FutureWarning``\\ s, ``Loading weights`` and tokenizing bars, trainer dictionaries) goes to a
log file in the run folder, where a user who wants the detail finds all of it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["StageBars", "libraries_to_file"]

LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


@contextlib.contextmanager
def libraries_to_file(log_path: Path, level: int = logging.INFO) -> Iterator[Path]:
    """Send log records, warnings and whatever is written to ``sys.stderr`` to ``log_path`` (appended).

    The library progress bars that know a switch (transformers, datasets) are turned off rather than
    written to the file as carriage-return noise.
    """
    import datasets
    import transformers

    log_path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    with open(log_path, "a", encoding="utf-8") as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.setLevel(level)
        root.handlers = [handler]
        root.setLevel(level)
        logging.captureWarnings(True)
        transformers.utils.logging.disable_progress_bar()
        datasets.disable_progress_bars()
        try:
            with contextlib.redirect_stderr(stream):
                yield log_path
        finally:
            logging.captureWarnings(False)
            root.handlers, root.level = saved_handlers, saved_level


class StageBars:
    """Renders :class:`~agentsearch.train.loop.LoopEvent` s: one rich bar per stage, notes as lines.

    Use as a context manager; call it with each event.
    """

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        # Only this object writes to the terminal: stderr belongs to libraries_to_file's log.
        self.progress = Progress(
            TextColumn("[bold]{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[note]}", markup=False),
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> StageBars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: Any) -> None:
        if event.total is None:
            self.progress.console.print(f"{event.stage}: {event.note}", markup=False, highlight=False)
            return
        task = self.tasks.get(event.stage)
        if task is None:
            task = self.tasks[event.stage] = self.progress.add_task(event.stage, total=event.total, note="")
        self.progress.update(task, total=event.total, completed=event.done, note=event.note)
