"""The symbolic-equivalence worker: ``python -m agentsearch.envs.math._symbolic``.

Reads one JSON request per line (``{"pred": str, "gold": str, "approximate": bool}``, both answers
already normalised), writes ``true`` or ``false`` per line. Its parent (:mod:`.verify`) kills it when
an answer takes longer than its budget, so nothing here needs its own timeout. Answers are parsed by
:mod:`.expr` and built with sympy constructors; no string reaches ``sympify``.
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

#: Address-space cap of the worker: a hostile answer may exhaust it, not the machine.
MEMORY_LIMIT_BYTES = 4 << 30
#: Relative tolerance of the numeric comparison when a side is a decimal literal.
REL_TOL = 1e-4
#: Digits of the numeric evaluations; exact answers must agree to within 10**-EXACT_DIGITS (relative).
EXACT_DIGITS = 30
#: Random points at which expressions with variables are compared, and how many must be defined.
POINTS, MIN_DEFINED_POINTS = 6, 3


def _value(expression: Any, subs: dict[Any, Any] | None = None) -> Any | None:
    """The numeric value of ``expression`` (at ``subs``) as a sympy number of ``EXACT_DIGITS + 10``
    digits (no float overflow on huge values), or ``None`` where it is undefined or infinite."""
    import sympy

    number = expression.evalf(EXACT_DIGITS + 10, subs=subs)
    if not number.is_number or number.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        return None
    return number


def _close(a: Any, b: Any, tolerance: float) -> bool:
    scale = max(abs(a), abs(b))
    return bool(abs(a - b) <= tolerance * scale) if scale != 0 else True


def symbolic_equal(pred: str, gold: str, approximate: bool) -> bool:
    """Whether two normalised answers are equal as expressions.

    Constants compare by value (to ``EXACT_DIGITS`` digits, or ``REL_TOL`` when a side is a decimal).
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
    tolerance = REL_TOL if approximate else 10.0 ** (-EXACT_DIGITS)
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    if not symbols:
        va, vb = _value(a), _value(b)
        return va is not None and vb is not None and _close(va, vb, tolerance)
    rng = random.Random(0)
    defined = 0
    for _ in range(POINTS):
        point = {symbol: sympy.Rational(rng.choice([-1, 1]) * rng.randint(11, 389), 97) for symbol in symbols}
        va, vb = _value(a, point), _value(b, point)
        if va is None or vb is None:
            continue  # a pole or branch point: try another
        if not _close(va, vb, max(tolerance, 1e-20)):
            return False
        defined += 1
    return defined >= MIN_DEFINED_POINTS


def main() -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ValueError, OSError):
        pass
    # Pay imports and sympy's lazy initialisation before "ready", not inside the first question.
    symbolic_equal("\\sin(x)^2+\\cos(x)^2", "1", approximate=False)

    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            equal = symbolic_equal(str(request["pred"]), str(request["gold"]), bool(request["approximate"]))
        except Exception:  # noqa: BLE001  (any failure on hostile input is a "not equal")
            equal = False
        sys.stdout.write("true\n" if equal else "false\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
