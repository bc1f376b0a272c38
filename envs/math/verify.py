"""Final-answer extraction and a safe, bounded equivalence check for math answers.

The conventions follow MCTS-DPO's ``extract_answer``/``math_equal`` and MATH's ``strip_string``
(see ``shared/reference/math.md``), with three deliberate differences, all to keep rewards honest:

* Exact answers compare exactly: GSM8K-style answers are rationals, so ``11206.0`` is not ``11205``
  and ``145.01`` is not ``145``, however close. A tolerance applies only where exact digits cannot
  be written, and it is bounded by the digits shown: a decimal for a non-terminating rational
  (``0.33`` for ``1/3``) or for an irrational one (``1.5708`` for ``\\pi/2``) must be the other
  side rounded to its places; and a prediction showing at least four more places than the gold
  answer needs may be one unit of its last place off (``17.99999`` for ``18``, a float's rounding).
* ``x%`` stands for ``x/100`` only when the percent sign is written, and for the bare ``x`` only
  when the question may ask for a percentage (``percent``), never against a currency amount:
  ``539.5%`` is not ``$539.50``.
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

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
    "asks_for_percent",
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
_T = TypeVar("_T")

#: Default bound, in seconds, on one :func:`is_equivalent` call.
DEFAULT_TIMEOUT = 2.0
#: Fewest places a predicted decimal needs to stand for a non-terminating or irrational answer
#: (``0.33`` for ``1/3``, not ``0.3``).
MIN_ROUNDED_PLACES = 2
#: A prediction with at least this many places more than the gold answer needs, one unit of its last
#: place off, is the gold value computed in floating point (``17.99999``); GSM8K answers need 0-2.
FLOAT_NOISE_EXTRA_PLACES = 4
FLOAT_NOISE_MIN_PLACES = 5
#: How many ``\boxed`` occurrences, from the last, are tried before giving up on a text.
_MAX_BOXED_TRIES = 4

_BOXED = re.compile(r"\\(?:boxed|fbox)\b")
_ANSWER_IS = re.compile(r"answer is", re.IGNORECASE)
_NUMBER = re.compile(r"-?[0-9][0-9,]*(?:\.[0-9]+)?|-?\.[0-9]+", re.ASCII)
_THOUSANDS = re.compile(r"^(-?[0-9]{1,3}(?:,[0-9]{3})+)(?=$|\.[0-9]|\s)", re.ASCII)
_TRAILING_WORDS = re.compile(r"^(-?[0-9.,/]+)\s+(?:[A-Za-z]{2,}\.?\s*)+$", re.ASCII)
_SHORT_LHS = re.compile(r"^[A-Za-z][A-Za-z0-9_]?\s*=\s*(?=\S)", re.ASCII)
_TEXT_COMMAND = re.compile(r"\\(?:text|textbf|mbox|mathrm)\{([^{}]*)\}")
_PERCENT_WORD = re.compile(r"\bper\s?cent\b", re.IGNORECASE)
_CURRENCY = re.compile(r"[$\u20ac\u00a3]|\\(?:euro|pounds)\b|\b(?:dollars?|euros?)\b", re.IGNORECASE)
# Mixed numbers, ``1 1/2`` and ``1\frac{1}{2}``: three halves, not a product (nor ``11/2``).
_MIXED = (
    re.compile(r"^(-?)([0-9]{1,20})\s+([0-9]{1,20})/([0-9]{1,20})$", re.ASCII),
    re.compile(r"^(-?)([0-9]{1,20})\s*\\frac\{([0-9]{1,20})\}\{([0-9]{1,20})\}$", re.ASCII),
)
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9, "dozen": 12}
_ASKS_PERCENT = re.compile(r"\bper\s?cent(?:age)?s?\b", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_IMPERATIVE = re.compile(r"\s*(?:express|give|write|state|enter|round|answer)\b", re.IGNORECASE)


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
        ("\u20ac", ""),
        ("\u00a3", ""),
        ("\\euro", ""),
        ("\\pounds", ""),
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
        scale = _SCALES.get(answer[units.end(1) :].split()[0].lower().rstrip("."))
        # "2.5 million" is 2500000, not 2.5; other words are units ("18 apples").
        answer = units.group(1) if scale is None else f"{units.group(1)}\\times{scale}"
    answer = _mixed_number(answer.rstrip("."))
    return re.sub(r"\s+", "", answer)


def _mixed_number(answer: str) -> str:
    """``1 1/2`` or ``1\\frac{1}{2}`` as ``\\frac{3}{2}`` (proper fractions only; others stay products)."""
    for pattern in _MIXED:
        match = pattern.match(answer)
        if match:
            sign, whole, numerator, denominator = match.groups()
            if 0 < int(numerator) < int(denominator):
                return f"{sign}\\frac{{{int(whole) * int(denominator) + int(numerator)}}}{{{denominator}}}"
    return answer


# ---------------------------------------------------------------------------- structure
@dataclass(frozen=True)
class _Answer:
    """A normalised answer split into its structure: a scalar, an ordered tuple, or a set."""

    kind: str  #: "scalar", "tuple" (brackets kept in ``brackets``) or "set"
    items: tuple[str, ...]
    brackets: str = ""
    percent: bool = False  #: written with ``%`` or "percent"
    currency: bool = False  #: written with a currency sign or word (``$``, "dollars")


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
    clipped = raw[: MAX_ANSWER_CHARS + 1]
    marks = {"percent": "%" in clipped or bool(_PERCENT_WORD.search(clipped))}
    marks["currency"] = bool(_CURRENCY.search(clipped))
    text = normalize_answer(raw)
    if text.startswith("\\{") and text.endswith("\\}"):
        return _Answer("set", tuple(_split_top_level(text[2:-2])), **marks)
    if len(text) >= 2 and text[0] in "([" and text[-1] in ")]":
        inner = _split_top_level(text[1:-1])
        if len(inner) > 1:
            return _Answer("tuple", tuple(inner), brackets=text[0] + text[-1], **marks)
    parts = _split_top_level(text)
    if len(parts) > 1:
        return _Answer("set", tuple(parts), **marks)
    return _Answer("scalar", (text,), **marks)


def asks_for_percent(question: str) -> bool:
    """Whether ``question`` asks for a percentage ("What percent of ...?", "Express it as a percent.").

    Only the asking sentences count (those ending in ``?`` and imperatives such as "Express ..."), so
    "She spends 20 percent of it. How much is left?" asks for an amount. Where it asks for a
    percentage, ``50%`` and a gold ``50`` agree (:func:`is_equivalent`'s ``asks_percent``).
    """
    sentences = _SENTENCE.findall(question[-4 * MAX_ANSWER_CHARS :])
    return any(
        (sentence.rstrip().endswith("?") or _IMPERATIVE.match(sentence)) and _ASKS_PERCENT.search(sentence)
        for sentence in sentences
    )


# ---------------------------------------------------------------------------- comparison
@dataclass(frozen=True)
class _Number:
    """An exact value, and its decimal places when it was written as one decimal literal."""

    value: Fraction
    places: int | None = None


def _lone_decimal_places(node: Node) -> int | None:
    while node.op == "neg":
        node = node.args[0]
    return node.decimals if node.op == "num" else None


def _places_needed(value: Fraction) -> int | None:
    """Decimal places that write ``value`` exactly (``0.25``: 2), or ``None`` if it never terminates."""
    denominator, twos, fives = value.denominator, 0, 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    return max(twos, fives) if denominator == 1 else None


def _rounds_to(exact: Fraction, decimal: Fraction, places: int) -> bool:
    """Whether ``decimal`` is ``exact`` rounded to ``places`` places."""
    return abs(exact - decimal) <= Fraction(1, 2 * 10**places)


def _numbers_equal(pred: _Number, gold: _Number) -> bool:
    if pred.value == gold.value:
        return True
    pred_needs, gold_needs = _places_needed(pred.value), _places_needed(gold.value)
    if pred.places is not None and pred.places >= MIN_ROUNDED_PLACES and gold_needs is None:
        return _rounds_to(gold.value, pred.value, pred.places)  # "0.33" for 1/3
    if gold.places is not None and pred_needs is None:
        return _rounds_to(pred.value, gold.value, gold.places)  # 1/3 for a gold "0.33"
    # Two terminating values are exact; only a float's last-place error is forgiven (see the module doc).
    return (
        pred.places is not None
        and gold_needs is not None
        and pred.places >= max(FLOAT_NOISE_MIN_PLACES, gold_needs + FLOAT_NOISE_EXTRA_PLACES)
        and abs(pred.value - gold.value) <= Fraction(1, 10**pred.places)
    )


def _per_hundred(number: _Number) -> _Number:
    return _Number(number.value / 100, None if number.places is None else number.places + 2)


@dataclass(frozen=True)
class _Context:
    """What one comparison knows beyond the two scalars."""

    pred_percent: bool
    gold_percent: bool
    bare_percent: bool  #: whether "50%" may also mean a bare 50 (the question may ask for a percentage)
    deadline: float


def _readings(pred: _T, gold: _T, context: _Context, per_hundred: Callable[[_T], _T]) -> list[tuple[_T, _T]]:
    """The (prediction, gold) pairs the percent signs allow: ``x%`` is ``x/100``, and also ``x`` when
    ``bare_percent``; two percentages compare as written."""
    if context.pred_percent == context.gold_percent:
        return [(pred, gold)]
    if context.pred_percent:
        pairs = [(per_hundred(pred), gold)]
    else:
        pairs = [(pred, per_hundred(gold))]
    if context.bare_percent:
        pairs.append((pred, gold))
    return pairs


def _symbolic_places(pred_node: Node, gold_node: Node) -> int | None:
    """The places an irrational answer is compared to: those of a decimal gold (its digits bound
    the tolerance), else those of a decimal prediction with enough places; ``None``: exactly."""
    gold_places = _lone_decimal_places(gold_node)
    if gold_places is not None:
        return gold_places
    pred_places = _lone_decimal_places(pred_node)
    return pred_places if pred_places is not None and pred_places >= MIN_ROUNDED_PLACES else None


def _scalar_equal(pred: str, gold: str, context: _Context) -> bool:
    if pred == gold and (context.pred_percent == context.gold_percent or context.bare_percent):
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
        pred_value = _Number(to_fraction(pred_node), _lone_decimal_places(pred_node))
        gold_value = _Number(to_fraction(gold_node), _lone_decimal_places(gold_node))
    except ParseError:
        pass
    else:
        return any(_numbers_equal(p, g) for p, g in _readings(pred_value, gold_value, context, _per_hundred))
    places = _symbolic_places(pred_node, gold_node)
    return any(
        _WORKER.equal(p, g, places=places, deadline=context.deadline)
        for p, g in _readings(pred, gold, context, lambda text: f"({text})/100")
    )


def _items_equal(preds: Sequence[str], golds: Sequence[str], context: _Context) -> bool:
    return len(preds) == len(golds) and all(
        _scalar_equal(p, g, context) for p, g in zip(preds, golds, strict=True)
    )


def _sets_equal(preds: Sequence[str], golds: Sequence[str], context: _Context) -> bool:
    if len(preds) != len(golds):
        return False
    unmatched = list(golds)
    for pred in preds:
        for index, gold in enumerate(unmatched):
            if _scalar_equal(pred, gold, context):
                del unmatched[index]
                break
        else:
            return False
    return True


def is_equivalent(
    pred: str | None,
    gold: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    asks_percent: bool | None = None,
) -> bool:
    """Whether the predicted answer ``pred`` means the same as ``gold``.

    Checks, in order: equal normalised strings; exact rational equality (fractions, decimals,
    ``\\frac``, mixed numbers, ``a/b``, powers, ``x%`` as ``x/100``), where a decimal may stand for a
    non-terminating rational only rounded to its places (see the module doc); tuples and intervals
    element by element (bracket types must agree); comma lists and ``\\{...\\}`` as sets; then
    symbolic equivalence with sympy: equal values to 30 digits, at seeded random points when there
    are variables, or, where one side is a decimal, to half a unit of that decimal's last place.

    Args:
        pred: the predicted answer (``None`` is never equivalent).
        gold: the gold answer.
        timeout: the bound in seconds on the whole check; an overrun returns ``False``. Every wait
            counts against it: for another thread's symbolic check, and for the worker process to
            start (:func:`start_worker` or :func:`warm_up_worker` start it ahead of time).
        asks_percent: whether the question asks for a percentage (:func:`asks_for_percent`): then
            ``50%`` also matches a gold ``50``; when ``False`` a percent sign only means ``/100``.
            ``None`` (unknown) allows the bare reading unless either side names a currency.

    Never raises on hostile input.
    """
    if pred is None or not isinstance(pred, str) or not isinstance(gold, str):
        return False
    deadline = time.monotonic() + timeout
    try:
        pred_answer, gold_answer = _structure(pred), _structure(gold)
        if asks_percent is None:
            asks_percent = not (pred_answer.currency or gold_answer.currency)
        context = _Context(pred_answer.percent, gold_answer.percent, asks_percent, deadline)
        if pred_answer.kind != gold_answer.kind:
            return False
        if pred_answer.kind == "scalar":
            return _scalar_equal(pred_answer.items[0], gold_answer.items[0], context)
        if pred_answer.kind == "tuple":
            return pred_answer.brackets == gold_answer.brackets and _items_equal(
                pred_answer.items, gold_answer.items, context
            )
        return _sets_equal(pred_answer.items, gold_answer.items, context)
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
        self._buffer = b""  # bytes of a dead worker never answer its successor's question

    def start(self) -> None:
        """Start the worker in the background if it is not running (returns at once)."""
        with self._lock:
            self._spawn()

    def warm_up(self, timeout: float = STARTUP_TIMEOUT) -> bool:
        """Start the worker and wait until it is ready; returns whether it is."""
        with self._lock:
            return self._spawn() and self._wait_ready(timeout)

    def equal(self, pred: str, gold: str, *, places: int | None, deadline: float) -> bool:
        if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            return False
        try:
            if not self._spawn() or not self._wait_ready(deadline - time.monotonic()):
                return False
            assert self._process is not None and self._process.stdin is not None
            request = json.dumps({"pred": pred, "gold": gold, "places": places})
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
            if time.monotonic() > deadline:
                # Answered after the budget (this thread was descheduled between its last look at the
                # clock and the wait): an overrun all the same, though the idle worker stays.
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
