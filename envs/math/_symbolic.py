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
#: Two exact constants whose numeric values agree to this many digits are taken as equal
#: (sympy's ``simplify`` misses some identities, e.g. nested radicals).
EXACT_DIGITS = 30


def _numeric(value: Any) -> complex | None:
    import sympy

    number = sympy.N(value, EXACT_DIGITS + 5)
    if not number.is_number or number.has(sympy.oo, sympy.zoo, sympy.nan, -sympy.oo):
        return None
    return complex(number)


def symbolic_equal(pred: str, gold: str, approximate: bool) -> bool:
    """Whether two normalised answers are equal as sympy expressions."""
    import sympy
    from agentsearch.envs.math.expr import check_size, parse, to_sympy

    pred_node, gold_node = parse(pred), parse(gold)
    check_size(pred_node)
    check_size(gold_node)
    a, b = to_sympy(pred_node), to_sympy(gold_node)
    if a == b:
        return True
    if a.free_symbols or b.free_symbols:
        if a.free_symbols != b.free_symbols:
            return False
        return sympy.simplify(a - b) == 0 or sympy.expand(a - b) == 0
    va, vb = _numeric(a), _numeric(b)
    if va is None or vb is None:
        return False
    scale = max(abs(va), abs(vb))
    tolerance = REL_TOL if approximate else 10.0 ** (-EXACT_DIGITS)
    return abs(va - vb) <= tolerance * scale or (scale == 0 and va == vb)


def main() -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ValueError, OSError):
        pass
    import sympy  # noqa: F401  (import before "ready" so the first question does not pay for it)
    from agentsearch.envs.math import expr  # noqa: F401

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
