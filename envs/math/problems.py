"""Math problems: the record type, the shipped splits, and loaders for GSM8K and MATH files.

Users bring their own copies of the public datasets in their standard formats:

* GSM8K JSONL: one object per line with ``question`` and ``answer``; the answer is the worked
  solution, one step per line, ending in ``#### N`` (calculator annotations ``<<48/2=24>>`` are
  dropped).
* MATH JSON: objects with ``problem``, ``solution`` (the gold answer is its last ``\\boxed{}``),
  ``level`` (``"Level 3"``) and ``type``; a file holds one object (the original layout, one file per
  problem), a list of objects, or JSONL; a directory is read recursively.

Malformed records raise :class:`~agentsearch.errors.DataFileError` naming the file and line.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentsearch.envs.base import check_split
from agentsearch.envs.math.verify import final_answer
from agentsearch.errors import DataFileError
from agentsearch.files import open_maybe_gzipped
from agentsearch.paths import data_dir

__all__ = [
    "MathProblem",
    "load_gsm8k",
    "load_math",
    "load_problems",
    "read_problems",
    "shipped_problems",
    "split_solution",
    "write_problems",
]

_CALCULATOR = re.compile(r"<<[^<>]*>>")
_LEVEL = re.compile(r"(\d+)")


@dataclass(frozen=True)
class MathProblem:
    """One problem with its gold answer and a reference solution split into steps.

    Attributes:
        id: unique task id (``gsm-synth-test-00042``, ``gsm8k-17``, ``math-algebra-3``).
        question: the problem statement.
        answer: the gold final answer, as text (``"42"``, ``"\\frac{3}{4}"``).
        steps: the reference solution, one reasoning step each; the last one states the answer.
        level: difficulty (number of operations for generated problems, 1-5 for MATH).
        topic: subject (``money``, ``rates`` ... for generated problems; MATH's ``type``).
        expr: the generator's expression tree (nested ``[op, left, right]`` lists with number
            strings as leaves) from which ``answer`` is recomputed in tests; ``None`` elsewhere.
    """

    id: str
    question: str
    answer: str
    steps: tuple[str, ...]
    level: int = 0
    topic: str = ""
    expr: Any = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["steps"] = list(self.steps)
        return record


# ---------------------------------------------------------------------------- agentsearch format
def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open_maybe_gzipped(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataFileError(path, line_number, f"invalid JSON: {err.msg}") from None
            if not isinstance(record, dict):
                raise DataFileError(path, line_number, f"expected a JSON object, got {type(record).__name__}")
            yield line_number, record


def _require(record: dict[str, Any], key: str, kind: type, path: Path, line: int | None) -> Any:
    if key not in record:
        raise DataFileError(path, line, f"missing field {key!r}")
    value = record[key]
    if not isinstance(value, kind):
        raise DataFileError(
            path, line, f"field {key!r} should be {kind.__name__}, got {type(value).__name__}"
        )
    return value


def read_problems(path: str | Path) -> list[MathProblem]:
    """Read problems in agentsearch's own JSONL format (optionally gzipped), as written by
    :func:`write_problems` and shipped in ``data/math/``."""
    path = Path(path)
    problems = []
    for line, record in _json_lines(path):
        steps = _require(record, "steps", list, path, line)
        if not steps or not all(isinstance(step, str) for step in steps):
            raise DataFileError(path, line, "field 'steps' should be a non-empty list of strings")
        problems.append(
            MathProblem(
                id=_require(record, "id", str, path, line),
                question=_require(record, "question", str, path, line),
                answer=_require(record, "answer", str, path, line),
                steps=tuple(steps),
                level=int(record.get("level", 0)),
                topic=str(record.get("topic", "")),
                expr=record.get("expr"),
            )
        )
    return problems


def write_problems(problems: Sequence[MathProblem], path: str | Path) -> None:
    """Write problems as JSONL, gzipped when ``path`` ends in ``.gz`` (deterministic bytes)."""
    path = Path(path)
    text = "".join(json.dumps(problem.to_json(), ensure_ascii=False) + "\n" for problem in problems)
    if path.suffix == ".gz":
        with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as handle:
            handle.write(text.encode("utf-8"))
    else:
        path.write_text(text, encoding="utf-8")


@functools.cache
def _shipped(split: str) -> tuple[MathProblem, ...]:
    return tuple(read_problems(data_dir("math", f"{split}.jsonl.gz")))


def shipped_problems(split: str) -> tuple[MathProblem, ...]:
    """The generated GSM8K-style problems shipped in ``data/math/`` (``train``, ``eval`` or ``test``)."""
    check_split(split)
    return _shipped(split)


# ---------------------------------------------------------------------------- GSM8K
def load_gsm8k(path: str | Path, *, prefix: str = "gsm8k") -> list[MathProblem]:
    """Load GSM8K JSONL (``question``, ``answer`` ending in ``#### N``).

    Each solution line becomes a step (calculator annotations removed) and a final step
    ``The answer is N.`` is appended, as MCTS-DPO does.
    """
    path = Path(path)
    problems = []
    for index, (line, record) in enumerate(_json_lines(path)):
        question = _require(record, "question", str, path, line)
        solution = _require(record, "answer", str, path, line)
        if "####" not in solution:
            raise DataFileError(path, line, "field 'answer' does not end in '#### <number>'")
        reasoning, _, final = solution.rpartition("####")
        answer = final.strip().replace(",", "")
        if not answer:
            raise DataFileError(path, line, "empty answer after '####'")
        steps = [_CALCULATOR.sub("", step).strip() for step in reasoning.splitlines()]
        steps = [step for step in steps if step]
        steps.append(f"The answer is {answer}.")
        problems.append(
            MathProblem(id=f"{prefix}-{index}", question=question, answer=answer, steps=tuple(steps))
        )
    return problems


# ---------------------------------------------------------------------------- MATH
def split_solution(solution: str) -> tuple[str, ...]:
    """Split a MATH solution into steps: one per sentence, never inside ``$...$``, ``$$...$$`` or
    ``\\[...\\]`` math (where a period is part of a number or a formula).

    >>> split_solution("We have $x = 2.5$. So $2x = 5$.\\nThus $2x + 1 = 6$.")
    ('We have $x = 2.5$.', 'So $2x = 5$.', 'Thus $2x + 1 = 6$.')
    """
    steps, start, in_math, pos = [], 0, False, 0
    while pos < len(solution):
        if solution.startswith("$$", pos) or solution[pos] == "$":
            in_math = not in_math
            pos += 2 if solution.startswith("$$", pos) else 1
            continue
        if solution.startswith(("\\[", "\\]"), pos):
            in_math = solution[pos + 1] == "["
            pos += 2
            continue
        end_of_sentence = solution[pos] in ".!?" and (pos + 1 == len(solution) or solution[pos + 1].isspace())
        if not in_math and (end_of_sentence or solution[pos] == "\n"):
            steps.append(solution[start : pos + 1])
            start = pos + 1
        pos += 1
    steps.append(solution[start:])
    return tuple(step.strip() for step in steps if step.strip())


def _math_record(record: Any, path: Path, line: int | None, index: int, prefix: str) -> MathProblem:
    if not isinstance(record, dict):
        raise DataFileError(path, line, f"expected a JSON object, got {type(record).__name__}")
    problem = _require(record, "problem", str, path, line)
    solution = _require(record, "solution", str, path, line)
    answer = final_answer(solution) if "\\boxed" in solution or "\\fbox" in solution else None
    if answer is None:
        raise DataFileError(path, line, "field 'solution' has no complete \\boxed{...} answer")
    level_match = _LEVEL.search(str(record.get("level", "")))
    topic = str(record.get("type", ""))
    steps = split_solution(solution)
    slug = re.sub(r"[^a-z0-9]+", "-", topic.lower()).strip("-")
    problem_id = f"{prefix}-{slug}-{index}" if slug else f"{prefix}-{index}"
    return MathProblem(
        id=problem_id,
        question=problem,
        answer=answer,
        steps=steps,
        level=int(level_match.group(1)) if level_match else 0,
        topic=topic,
    )


def _math_file_records(path: Path) -> Iterator[tuple[int | None, Any]]:
    if path.suffix == ".jsonl" or path.name.endswith(".jsonl.gz"):
        yield from _json_lines(path)
        return
    with open_maybe_gzipped(path) as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as err:
            raise DataFileError(path, err.lineno, f"invalid JSON: {err.msg}") from None
    if isinstance(data, list):
        # A list has no per-record line numbers; name the record's position instead.
        for position, record in enumerate(data):
            if not isinstance(record, dict):
                raise DataFileError(path, None, f"record {position}: expected a JSON object")
            yield None, record
    else:
        yield None, data


def load_math(path: str | Path, *, prefix: str = "math") -> list[MathProblem]:
    """Load MATH problems from a ``.json`` file (one object or a list), a JSONL file, or a directory
    of them (read recursively, in sorted order)."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".jsonl")) if path.is_dir() else [path]
    problems = []
    for file in files:
        for line, record in _math_file_records(file):
            problems.append(_math_record(record, file, line, len(problems), prefix))
    return problems


def load_problems(path: str | Path, *, tag: str = "") -> list[MathProblem]:
    """Load a file or directory in any supported format, told apart by its first record's fields.

    GSM8K and MATH records get ids ``gsm8k-<tag>-<n>`` / ``math-<tag>-<type>-<n>`` (``tag`` is
    typically the split, so two files' ids never collide); agentsearch files keep their own ids.
    """
    path = Path(path)
    gsm8k_prefix, math_prefix = (f"gsm8k-{tag}", f"math-{tag}") if tag else ("gsm8k", "math")
    if path.is_dir() or path.suffix == ".json":
        return load_math(path, prefix=math_prefix)
    for _, record in _json_lines(path):
        if "steps" in record and "id" in record:
            return read_problems(path)
        if "problem" in record and "solution" in record:
            return load_math(path, prefix=math_prefix)
        return load_gsm8k(path, prefix=gsm8k_prefix)
    raise DataFileError(path, None, "the file holds no problems")
