"""The symbolic-equivalence worker: ``python -m agentsearch.envs.math._symbolic``.

Reads one JSON request per line (``{"pred": str, "gold": str, "places": int | null}``, both answers
already normalised, ``places`` those of a side rounded to a decimal, ``null`` when both are exact),
writes ``true`` or ``false`` per line. Its parent (:mod:`.verify`) kills it when an answer takes
longer than its budget, so nothing here needs its own timeout. Answers are parsed by :mod:`.expr`
and built with sympy constructors; no string reaches ``sympify``.
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

#: Address-space cap of the worker: a hostile answer may exhaust it, not the machine.
MEMORY_LIMIT_BYTES = 4 << 30
#: Digits of the numeric evaluations; exact answers must agree to within 10**-EXACT_DIGITS (relative).
EXACT_DIGITS = 30
#: Random points at which expressions with variables are compared, and how many must be defined.
POINTS, MIN_DEFINED_POINTS = 6, 3
#: Relative digits values at a point must share (evaluating there loses some to cancellation).
POINT_DIGITS = 20


def _value(expression: Any, subs: dict[Any, Any] | None = None) -> Any | None:
    """The numeric value of ``expression`` (at ``subs``) as a sympy number of ``EXACT_DIGITS + 10``
    digits (no float overflow on huge values), or ``None`` where it is undefined or infinite."""
    import sympy

    number = expression.evalf(EXACT_DIGITS + 10, subs=subs)
    if not number.is_number or number.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        return None
    return number


def _close(a: Any, b: Any, places: int | None, digits: int = EXACT_DIGITS) -> bool:
    """Equal to ``digits`` relative digits, or, for a side rounded to ``places``, within half a unit
    of that last place."""
    if places is not None:
        return bool(abs(a - b) <= 0.5 * 10.0 ** (-places))
    scale = max(abs(a), abs(b))
    return bool(abs(a - b) <= 10.0 ** (-digits) * scale) if scale != 0 else True


def symbolic_equal(pred: str, gold: str, places: int | None) -> bool:
    """Whether two normalised answers are equal as expressions.

    Constants compare by value (to ``EXACT_DIGITS`` digits; to half a unit of the last place where a
    side is a decimal rounded to ``places``).
    Expressions with variables compare by value at ``POINTS`` seeded random points mixing signs
    (randomised identity testing, which catches e.g. ``sqrt(x^2) != x``); no ``simplify``, whose run
    time is unpredictable.
    """
    import random

    import sympy

    from agentsearch.envs.math.expr import check_size, parse, to_sympy

    pred_node, gold_node = parse(pred), parse(gold)
    check_size(pred_node)
    check_size(gold_node)
    a, b = to_sympy(pred_node), to_sympy(gold_node)
    if a == b:
        return True
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    if not symbols:
        va, vb = _value(a), _value(b)
        return va is not None and vb is not None and _close(va, vb, places)
    rng = random.Random(0)
    defined = 0
    for _ in range(POINTS):
        point = {symbol: sympy.Rational(rng.choice([-1, 1]) * rng.randint(11, 389), 97) for symbol in symbols}
        va, vb = _value(a, point), _value(b, point)
        if va is None or vb is None:
            continue  # a pole or branch point: try another
        if not _close(va, vb, places, POINT_DIGITS):
            return False
        defined += 1
    return defined >= MIN_DEFINED_POINTS


def main() -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ValueError, OSError):
        pass
    # Pay imports and sympy's lazy initialisation before "ready", not inside the first question.
    symbolic_equal("\\sin(x)^2+\\cos(x)^2", "1", places=None)

    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            places = request["places"]
            places = None if places is None else int(places)
            equal = symbolic_equal(str(request["pred"]), str(request["gold"]), places)
        except Exception:  # noqa: BLE001  (any failure on hostile input is a "not equal")
            equal = False
        sys.stdout.write("true\n" if equal else "false\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
