"""The CLI's terminal output for multi-stage commands: stage bars on stdout, library noise in a file."""

from __future__ import annotations

import logging
import sys
import warnings

from agentsearch.console import StageBars, libraries_to_file
from agentsearch.train.loop import LoopEvent


def test_libraries_to_file_takes_logs_warnings_and_stderr_and_gives_them_back(tmp_path, capsys):
    root = logging.getLogger()
    handlers_before = root.handlers[:]
    with libraries_to_file(tmp_path / "run" / "job.log") as log:
        logging.getLogger("some.library").info("loaded 272 weights")
        warnings.warn("`x` is deprecated", FutureWarning, stacklevel=1)
        print("Loading weights: 100%", file=sys.stderr)
        print("the table")
    captured = capsys.readouterr()
    assert captured.out == "the table\n" and captured.err == ""
    text = log.read_text()
    assert "some.library INFO loaded 272 weights" in text
    assert "FutureWarning: `x` is deprecated" in text and "Loading weights: 100%" in text
    assert root.handlers == handlers_before


def test_stage_bars_draw_one_bar_per_stage_and_print_notes(capsys):
    with StageBars() as bars:
        for done in range(1, 4):
            bars(LoopEvent("collect round 0", done, 3, f"won {done}"))
        bars(LoopEvent("pairs round 0", note="38 pairs [from 1 file]"))
        bars(LoopEvent("train round 0", 1, 18))
    assert list(bars.tasks) == ["collect round 0", "train round 0"]
    collect = bars.progress.tasks[0]
    assert (collect.completed, collect.total, collect.fields["note"]) == (3, 3, "won 3")
    assert "pairs round 0: 38 pairs [from 1 file]" in capsys.readouterr().out


def test_loop_events_read_as_one_line():
    assert str(LoopEvent("eval", 4, 60, "greedy won 1/2")) == "eval 4/60: greedy won 1/2"
    assert str(LoopEvent("pairs round 0", note="38 pairs")) == "pairs round 0: 38 pairs"
