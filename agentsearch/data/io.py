"""JSONL files of records (pairs, value labels) and their ``datasets.Dataset`` loaders."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

from agentsearch.errors import DataFileError
from agentsearch.files import atomic_writer, open_maybe_gzipped

__all__ = ["write_jsonl", "read_jsonl", "load_pairs", "load_value_labels"]

PAIR_COLUMNS = ("prompt", "chosen", "rejected")
VALUE_COLUMNS = ("prompt", "completion", "q")


def write_jsonl(records: Iterable[dict[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write records as JSONL, atomically (temporary file renamed over ``path``); returns the count."""
    count = 0
    with atomic_writer(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
            count += 1
    return count


def read_jsonl(path: str | os.PathLike[str], *, required: Iterable[str] = ()) -> Iterator[dict[str, Any]]:
    """Yield the records of a JSONL file (gzipped when its name ends in ``.gz``).

    Raises:
        DataFileError: a line is not a JSON object or lacks a ``required`` key (names file and line).
    """
    required = tuple(required)
    with open_maybe_gzipped(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as err:
                raise DataFileError(path, number, f"not valid JSON ({err})") from err
            if not isinstance(record, dict):
                raise DataFileError(path, number, f"expected a JSON object, got {type(record).__name__}")
            missing = [key for key in required if key not in record]
            if missing:
                raise DataFileError(path, number, f"missing {missing}")
            yield record


def _dataset(path: str | os.PathLike[str], required: tuple[str, ...]) -> Any:
    from datasets import Dataset

    records = list(read_jsonl(path, required=required))
    if not records:
        raise DataFileError(path, None, "no records")
    return Dataset.from_list(records)


def load_pairs(path: str | os.PathLike[str]) -> Any:
    """A ``datasets.Dataset`` of preference pairs, ready for TRL's ``DPOTrainer``."""
    return _dataset(path, PAIR_COLUMNS)


def load_value_labels(path: str | os.PathLike[str]) -> Any:
    """A ``datasets.Dataset`` of per-step value labels (``prompt``, ``completion``, ``q`` in [0, 1])."""
    return _dataset(path, VALUE_COLUMNS)
