"""Final-answer extraction and a safe, bounded equivalence check for math answers.

The conventions follow MCTS-DPO's ``extract_answer``/``math_equal`` and MATH's ``strip_string``
(see ``shared/reference/math.md``), with three deliberate differences, all to keep rewards honest:

* Exact answers compare exactly: ``123450`` is not ``123456`` even though they are within 1e-4.
  A tolerance (relative 1e-4, or "rounded to the places written") applies only when a side is a
  decimal literal, and ``x%`` may stand for ``x/100`` only when the percent sign is written.
* Digits are ASCII only: ``\\boxed{٣}`` does not match ``3``.
* Nothing is ever ``eval``-ed: answers are parsed by :mod:`agentsearch.envs.math.expr`, and the
  symbolic check (sympy) runs in a separate worker process that is killed when it overruns its time
  budget, so even a hang inside sympy's or GMP's C code costs at most ``timeout`` seconds.

Typical use::

    >>> answer = extract_answer("So she pays 3 * 4 = 12 dollars. The answer is $12.")
    >>> answer, is_equivalent(answer, "12")
    ('$12', True)
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from agentsearch.envs.math.expr import (
    MAX_ANSWER_CHARS,
    Node,
    ParseError,
    check_size,
    parse,
    to_fraction,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "extract_answer",
    "final_answer",
    "has_final_answer",
    "is_equivalent",
    "normalize_answer",
    "shutdown_worker",
    "start_worker",
    "warm_up_worker",
]

logger = logging.getLogger(__name__)

#: Default bound, in seconds, on one :func:`is_equivalent` call.
DEFAULT_TIMEOUT = 2.0
#: Relative tolerance when one side is a decimal literal (MCTS-DPO's ``rel_tol``).
REL_TOL = Fraction(1, 10_000)
#: How many ``\boxed`` occurrences, from the last, are tried before giving up on a text.
_MAX_BOXED_TRIES = 4

_BOXED = re.compile(r"\\(?:boxed|fbox)\b")
_ANSWER_IS = re.compile(r"answer is", re.IGNORECASE)
_NUMBER = re.compile(r"-?[0-9][0-9,]*(?:\.[0-9]+)?|-?\.[0-9]+", re.ASCII)
_THOUSANDS = re.compile(r"^(-?[0-9]{1,3}(?:,[0-9]{3})+)(?=$|\.[0-9]|\s)", re.ASCII)
_TRAILING_WORDS = re.compile(r"^(-?[0-9.,/]+)\s+(?:[A-Za-z]{2,}\.?\s*)+$", re.ASCII)
_SHORT_LHS = re.compile(r"^[A-Za-z][A-Za-z0-9_]?\s*=\s*(?=\S)", re.ASCII)
_TEXT_COMMAND = re.compile(r"\\(?:text|textbf|mbox|mathrm)\{([^{}]*)\}")


# ---------------------------------------------------------------------------- extraction
def _braced(text: str, start: int) -> str | None:
    """The content of the brace group opening at ``text[start]``, or ``None`` if unterminated.

    Scans at most ``MAX_ANSWER_CHARS`` characters: no legitimate final answer is longer, and the cap
    keeps hostile texts (50 kB of nested braces) linear to scan.
    """
    depth = 0
    end = min(len(text), start + MAX_ANSWER_CHARS + 2)
    for pos in range(start, end):
        char = text[pos]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : pos]
    return None


def _last_boxed(text: str) -> str | None:
    matches = list(_BOXED.finditer(text))
    for match in reversed(matches[-_MAX_BOXED_TRIES:]):
        rest = match.end()
        while rest < len(text) and text[rest] == " ":
            rest += 1
        if rest < len(text) and text[rest] == "{":
            content = _braced(text, rest)
            if content is not None:
                return content
        elif rest > match.end():  # "\boxed 5": up to the next space or dollar sign
            token = re.match(r"[^\s$]+", text[rest:])
            if token:
                return token.group()
    return None


def _after_answer_is(text: str) -> str | None:
    matches = list(_ANSWER_IS.finditer(text))
    if not matches:
        return None
    rest = text[matches[-1].end() :].strip()
    rest = rest.split("\n", 1)[0].strip().lstrip(":").strip().rstrip("./").strip()
    return rest[: MAX_ANSWER_CHARS + 1] or None


def has_final_answer(text: str) -> bool:
    """Whether ``text`` states a final answer (``\\boxed{...}``, ``\\boxed`` or "... answer is ...").

    A step that does so ends the episode, even when the answer itself is unreadable (an unterminated
    ``\\boxed{``): the agent has committed to an answer.
    """
    return bool(_BOXED.search(text) or _ANSWER_IS.search(text))


def final_answer(text: str) -> str | None:
    """The final answer stated in ``text``: the last brace-matched ``\\boxed{}``, else what follows
    the last "answer is" (first line only); ``None`` when neither is there or readable."""
    boxed = _last_boxed(text)
    if boxed is not None:
        return boxed
    return _after_answer_is(text)


def extract_answer(text: str) -> str | None:
    """Like :func:`final_answer`, falling back to the last number in ``text`` (commas removed).

    This is the extraction of a whole solution, as in MCTS-DPO and Step-DPO evaluation.
    """
    answer = final_answer(text)
    if answer is not None:
        return answer
    numbers = _NUMBER.findall(text)
    return numbers[-1].replace(",", "") if numbers else None


# ---------------------------------------------------------------------------- normalisation
def _strip_text_commands(answer: str) -> str:
    # A trailing \text{...} after something else is a unit ("5 \text{ cm}"); elsewhere keep the words.
    match = re.search(r"\\(?:text|mbox|mathrm)\{[^{}]*\}$", answer)
    if match and answer[: match.start()].strip():
        answer = answer[: match.start()]
    return _TEXT_COMMAND.sub(r"\1", answer)


def normalize_answer(answer: str) -> str:
    """MATH-style normalisation (``strip_string``): the canonical string of an answer.

    Removes ``$``, ``\\left``/``\\right``, ``^\\circ``, ``\\%``, spacing commands, trailing units in
    ``\\text{}`` or plain words, thousands separators, short ``x =`` prefixes, a trailing period and
    all spaces; maps ``\\dfrac``/``\\tfrac`` to ``\\frac``. Percent signs are removed here;
    :func:`is_equivalent` looks for them itself.

    >>> normalize_answer(r"x = \\dfrac{1}{2}\\text{ cm}.")
    '\\\\frac{1}{2}'
    """
    answer = answer.strip()[: MAX_ANSWER_CHARS + 1]
    answer = answer.replace("\n", " ")
    boxed = _last_boxed(answer)
    if boxed is not None and answer.lstrip().startswith("\\boxed"):
        answer = boxed
    for old, new in (
        ("\\!", ""),
        ("\\,", " "),
        ("\\;", " "),
        ("\\ ", " "),
        ("\\left", ""),
        ("\\right", ""),
        ("\\dfrac", "\\frac"),
        ("\\tfrac", "\\frac"),
        ("^{\\circ}", ""),
        ("^\\circ", ""),
        ("\\circ", ""),
        ("\\$", ""),
        ("$", ""),
        ("\\%", "%"),
        ("\\displaystyle", ""),
    ):
        answer = answer.replace(old, new)
    answer = answer.strip().rstrip(".").strip()
    answer = _strip_text_commands(answer).strip()
    answer = answer.rstrip(".").strip().rstrip("%").strip()
    answer = answer.lstrip(":").strip()
    answer = _SHORT_LHS.sub("", answer)
    answer = _THOUSANDS.sub(lambda m: m.group(1).replace(",", ""), answer)
    units = _TRAILING_WORDS.match(answer)
    if units:
        answer = units.group(1)
    answer = answer.rstrip(".")
    return re.sub(r"\s+", "", answer)


# ---------------------------------------------------------------------------- structure
@dataclass(frozen=True)
class _Answer:
    """A normalised answer split into its structure: a scalar, an ordered tuple, or a set."""

    kind: str  #: "scalar", "tuple" (brackets kept in ``brackets``) or "set"
    items: tuple[str, ...]
    brackets: str = ""
    percent: bool = False


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for pos, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:pos])
            start = pos + 1
    parts.append(text[start:])
    return parts


def _structure(raw: str) -> _Answer:
    percent = "%" in raw
    text = normalize_answer(raw)
    if text.startswith("\\{") and text.endswith("\\}"):
        return _Answer("set", tuple(_split_top_level(text[2:-2])), percent=percent)
    if len(text) >= 2 and text[0] in "([" and text[-1] in ")]":
        inner = _split_top_level(text[1:-1])
        if len(inner) > 1:
            return _Answer("tuple", tuple(inner), brackets=text[0] + text[-1], percent=percent)
    parts = _split_top_level(text)
    if len(parts) > 1:
        return _Answer("set", tuple(parts), percent=percent)
    return _Answer("scalar", (text,), percent=percent)


# ---------------------------------------------------------------------------- comparison
def _decimals(node: Node) -> int | None:
    while node.op == "neg":
        node = node.args[0]
    return node.decimals if node.op == "num" else None


def _has_decimal(node: Node) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.op == "num" and current.decimals:
            return True
        stack.extend(current.args)
    return False


def _numbers_equal(pred: Fraction, pred_node: Node, gold: Fraction, gold_node: Node) -> bool:
    if pred == gold:
        return True
    if not (_has_decimal(pred_node) or _has_decimal(gold_node)):
        return False  # two exact answers: exact comparison only
    if abs(pred - gold) <= REL_TOL * max(abs(pred), abs(gold)):
        return True
    places = _decimals(pred_node)
    # "0.33" for 1/3: the prediction is the gold answer rounded to the places it shows.
    return places is not None and places >= 2 and abs(pred - gold) <= Fraction(1, 2 * 10**places)


def _scalar_equal(pred: str, gold: str, pred_percent: bool, gold_percent: bool, deadline: float) -> bool:
    if pred == gold:
        return True
    if not pred or not gold:
        return False
    try:
        pred_node, gold_node = parse(pred), parse(gold)
        check_size(pred_node)
        check_size(gold_node)
    except ParseError:
        # Not expressions (words, multiple-choice letters ...): compare without grouping characters.
        strip = str.maketrans("", "", "{}()")
        return pred.translate(strip) == gold.translate(strip)
    try:
        pred_value, gold_value = to_fraction(pred_node), to_fraction(gold_node)
    except ParseError:
        pass
    else:
        candidates = [(pred_value, gold_value)]
        if pred_percent and not gold_percent:
            candidates.append((pred_value / 100, gold_value))
        if gold_percent and not pred_percent:
            candidates.append((pred_value, gold_value / 100))
        return any(_numbers_equal(p, pred_node, g, gold_node) for p, g in candidates)
    approximate = _has_decimal(pred_node) or _has_decimal(gold_node)
    return _WORKER.equal(pred, gold, approximate=approximate, deadline=deadline)


def _items_equal(
    preds: Sequence[str], golds: Sequence[str], percent: tuple[bool, bool], deadline: float
) -> bool:
    return len(preds) == len(golds) and all(
        _scalar_equal(p, g, *percent, deadline) for p, g in zip(preds, golds, strict=True)
    )


def _sets_equal(
    preds: Sequence[str], golds: Sequence[str], percent: tuple[bool, bool], deadline: float
) -> bool:
    if len(preds) != len(golds):
        return False
    unmatched = list(golds)
    for pred in preds:
        for index, gold in enumerate(unmatched):
            if _scalar_equal(pred, gold, *percent, deadline):
                del unmatched[index]
                break
        else:
            return False
    return True


def is_equivalent(pred: str | None, gold: str, *, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Whether the predicted answer ``pred`` means the same as ``gold``.

    Checks, in order: equal normalised strings; exact rational equality (fractions vs decimals,
    ``\\frac``, ``a/b``, powers), with tolerance only for decimal literals; tuples and intervals element
    by element (bracket types must agree); comma lists and ``\\{...\\}`` as sets; then symbolic
    equivalence with sympy: equal values to 30 digits (1e-4 for decimal answers), at seeded random
    points when there are variables.

    Never raises on hostile input and returns ``False`` when the check overruns ``timeout`` seconds.
    Every wait counts against ``timeout``: for another thread's symbolic check, and for the
    worker process to start (:func:`start_worker` or :func:`warm_up_worker` start it ahead of time).
    """
    if pred is None or not isinstance(pred, str) or not isinstance(gold, str):
        return False
    deadline = time.monotonic() + timeout
    try:
        pred_answer, gold_answer = _structure(pred), _structure(gold)
        percent = (pred_answer.percent, gold_answer.percent)
        if pred_answer.kind != gold_answer.kind:
            return False
        if pred_answer.kind == "scalar":
            return _scalar_equal(pred_answer.items[0], gold_answer.items[0], *percent, deadline)
        if pred_answer.kind == "tuple":
            return pred_answer.brackets == gold_answer.brackets and _items_equal(
                pred_answer.items, gold_answer.items, percent, deadline
            )
        return _sets_equal(pred_answer.items, gold_answer.items, percent, deadline)
    except (ArithmeticError, ValueError, RecursionError, MemoryError) as err:
        logger.debug("answer comparison failed: %r", err)
        return False


# ---------------------------------------------------------------------------- symbolic worker
class _SymbolicWorker:
    """A long-lived ``python -m agentsearch.envs.math._symbolic`` process that answers one
    equivalence question per JSON line; killed when a question overruns its budget, and replaced at
    once so its successor imports sympy while the caller carries on.

    A process (not a thread or ``signal.alarm``) because sympy can spend unbounded time inside C code
    that neither interrupts, and because it works from any thread. Every wait (for the lock, for a
    worker still starting, for the answer) comes out of the caller's budget, so a check never
    overruns it; :meth:`start` (called by :class:`~agentsearch.envs.math.env.MathEnv`) and
    :meth:`warm_up` get the worker ready before the first question needs it.
    """

    STARTUP_TIMEOUT = 120.0
    #: Consecutive failed starts after which symbolic checks are given up (they then return False).
    MAX_START_FAILURES = 3

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._lock = threading.Lock()
        self._buffer = b""
        self._start_failures = 0

    def _spawn(self) -> bool:
        """Start a worker unless one is alive; does not wait for it to be ready."""
        if self._process is not None and self._process.poll() is None:
            return True
        self._kill()
        if self._start_failures >= self.MAX_START_FAILURES:
            return False
        search_path = os.pathsep.join(filter(None, sys.path))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "agentsearch.envs.math._symbolic"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            # The parent's sys.path, so the worker imports this very package however it was found.
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": search_path},
        )
        self._ready = False
        self._buffer = b""
        return True

    def _wait_ready(self, timeout: float) -> bool:
        if self._ready:
            return True
        line = self._read_line(timeout)
        if line == b"ready":
            self._ready = True
            self._start_failures = 0
            return True
        if line is not None or (self._process is not None and self._process.poll() is not None):
            # It answered something else or died while starting: a broken installation.
            self._start_failures += 1
            if self._start_failures >= self.MAX_START_FAILURES:
                logger.warning("The symbolic math worker does not start; symbolic answers will be rejected.")
            self._kill()
        return False  # still starting: keep it for the next question

    def _read_line(self, timeout: float) -> bytes | None:
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self._process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return None
                chunk = os.read(fd, 65536)
                if not chunk:
                    return None
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.strip()

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    stream.close()
        self._process = None
        self._ready = False

    def start(self) -> None:
        """Start the worker in the background if it is not running (returns at once)."""
        with self._lock:
            self._spawn()

    def warm_up(self, timeout: float = STARTUP_TIMEOUT) -> bool:
        """Start the worker and wait until it is ready; returns whether it is."""
        with self._lock:
            return self._spawn() and self._wait_ready(timeout)

    def equal(self, pred: str, gold: str, *, approximate: bool, deadline: float) -> bool:
        if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            return False
        try:
            if not self._spawn() or not self._wait_ready(deadline - time.monotonic()):
                return False
            assert self._process is not None and self._process.stdin is not None
            request = json.dumps({"pred": pred, "gold": gold, "approximate": approximate})
            try:
                self._process.stdin.write(request.encode() + b"\n")
                self._process.stdin.flush()
            except OSError:
                self._kill()
                return False
            line = self._read_line(deadline - time.monotonic())
            if line is None:
                logger.debug("symbolic check overran its budget: %r vs %r", pred[:80], gold[:80])
                self._kill()
                self._spawn()  # the successor starts now, not when the next question comes
                return False
            return line == b"true"
        finally:
            self._lock.release()

    def shutdown(self) -> None:
        with self._lock:
            self._kill()


_WORKER = _SymbolicWorker()
atexit.register(_WORKER.shutdown)


def start_worker() -> None:
    """Start the symbolic worker in the background, so it is ready before the first symbolic answer."""
    _WORKER.start()


def warm_up_worker(timeout: float = _SymbolicWorker.STARTUP_TIMEOUT) -> bool:
    """Start the symbolic worker and wait until it is ready; returns whether it is running."""
    return _WORKER.warm_up(timeout)


def shutdown_worker() -> None:
    """Stop the symbolic worker (it restarts on demand)."""
    _WORKER.shutdown()
