"""Read and check step-level preference pairs before any training starts.

A pairs file is JSONL in TRL's conversational preference format, one record per line::

    {"prompt": [{"role": "system", ...}, {"role": "user", ...}, ...],
     "chosen": [{"role": "assistant", "content": "Thought: ...\\nAction: click[b0001]"}],
     "rejected": [{"role": "assistant", "content": "Thought: ...\\nAction: search[shoes]"}],
     "q_chosen": 0.8, "q_rejected": 0.0, "task_id": "12", "round": 0, ...}

Everything that would otherwise crash mid-epoch is caught here with the file and line: malformed JSON,
missing or one-sided records, records that don't tokenize with the model's chat template, and records
longer than ``max_length`` (TRL keeps the start of a long record, which would cut the latest
observation and the completion itself).
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentsearch.data.pairs import PairRecord
from agentsearch.errors import DataFileError

__all__ = ["PairRecord", "read_pair_records", "check_tokenized", "split_heldout"]


def read_pair_records(path: str | Path) -> list[PairRecord]:
    """Parse a pairs JSONL file; raise :class:`DataFileError` naming the line of the first bad record.

    Each line is checked by :meth:`PairRecord.from_json`, the record type ``agentsearch pairs`` writes.

    Raises:
        DataFileError: the file is missing or empty, a line is not a JSON object, a record lacks a side or
            has chosen == rejected, or every record is one-sided (no preference to learn).
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(path, None, "no such pairs file; build one with `agentsearch pairs`.")
    records: list[PairRecord] = []
    with path.open(encoding="utf-8") as handle:
        for line_no, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as err:
                raise DataFileError(path, line_no, f"not valid JSON: {err.msg}") from err
            records.append(PairRecord.from_json(raw, path, line_no))
    if not records:
        raise DataFileError(path, None, "the pairs file holds no pairs; there is nothing to train on.")
    return records


def check_tokenized(
    path: str | Path, records: Sequence[PairRecord], tokenizer: Any, max_length: int | None
) -> list[int]:
    """Tokenize every record as TRL will; return the longest sequence length per record.

    Raises:
        DataFileError: a record fails to render with the chat template, yields an empty completion, or is
            longer than ``max_length`` tokens (prompt plus the longer completion).
    """
    from agentsearch.train.logprobs import tokenize_step

    lengths = []
    for record in records:
        try:
            tokens = tokenize_step(
                tokenizer, record.prompt, [record.chosen[-1]["content"], record.rejected[-1]["content"]]
            )
        except Exception as err:  # noqa: BLE001 (chat templates raise jinja, Value and Type errors alike)
            raise DataFileError(
                path, record.line, f"does not tokenize with the model's chat template: {err}"
            ) from err
        if not all(tokens.completion_ids):
            raise DataFileError(path, record.line, "a completion is empty after tokenization.")
        length = len(tokens.prompt_ids) + max(len(ids) for ids in tokens.completion_ids)
        if max_length is not None and length > max_length:
            raise DataFileError(
                path,
                record.line,
                f"{length} tokens exceed max_length={max_length}; TRL would cut the completion. Raise "
                "`--max-length` or shorten histories when building pairs.",
            )
        lengths.append(length)
    return lengths


def split_heldout(
    records: Sequence[PairRecord], fraction: float, *, seed: int = 0
) -> tuple[list[PairRecord], list[PairRecord]]:
    """Split into (train, held-out) by task, so no state of a held-out task is trained on.

    Records are grouped by ``task_id`` (falling back to ``tree_id``, then the line); a ``fraction`` of the
    groups (at least one when there are two or more) is held out. ``fraction == 0`` holds out nothing.
    """
    if fraction <= 0 or len(records) < 2:
        return list(records), []
    groups: dict[str, list[PairRecord]] = {}
    for record in records:
        key = str(record.meta.get("task_id", record.meta.get("tree_id", record.line)))
        groups.setdefault(key, []).append(record)
    keys = sorted(groups)
    if len(keys) < 2:  # one task only: hold out individual states instead
        keys = [str(r.line) for r in records]
        groups = {str(r.line): [r] for r in records}
    random.Random(seed).shuffle(keys)
    n_heldout = min(max(1, round(fraction * len(keys))), len(keys) - 1)
    heldout = {key for key in keys[:n_heldout]}
    train = [r for key in keys if key not in heldout for r in groups[key]]
    held = [r for key in keys if key in heldout for r in groups[key]]
    return train, held
