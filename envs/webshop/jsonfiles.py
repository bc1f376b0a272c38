"""Read JSON data files record by record, so a malformed record is reported with its file and line.

WebShop's files come in three shapes: a JSON array of records (``items_shuffle.json``), a JSON object keyed
by asin (``items_ins_v2.json``, ``items_human_ins.json``) and, for files we write, JSON Lines. All three may
be gzip-compressed (``.gz``). :func:`iter_records` yields ``(line, key, value)`` for each record, where
``line`` is the 1-based line on which the record starts and ``key`` is ``None`` except in objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentsearch.errors import DataFileError
from agentsearch.files import open_maybe_gzipped

__all__ = ["iter_records", "read_text"]

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


def read_text(path: str | Path) -> str:
    """The text of ``path``, decompressing ``.gz``; raises :class:`DataFileError` if it cannot be read."""
    path = Path(path)
    try:
        with open_maybe_gzipped(path) as f:
            return f.read()
    except FileNotFoundError:
        raise DataFileError(path, None, "file not found") from None
    except (OSError, UnicodeDecodeError, EOFError) as err:
        raise DataFileError(path, None, f"cannot read file: {err}") from None


def iter_records(path: str | Path) -> Iterator[tuple[int, str | None, Any]]:
    """Yield ``(line, key, record)`` for every record of a JSON array, JSON object or JSON Lines file."""
    text = read_text(path)
    name = Path(path).name.removesuffix(".gz")
    if name.endswith(".jsonl"):
        yield from _iter_jsonl(path, text)
    else:
        yield from _iter_json(path, text)


def _iter_jsonl(path: str | Path, text: str) -> Iterator[tuple[int, str | None, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, None, json.loads(line)
        except json.JSONDecodeError as err:
            raise DataFileError(path, number, f"invalid JSON: {err.msg} (column {err.colno})") from None


class _Scanner:
    """A cursor over JSON text that keeps track of line numbers as it moves forward."""

    def __init__(self, path: str | Path, text: str) -> None:
        self.path = path
        self.text = text
        self.pos = 0
        self.line = 1
        self._counted = 0  # text[:_counted] has been scanned for newlines

    def line_at(self, pos: int) -> int:
        self.line += self.text.count("\n", self._counted, pos)
        self._counted = pos
        return self.line

    def skip_ws(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in _WHITESPACE:
            pos += 1
        self.pos = pos

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, chars: str) -> str:
        self.skip_ws()
        char = self.peek()
        if not char or char not in chars:
            found = repr(char) if char else "end of file"
            raise DataFileError(
                self.path, self.line_at(self.pos), f"expected one of {chars!r}, found {found}"
            )
        self.pos += 1
        return char

    def value(self) -> tuple[int, Any]:
        self.skip_ws()
        line = self.line_at(self.pos)
        try:
            value, end = _DECODER.raw_decode(self.text, self.pos)
        except json.JSONDecodeError as err:
            raise DataFileError(
                self.path, err.lineno, f"invalid JSON: {err.msg} (column {err.colno})"
            ) from None
        self.pos = end
        return line, value


def _iter_json(path: str | Path, text: str) -> Iterator[tuple[int, str | None, Any]]:
    scan = _Scanner(path, text)
    opening = scan.expect("[{")
    closing = "]" if opening == "[" else "}"
    scan.skip_ws()
    if scan.peek() == closing:
        scan.pos += 1
    else:
        while True:
            if opening == "[":
                line, record = scan.value()
                yield line, None, record
            else:
                line, key = scan.value()
                if not isinstance(key, str):
                    raise DataFileError(path, line, f"expected a string key, found {key!r}")
                scan.expect(":")
                _, record = scan.value()
                yield line, key, record
            if scan.expect("," + closing) == closing:
                break
    scan.skip_ws()
    if scan.pos != len(text):
        raise DataFileError(path, scan.line_at(scan.pos), "unexpected data after the end of the JSON value")
