"""A small, safe parser for math answers: plain text (``3/4``, ``2**10``) and MATH-style LaTeX.

Model output is hostile text, so answers are never handed to ``eval``, ``exec`` or
``sympy.sympify`` (which evals). This module tokenizes an answer itself, parses it into a
:class:`Node` tree with hard limits on length, token count and nesting depth, and evaluates it
exactly with :class:`fractions.Fraction` where it is a rational number. :func:`to_sympy` builds a
sympy expression from the same tree with sympy's constructors, for the symbolic check.

Size guards run *before* any arithmetic: a power whose exponent is not a small integer, or whose
result would exceed :data:`MAX_POWER_BITS`, is refused (:class:`TooLarge`), so ``9**9**9**9`` or
``10^{10^{10^{10}}}`` cost microseconds instead of hanging inside GMP's C code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = [
    "MAX_ANSWER_CHARS",
    "MAX_DEPTH",
    "MAX_POWER_BITS",
    "MAX_TOKENS",
    "Node",
    "ParseError",
    "TooLarge",
    "check_size",
    "parse",
    "to_fraction",
    "to_sympy",
]

#: Answers longer than this are not parsed (no real final answer is that long).
MAX_ANSWER_CHARS = 1000
MAX_TOKENS = 400
#: Nesting depth limit of the recursive-descent parser (50 kB of nested braces stops here).
MAX_DEPTH = 40
#: Largest integer power computed exactly, in bits of the result.
MAX_POWER_BITS = 4096
#: Longest integer or decimal literal accepted (digits).
MAX_LITERAL_DIGITS = 100


class ParseError(ValueError):
    """The text is not an expression this parser understands."""


class TooLarge(ParseError):
    """The expression would be too expensive to evaluate (huge power, literal, or nesting)."""


@dataclass(frozen=True)
class Node:
    """One node of a parsed answer.

    ``op`` is one of ``num`` (``value`` holds the Fraction), ``sym`` (``name``), ``const``
    (``name`` in ``pi``, ``e``, ``i``, ``oo``), ``neg``, ``add``, ``sub``, ``mul``, ``div``, ``pow``,
    ``sqrt`` (``args = (radicand,)`` or ``(radicand, index)``) or ``func`` (``name`` in
    :data:`FUNCTIONS`, one argument).
    """

    op: str
    args: tuple[Node, ...] = ()
    value: Fraction | None = None
    name: str = ""
    decimals: int | None = None  #: decimal places of a ``num`` written as a decimal literal


FUNCTIONS = frozenset({"sin", "cos", "tan", "log", "ln", "exp"})
_CONSTANTS = {"pi": "pi", "infty": "oo", "infinity": "oo", "inf": "oo"}
_FRACTION_COMMANDS = frozenset({"frac", "dfrac", "tfrac", "cfrac"})
_TIMES_COMMANDS = frozenset({"cdot", "times", "ast"})
# Commands that only change spacing or typeface; they are dropped.
_IGNORED_COMMANDS = frozenset(
    {"left", "right", "displaystyle", "mathrm", "mathbf", "rm", "bf", ",", ";", "!", " "}
)

_TOKEN = re.compile(
    r"""
    (?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)
  | (?P<cmd>\\(?:[A-Za-z]+|[,;!\ ]))
  | (?P<word>[A-Za-z]+)
  | (?P<op>\*\*|[-+*/^(){}\[\]])
  | (?P<space>\s+)
    """,
    re.VERBOSE | re.ASCII,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def tokenize(text: str) -> list[_Token]:
    """Split ``text`` into tokens; anything outside the small grammar raises :class:`ParseError`."""
    if len(text) > MAX_ANSWER_CHARS:
        raise TooLarge(f"answer longer than {MAX_ANSWER_CHARS} characters")
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ParseError(f"unexpected character {text[pos]!r} at {pos}")
        pos = match.end()
        kind = match.lastgroup
        assert kind is not None
        if kind == "space":
            continue
        token_text = match.group()
        if kind == "cmd":
            name = token_text[1:]
            if name in _IGNORED_COMMANDS:
                continue
            if name in _TIMES_COMMANDS:
                kind, token_text = "op", "*"
            elif name == "div":
                kind, token_text = "op", "/"
        elif kind == "word":
            # Single letters are variables; longer runs must be function or constant names, and
            # two-letter runs are read as a product (``xy``). Words such as "Monday" do not parse.
            known = token_text in FUNCTIONS or token_text in _CONSTANTS
            if not known and len(token_text) > 2:
                raise ParseError(f"unknown word {token_text!r}")
            if not known and len(token_text) == 2:
                tokens.extend(_Token("word", letter) for letter in token_text)
                continue
        elif kind == "op" and token_text == "**":
            token_text = "^"
        tokens.append(_Token(kind, token_text))
        if len(tokens) > MAX_TOKENS:
            raise TooLarge(f"more than {MAX_TOKENS} tokens")
    return tokens


class _Parser:
    """Recursive descent: sum := term (('+'|'-') term)*; term := unary (('*'|'/'|implicit) unary)*;
    unary := '-' unary | power; power := atom ('^' unary)?."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise ParseError("unexpected end of expression")
        self.pos += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise ParseError(f"expected {text!r}, got {token.text!r}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TooLarge(f"nesting deeper than {MAX_DEPTH}")

    def parse(self) -> Node:
        node = self.sum()
        if self.peek() is not None:
            raise ParseError(f"unexpected {self.peek().text!r}")  # type: ignore[union-attr]
        return node

    def sum(self) -> Node:
        self.enter()
        node = self.term()
        while (token := self.peek()) is not None and token.text in "+-" and token.kind == "op":
            self.take()
            node = Node("add" if token.text == "+" else "sub", (node, self.term()))
        self.depth -= 1
        return node

    def term(self) -> Node:
        node = self.unary()
        while (token := self.peek()) is not None:
            if token.kind == "op" and token.text in "*/":
                self.take()
                node = Node("mul" if token.text == "*" else "div", (node, self.unary()))
            elif token.kind in ("num", "word", "cmd") or token.text in "({":
                node = Node("mul", (node, self.power()))  # implicit product: 2x, 2\sqrt{3}, 3(x+1)
            else:
                break
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token is not None and token.kind == "op" and token.text in "+-":
            self.take()
            self.enter()
            operand = self.unary()
            self.depth -= 1
            return Node("neg", (operand,)) if token.text == "-" else operand
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        token = self.peek()
        if token is not None and token.text == "^":
            self.take()
            self.enter()
            exponent = self.unary()
            self.depth -= 1
            return Node("pow", (base, exponent))
        return base

    def group(self, opening: str, closing: str) -> Node:
        self.expect(opening)
        node = self.sum()
        self.expect(closing)
        return node

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "num":
            digits = token.text.replace(".", "")
            if len(digits) > MAX_LITERAL_DIGITS:
                raise TooLarge("numeric literal too long")
            decimals = len(token.text.split(".", 1)[1]) if "." in token.text else None
            return Node("num", value=Fraction(token.text), decimals=decimals)
        if token.text in ("(", "{", "["):
            closing = {"(": ")", "{": "}", "[": "]"}[token.text]
            self.pos -= 1
            self.enter()
            node = self.group(token.text, closing)
            self.depth -= 1
            return node
        if token.kind == "word":
            if token.text in _CONSTANTS:
                return Node("const", name=_CONSTANTS[token.text])
            if token.text in FUNCTIONS:
                return self.function(token.text)
            if token.text == "e":
                return Node("const", name="e")
            if token.text == "i":
                return Node("const", name="i")
            return Node("sym", name=token.text)
        if token.kind == "cmd":
            name = token.text[1:]
            if name in _FRACTION_COMMANDS:
                return self.fraction()
            if name == "sqrt":
                return self.sqrt()
            if name in _CONSTANTS:
                return Node("const", name=_CONSTANTS[name])
            if name in FUNCTIONS:
                return self.function(name)
        raise ParseError(f"unexpected {token.text!r}")

    def braced_or_digit(self) -> Node:
        """A ``\\frac`` argument: ``{...}`` or, as in ``\\frac12``, a single digit or letter."""
        token = self.peek()
        if token is not None and token.kind == "num" and "." not in token.text:
            self.take()
            rest = token.text[1:]
            if rest:  # \frac12 tokenizes as "12": split off the first digit
                self.tokens.insert(self.pos, _Token("num", rest))
            return Node("num", value=Fraction(int(token.text[0])))
        if token is not None and token.kind == "word" and len(token.text) == 1:
            self.take()
            return Node("sym", name=token.text)
        self.enter()
        node = self.group("{", "}")
        self.depth -= 1
        return node

    def fraction(self) -> Node:
        numerator = self.braced_or_digit()
        denominator = self.braced_or_digit()
        return Node("div", (numerator, denominator))

    def sqrt(self) -> Node:
        index = None
        token = self.peek()
        if token is not None and token.text == "[":
            self.enter()
            index = self.group("[", "]")
            self.depth -= 1
        radicand = self.braced_or_digit()
        return Node("sqrt", (radicand,) if index is None else (radicand, index))

    def function(self, name: str) -> Node:
        token = self.peek()
        if token is not None and token.text in ("(", "{"):
            self.enter()
            argument = self.group(token.text, ")" if token.text == "(" else "}")
            self.depth -= 1
        else:
            argument = self.power()
        return Node("func", (argument,), name=name)


def parse(text: str) -> Node:
    """Parse an answer into a :class:`Node` tree; raise :class:`ParseError` if it is not one.

    >>> to_fraction(parse(r"\\frac{3}{4} + 0.25"))
    Fraction(1, 1)
    """
    tokens = tokenize(text)
    if not tokens:
        raise ParseError("empty expression")
    return _Parser(tokens).parse()


def _integer_power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator != 1:
        raise ParseError("non-integer exponent")
    power = exponent.numerator
    if base == 0 or base == 1 or power == 0:
        return Fraction(1) if power == 0 else base
    if base == -1:
        return Fraction(-1) ** power
    bits = max(abs(base.numerator).bit_length(), base.denominator.bit_length())
    if bits * abs(power) > MAX_POWER_BITS:
        raise TooLarge("power too large to compute")
    return base**power


def to_fraction(node: Node) -> Fraction:
    """The exact rational value of ``node``; :class:`ParseError` if it is not a rational constant."""
    op = node.op
    if op == "num":
        assert node.value is not None
        return node.value
    if op == "neg":
        return -to_fraction(node.args[0])
    if op in ("add", "sub", "mul", "div", "pow"):
        left, right = to_fraction(node.args[0]), to_fraction(node.args[1])
        if op == "add":
            return left + right
        if op == "sub":
            return left - right
        if op == "mul":
            return left * right
        if op == "div":
            if right == 0:
                raise ParseError("division by zero")
            return left / right
        return _integer_power(left, right)
    raise ParseError(f"{op} is not rational")


def check_size(node: Node) -> None:
    """Raise :class:`TooLarge` if evaluating ``node`` symbolically could blow up.

    Every power whose exponent is a constant must have a small integer exponent and a result of at
    most :data:`MAX_POWER_BITS`; exponents holding symbols (``2^x``) are fine since nothing expands them.
    """
    stack = [node]
    while stack:
        current = stack.pop()
        if current.op == "pow":
            base, exponent = current.args
            try:
                exponent_value = to_fraction(exponent)
            except TooLarge:
                raise
            except ParseError:
                exponent_value = None
            if exponent_value is not None:
                if abs(exponent_value) > MAX_POWER_BITS:
                    raise TooLarge("exponent too large")
                try:
                    base_value = to_fraction(base)
                except TooLarge:
                    raise
                except ParseError:
                    base_value = None
                if base_value is not None and exponent_value.denominator == 1:
                    _integer_power(base_value, exponent_value)
        stack.extend(current.args)


def to_sympy(node: Node) -> Any:
    """Build the sympy expression of ``node`` with sympy constructors (no string parsing, no eval).

    Call :func:`check_size` first: sympy evaluates powers of numbers eagerly.
    """
    import sympy

    op = node.op
    if op == "num":
        assert node.value is not None
        return sympy.Rational(node.value.numerator, node.value.denominator)
    if op == "sym":
        return sympy.Symbol(node.name)
    if op == "const":
        return {"pi": sympy.pi, "e": sympy.E, "i": sympy.I, "oo": sympy.oo}[node.name]
    args = [to_sympy(arg) for arg in node.args]
    if op == "neg":
        return -args[0]
    if op == "add":
        return args[0] + args[1]
    if op == "sub":
        return args[0] - args[1]
    if op == "mul":
        return args[0] * args[1]
    if op == "div":
        return args[0] / args[1]
    if op == "pow":
        return sympy.Pow(args[0], args[1])
    if op == "sqrt":
        return sympy.sqrt(args[0]) if len(args) == 1 else sympy.root(args[0], args[1])
    if op == "func":
        function = {
            "sin": sympy.sin,
            "cos": sympy.cos,
            "tan": sympy.tan,
            "log": sympy.log,
            "ln": sympy.log,
            "exp": sympy.exp,
        }[node.name]
        return function(args[0])
    raise ParseError(f"unknown node {op}")
