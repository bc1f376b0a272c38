"""Seeded generator of GSM8K-style multi-step word problems with exact answers and worked steps.

Each problem is a short story over one running quantity (money, items, distance, minutes, ages)
changed by 2 to 8 arithmetic operations drawn from its topic's pool (earning at an hourly rate,
buying at a unit price, discounts and percentages, fractions of a remainder, sharing equally, unit
conversions, "k years older" ...). Every operation appends a sentence to the question, one worked
step to the reference solution, and a node to the expression tree; all arithmetic is
:class:`fractions.Fraction`, so gold answers are exact. Operations refuse values that would leave
the story implausible (negative money, a third of 10 marbles), and the generator retries.

Difficulty (``level``) is the number of operations. The shipped splits (``data/math/``) come from::

    python -m agentsearch.envs.math.generate --out data/math --seed 0

and the same seed always writes byte-identical files.
"""

from __future__ import annotations

import argparse
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from agentsearch.envs.math.problems import MathProblem, write_problems

__all__ = ["SPLIT_SIZES", "TOPICS", "format_number", "generate_problem", "generate_splits", "main"]

logger = logging.getLogger(__name__)

#: Problems per split in the shipped data.
SPLIT_SIZES: dict[str, int] = {"train": 5000, "eval": 500, "test": 1000}
MIN_OPS, MAX_OPS = 2, 8

NAMES = (
    "Ava",
    "Ben",
    "Carla",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jamal",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Yara",
)
ITEMS = (
    "apples",
    "marbles",
    "stickers",
    "books",
    "pencils",
    "cookies",
    "stamps",
    "shells",
    "cards",
    "beads",
    "eggs",
    "oranges",
    "candles",
    "buttons",
    "tickets",
)
PRODUCTS = (
    ("notebook", "notebooks"),
    ("sandwich", "sandwiches"),
    ("T-shirt", "T-shirts"),
    ("toy car", "toy cars"),
    ("movie ticket", "movie tickets"),
    ("plant", "plants"),
    ("mug", "mugs"),
    ("comic book", "comic books"),
)
MACHINES = (
    ("bakery", "loaves of bread"),
    ("factory", "toys"),
    ("printer", "pages"),
    ("farm", "eggs"),
    ("workshop", "chairs"),
    ("bottling plant", "bottles"),
)
VEHICLES = (("drives", "car"), ("cycles", "bike"), ("sails", "boat"), ("rides", "train"))
TASKS = ("homework problems", "emails", "sketches", "puzzles", "practice songs", "chapters")

Expr = Any  # a number string, or [op, left, right] with op in "+-*/"


def format_number(value: Fraction) -> str:
    """``42``, ``38.75`` or ``7/3``: integers plainly, terminating decimals with their places."""
    if value.denominator == 1:
        return str(value.numerator)
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator == 1:
        places = 0
        while (value * 10**places).denominator != 1:
            places += 1
        sign = "-" if value < 0 else ""
        scaled = abs(value.numerator * 10**places // value.denominator)
        whole, fraction = divmod(scaled, 10**places)
        return f"{sign}{whole}.{fraction:0{places}d}"
    return f"{value.numerator}/{value.denominator}"


def money(value: Fraction) -> str:
    """``$12`` or ``$12.50``."""
    if value.denominator == 1:
        return f"${value.numerator}"
    return f"${float(value):.2f}" if (value * 100).denominator == 1 else f"${format_number(value)}"


def _leaf(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}" if value.denominator != 1 else str(value.numerator)


@dataclass
class Story:
    """A problem under construction: the running quantity, its expression, text and steps."""

    rng: random.Random
    topic: str
    value: Fraction
    expr: Expr
    show: Callable[[Fraction], str]  #: formats a value of the running quantity ("$12", "12 apples")
    sentences: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    ops: int = 0
    question: str = ""
    used: set[str] = field(default_factory=set)  #: one-off operations already in the story

    def apply(self, op: str, other: Fraction, other_expr: Expr | None = None) -> Fraction:
        """Combine the running quantity with ``other`` and return the new value (not yet committed)."""
        other_expr = _leaf(other) if other_expr is None else other_expr
        value = {
            "+": self.value + other,
            "-": self.value - other,
            "*": self.value * other,
            "/": self.value / other,
        }[op]
        self.expr = [op, self.expr, other_expr]
        self.value = value
        self.ops += 1
        return value


def _nice(value: Fraction, cents: bool = False) -> bool:
    """Positive and an integer (or whole cents for money): what a word problem would use."""
    return value > 0 and (value * (100 if cents else 1)).denominator == 1 and value < 10**7


# ---------------------------------------------------------------------------- operations
# Each operation tries to extend the story; it returns False (leaving the story unchanged) when
# the numbers it drew would not make a sensible problem. Operations that take two arithmetic steps
# (price times quantity, then subtract) count as two operations.

Operation = Callable[[Story, str], bool]


def _product(count: int, unit: Fraction) -> tuple[Fraction, Expr]:
    return count * unit, ["*", str(count), _leaf(unit)]


def op_buy(story: Story, who: str) -> bool:
    singular, plural = story.rng.choice(PRODUCTS)
    count = story.rng.randint(2, 9)
    price = Fraction(story.rng.choice([2, 3, 4, 5, 6, 8, 12, 15, 20, 25])) + Fraction(
        story.rng.choice([0, 0, 25, 50, 75]), 100
    )
    total, total_expr = _product(count, price)
    if story.value - total <= 0:
        return False
    before = story.value
    story.sentences.append(f"{who} buys {count} {plural} for {money(price)} each.")
    story.steps.append(f"The {plural} cost {count} * {money(price)} = {money(total)}.")
    story.ops += 1
    story.apply("-", total, total_expr)
    story.steps.append(f"{who} has {money(before)} - {money(total)} = {money(story.value)} left.")
    return True


def op_earn_hourly(story: Story, who: str) -> bool:
    rate = Fraction(story.rng.choice([8, 9, 10, 12, 14, 15, 18, 20, 25]))
    hours = story.rng.randint(2, 12)
    total, total_expr = _product(hours, rate)
    before = story.value
    story.sentences.append(f"{who} then works {hours} hours at {money(rate)} per hour.")
    story.steps.append(f"{who} earns {hours} * {money(rate)} = {money(total)}.")
    story.ops += 1
    story.apply("+", total, total_expr)
    story.steps.append(f"Now {who} has {money(before)} + {money(total)} = {money(story.value)}.")
    return True


def op_gift(story: Story, who: str) -> bool:
    amount = Fraction(story.rng.choice([5, 10, 15, 20, 25, 30, 40, 50]))
    giver = story.rng.choice(["grandmother", "uncle", "neighbour", "aunt"])
    before = story.value
    story.sentences.append(f"{who}'s {giver} gives {who} {money(amount)}.")
    story.apply("+", amount)
    story.steps.append(f"After the gift, {who} has {money(before)} + {money(amount)} = {money(story.value)}.")
    return True


def op_spend_percent(story: Story, who: str) -> bool:
    percent = story.rng.choice([10, 20, 25, 30, 40, 50, 75])
    spent = story.value * percent / 100
    if not _nice(spent, cents=True) or not _nice(story.value - spent, cents=True):
        return False
    before = story.value
    story.sentences.append(f"{who} spends {percent}% of the money on a present.")
    story.steps.append(
        f"The present costs {percent}% of {money(before)} = {money(before)} * {percent}/100 = {money(spent)}."
    )
    story.ops += 1
    story.apply("-", spent, ["/", ["*", story.expr, str(percent)], "100"])
    story.steps.append(f"{who} has {money(before)} - {money(spent)} = {money(story.value)} left.")
    return True


def op_discount_buy(story: Story, who: str) -> bool:
    singular, _ = story.rng.choice(PRODUCTS)
    price = Fraction(story.rng.choice([20, 24, 30, 40, 48, 50, 60, 80, 120]))
    percent = story.rng.choice([10, 15, 20, 25, 50])
    sale = price * (100 - percent) / 100
    if not _nice(sale, cents=True) or story.value - sale <= 0:
        return False
    before = story.value
    story.sentences.append(f"{who} buys a {singular} priced at {money(price)} with a {percent}% discount.")
    story.steps.append(f"The discount is {money(price)} * {percent}/100 = {money(price * percent / 100)}.")
    story.steps.append(
        f"The {singular} costs {money(price)} - {money(price * percent / 100)} = {money(sale)}."
    )
    story.ops += 2
    sale_expr = ["-", _leaf(price), ["/", ["*", _leaf(price), str(percent)], "100"]]
    story.apply("-", sale, sale_expr)
    story.steps.append(f"{who} has {money(before)} - {money(sale)} = {money(story.value)} left.")
    return True


def op_gain_items(story: Story, who: str) -> bool:
    amount = Fraction(story.rng.randint(3, 40))
    before = story.value
    source = story.rng.choice(["finds", "is given", "wins", "collects"])
    story.sentences.append(f"{who} {source} {amount} more.")
    story.apply("+", amount)
    story.steps.append(f"{who} has {before} + {amount} = {story.show(story.value)}.")
    return True


def op_lose_items(story: Story, who: str) -> bool:
    amount = Fraction(story.rng.randint(2, 30))
    if story.value - amount <= 0:
        return False
    before = story.value
    story.sentences.append(f"{who} gives {amount} to a friend.")
    story.apply("-", amount)
    story.steps.append(f"{who} has {before} - {amount} = {story.show(story.value)}.")
    return True


def op_packs(story: Story, who: str) -> bool:
    packs, size = story.rng.randint(2, 9), story.rng.randint(3, 12)
    total, total_expr = _product(packs, Fraction(size))
    before = story.value
    story.sentences.append(f"{who} buys {packs} packs with {size} in each pack.")
    story.steps.append(f"The packs hold {packs} * {size} = {total}.")
    story.ops += 1
    story.apply("+", total, total_expr)
    story.steps.append(f"{who} has {before} + {total} = {story.show(story.value)}.")
    return True


def op_fraction_use(story: Story, who: str) -> bool:
    numerator, denominator = story.rng.choice(
        [(1, 2), (1, 3), (2, 3), (1, 4), (3, 4), (1, 5), (2, 5), (3, 5)]
    )
    part = story.value * numerator / denominator
    if not _nice(part) or not _nice(story.value - part):
        return False
    before = story.value
    story.sentences.append(f"{who} uses {numerator}/{denominator} of them for a project.")
    story.steps.append(
        f"{numerator}/{denominator} of {story.show(before)} is {before} * {numerator}/{denominator} = {part}."
    )
    story.ops += 1
    story.apply("-", part, ["/", ["*", story.expr, str(numerator)], str(denominator)])
    story.steps.append(f"{who} has {before} - {part} = {story.show(story.value)}.")
    return True


def op_percent_sell(story: Story, who: str) -> bool:
    percent = story.rng.choice([10, 20, 25, 40, 50, 60, 75])
    part = story.value * percent / 100
    if not _nice(part) or not _nice(story.value - part):
        return False
    before = story.value
    story.sentences.append(f"{who} sells {percent}% of them at a fair.")
    story.steps.append(f"{percent}% of {before} is {before} * {percent}/100 = {part}.")
    story.ops += 1
    story.apply("-", part, ["/", ["*", story.expr, str(percent)], "100"])
    story.steps.append(f"{who} has {before} - {part} = {story.show(story.value)}.")
    return True


def op_multiply(story: Story, who: str) -> bool:
    factor = story.rng.choice([2, 3, 4, 5])
    if story.value * factor > 10**6:
        return False
    word = {
        2: "doubles the collection",
        3: "triples the collection",
        4: "makes the collection four times as large",
        5: "makes the collection five times as large",
    }[factor]
    before = story.value
    story.sentences.append(f"{story.rng.choice(['Over the summer', 'Then', 'Later'])} {who} {word}.")
    story.apply("*", Fraction(factor))
    story.steps.append(f"The collection grows to {before} * {factor} = {story.show(story.value)}.")
    return True


def op_share(story: Story, who: str) -> bool:
    people = story.rng.randint(2, 8)
    if not _nice(story.value / people):
        return False
    before = story.value
    story.sentences.append(f"{who} then shares them equally among {people} friends.")
    story.apply("/", Fraction(people))
    story.steps.append(f"Each friend gets {before} / {people} = {story.show(story.value)}.")
    story.question = "How many does each friend get?"
    return True


def op_run_more(story: Story, who: str) -> bool:
    rate = Fraction(story.rng.choice([6, 8, 12, 15, 20, 24, 30, 45, 50, 60]))
    hours = story.rng.randint(2, 10)
    total, total_expr = _product(hours, rate)
    day = story.rng.choice(["Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"])
    before = story.value
    story.sentences.append(f"On {day} it runs for {hours} hours at {rate} per hour.")
    story.steps.append(f"On {day} it makes {hours} * {rate} = {total}.")
    story.ops += 1
    story.apply("+", total, total_expr)
    story.steps.append(f"So far that is {before} + {total} = {story.show(story.value)}.")
    return True


def op_spoiled(story: Story, who: str) -> bool:
    percent = story.rng.choice([5, 10, 20, 25])
    part = story.value * percent / 100
    if not _nice(part) or not _nice(story.value - part):
        return False
    before = story.value
    story.sentences.append(f"Then {percent}% of everything made so far fails inspection and is thrown away.")
    story.steps.append(f"{percent}% of {before} is {before} * {percent}/100 = {part}.")
    story.ops += 1
    story.apply("-", part, ["/", ["*", story.expr, str(percent)], "100"])
    story.steps.append(f"{before} - {part} = {story.show(story.value)} remain.")
    return True


def op_boxes(story: Story, who: str) -> bool:
    size = story.rng.choice([2, 3, 4, 5, 6, 8, 10, 12, 20, 24])
    if not _nice(story.value / size):
        return False
    before = story.value
    story.sentences.append(f"Everything is packed into boxes of {size}.")
    story.apply("/", Fraction(size))
    story.steps.append(f"That fills {before} / {size} = {story.value} boxes.")
    story.question = "How many boxes are filled?"
    return True


def op_extra_leg(story: Story, who: str) -> bool:
    speed = Fraction(story.rng.choice([4, 5, 10, 12, 15, 20, 30, 40, 45, 50, 60, 65]))
    hours = Fraction(story.rng.choice([1, 2, 3, 4, 5])) + Fraction(story.rng.choice([0, 0, 1, 2]), 2) / 2
    total = speed * hours
    if not _nice(total):
        return False
    before = story.value
    story.sentences.append(
        f"Then {who} continues at {speed} miles per hour for {format_number(hours)} hours."
    )
    story.steps.append(f"That leg covers {speed} * {format_number(hours)} = {total} miles.")
    story.ops += 1
    story.apply("+", total, ["*", _leaf(speed), _leaf(hours)])
    story.steps.append(f"The distance so far is {before} + {total} = {story.show(story.value)}.")
    return True


def op_round_trip(story: Story, who: str) -> bool:
    if "round trip" in story.used:
        return False
    story.used.add("round trip")
    before = story.value
    story.sentences.append(f"{who} then returns home the same way.")
    story.apply("*", Fraction(2))
    story.steps.append(f"The round trip doubles the distance: {before} * 2 = {story.show(story.value)}.")
    return True


def op_more_tasks(story: Story, who: str) -> bool:
    count, minutes = story.rng.randint(2, 8), story.rng.choice([5, 6, 10, 12, 15, 20, 25, 30, 45])
    total, total_expr = _product(count, Fraction(minutes))
    task = story.rng.choice(TASKS)
    before = story.value
    story.sentences.append(f"Next, {who} does {count} {task}, each taking {minutes} minutes.")
    story.steps.append(f"The {task} take {count} * {minutes} = {total} minutes.")
    story.ops += 1
    story.apply("+", total, total_expr)
    story.steps.append(f"The total is {before} + {total} = {story.show(story.value)}.")
    return True


def op_break(story: Story, who: str) -> bool:
    minutes = Fraction(story.rng.choice([5, 10, 15, 20, 30]))
    before = story.value
    story.sentences.append(f"{who} also takes a {minutes}-minute break.")
    story.apply("+", minutes)
    story.steps.append(f"With the break: {before} + {minutes} = {story.show(story.value)}.")
    return True


def op_to_hours(story: Story, who: str) -> bool:
    hours = story.value / 60
    if (hours * 4).denominator != 1:
        return False
    before = story.value
    story.apply("/", Fraction(60))
    story.steps.append(f"In hours that is {before} / 60 = {format_number(hours)} hours.")
    story.question = f"How many hours does {who} spend in total?"
    return True


def op_years_pass(story: Story, who: str) -> bool:
    years = Fraction(story.rng.randint(2, 15))
    before = story.value
    story.sentences.append(f"{years} years pass.")
    story.apply("+", years)
    story.steps.append(f"After {years} years the age is {before} + {years} = {story.value}.")
    return True


def op_relative_older(story: Story, who: str) -> bool:
    years = Fraction(story.rng.randint(2, 30))
    relative = story.rng.choice(["cousin", "aunt", "teacher", "neighbour"])
    before = story.value
    if before + years > 100:
        return False
    story.sentences.append(f"{who}'s {relative} is {years} years older than that.")
    story.apply("+", years)
    story.steps.append(f"The {relative} is {before} + {years} = {story.value}.")
    return True


def op_relative_times(story: Story, who: str) -> bool:
    factor = story.rng.choice([2, 3, 4])
    before = story.value
    if before * factor > 110:
        return False
    word = {2: "twice", 3: "three times", 4: "four times"}[factor]
    story.sentences.append(f"Someone else is {word} as old as that.")
    story.apply("*", Fraction(factor))
    story.steps.append(f"{word.capitalize()} {before} is {before} * {factor} = {story.value}.")
    return True


def op_relative_half(story: Story, who: str) -> bool:
    if not _nice(story.value / 2):
        return False
    before = story.value
    story.sentences.append("A younger friend is half that age.")
    story.apply("/", Fraction(2))
    story.steps.append(f"Half of {before} is {before} / 2 = {story.value}.")
    return True


def op_years_ago(story: Story, who: str) -> bool:
    years = Fraction(story.rng.randint(1, 10))
    if story.value - years <= 0:
        return False
    before = story.value
    story.sentences.append(f"Consider the age {years} years earlier.")
    story.apply("-", years)
    story.steps.append(f"{years} years earlier the age was {before} - {years} = {story.value}.")
    return True


# ---------------------------------------------------------------------------- topics
@dataclass(frozen=True)
class Opening:
    """The first sentence of a story and the running quantity it sets up."""

    value: Fraction
    text: str
    show: Callable[[Fraction], str]
    question: str
    expr: Expr = None  #: defaults to the value itself
    steps: tuple[str, ...] = ()  #: worked steps the opening needs (one operation each)


def _start_money(rng: random.Random, who: str) -> Opening:
    value = Fraction(rng.choice(range(40, 501, 5))) + Fraction(rng.choice([0, 0, 0, 50]), 100)
    return Opening(value, f"{who} has {money(value)}.", money, f"How much money does {who} have now?")


def _start_items(rng: random.Random, who: str) -> Opening:
    item = rng.choice(ITEMS)
    value = Fraction(rng.randint(12, 120))
    return Opening(
        value,
        f"{who} has {value} {item}.",
        lambda v: f"{format_number(v)} {item}",
        f"How many {item} does {who} have now?",
    )


def _start_rates(rng: random.Random, who: str) -> Opening:
    place, product = rng.choice(MACHINES)
    rate, hours = rng.choice([6, 8, 10, 12, 15, 20, 25, 40]), rng.randint(2, 10)
    value = Fraction(rate * hours)
    return Opening(
        value,
        f"A {place} makes {rate} {product} per hour. On Monday it runs for {hours} hours.",
        lambda v: f"{format_number(v)} {product}",
        f"How many {product} does the {place} have in the end?",
        expr=["*", str(hours), str(rate)],
        steps=(f"On Monday it makes {hours} * {rate} = {value} {product}.",),
    )


def _start_distance(rng: random.Random, who: str) -> Opening:
    verb, vehicle = rng.choice(VEHICLES)
    value = Fraction(rng.randint(5, 120))
    return Opening(
        value,
        f"{who} {verb} {value} miles by {vehicle} in the morning.",
        lambda v: f"{format_number(v)} miles",
        f"How many miles does {who} travel in total?",
    )


def _start_time(rng: random.Random, who: str) -> Opening:
    task = rng.choice(TASKS)
    count, minutes = rng.randint(2, 8), rng.choice([5, 10, 12, 15, 20, 30])
    value = Fraction(count * minutes)
    return Opening(
        value,
        f"{who} does {count} {task} one after another, each taking {minutes} minutes.",
        lambda v: f"{format_number(v)} minutes",
        f"How many minutes does {who} spend in total?",
        expr=["*", str(count), str(minutes)],
        steps=(f"The {task} take {count} * {minutes} = {value} minutes.",),
    )


def _start_ages(rng: random.Random, who: str) -> Opening:
    value = Fraction(rng.randint(4, 40))
    return Opening(
        value,
        f"{who} is {value} years old.",
        lambda v: f"{format_number(v)} years",
        "How old is the last person mentioned at that point?",
    )


@dataclass(frozen=True)
class Topic:
    """A story family: how it opens, which operations it draws from, and its final question."""

    name: str
    start: Callable[[random.Random, str], Opening]
    operations: tuple[Operation, ...]
    finishers: tuple[Operation, ...] = ()


TOPICS: tuple[Topic, ...] = (
    Topic("money", _start_money, (op_buy, op_earn_hourly, op_gift, op_spend_percent, op_discount_buy)),
    Topic("items", _start_items, (op_gain_items, op_lose_items, op_packs, op_multiply), (op_share,)),
    Topic("fractions", _start_items, (op_fraction_use, op_gain_items, op_packs, op_lose_items), (op_share,)),
    Topic("percentages", _start_items, (op_percent_sell, op_gain_items, op_packs, op_multiply), (op_share,)),
    Topic("rates", _start_rates, (op_run_more, op_spoiled), (op_boxes,)),
    Topic("distance", _start_distance, (op_extra_leg, op_round_trip)),
    Topic("time", _start_time, (op_more_tasks, op_break), (op_to_hours,)),
    Topic(
        "ages",
        _start_ages,
        (op_years_pass, op_relative_older, op_relative_times, op_relative_half, op_years_ago),
    ),
)


def generate_problem(
    rng: random.Random, problem_id: str, target_ops: int, topic: Topic | None = None
) -> MathProblem:
    """One problem with exactly ``target_ops`` operations (retries until the numbers work out)."""
    if not MIN_OPS <= target_ops <= MAX_OPS:
        raise ValueError(f"Expected target_ops in [{MIN_OPS}, {MAX_OPS}], got {target_ops}.")
    while True:
        chosen = topic or rng.choice(TOPICS)
        who = rng.choice(NAMES)
        opening = chosen.start(rng, who)
        story = Story(
            rng,
            chosen.name,
            opening.value,
            _leaf(opening.value) if opening.expr is None else opening.expr,
            opening.show,
            [opening.text],
            list(opening.steps),
            len(opening.steps),
            opening.question,
        )
        attempts = 0
        while story.ops < target_ops and attempts < 50:
            attempts += 1
            remaining = target_ops - story.ops
            pool = chosen.operations
            if remaining == 1 and chosen.finishers and rng.random() < 0.6:
                pool = chosen.finishers
            # The topic's first operation is its signature (fractions, percentages ...): favour it.
            operation = pool[0] if pool is chosen.operations and rng.random() < 0.35 else rng.choice(pool)
            saved = (story.value, story.expr, story.ops, story.question, set(story.used))
            n_sentences, n_steps = len(story.sentences), len(story.steps)
            if not operation(story, who) or story.ops > target_ops:
                story.value, story.expr, story.ops, story.question, story.used = saved
                del story.sentences[n_sentences:]
                del story.steps[n_steps:]
            elif operation in chosen.finishers:
                break
        if story.ops != target_ops:
            continue
        answer = format_number(story.value)
        story.steps[-1] = f"{story.steps[-1]} The answer is {answer}."
        question = " ".join([*story.sentences, story.question])
        return MathProblem(
            id=problem_id,
            question=question,
            answer=answer,
            steps=tuple(story.steps),
            level=target_ops,
            topic=chosen.name,
            expr=story.expr,
        )


def generate_splits(seed: int = 0, sizes: dict[str, int] | None = None) -> dict[str, list[MathProblem]]:
    """Generate every split with one seeded RNG; no question appears twice across splits.

    Difficulty is graded: levels 2..8 in equal shares within each split, in a shuffled order.
    """
    sizes = dict(SPLIT_SIZES if sizes is None else sizes)
    rng = random.Random(seed)
    seen: set[str] = set()
    splits: dict[str, list[MathProblem]] = {}
    for split in ("test", "eval", "train"):  # test first: its problems never depend on the train size
        problems: list[MathProblem] = []
        levels = [MIN_OPS + index % (MAX_OPS - MIN_OPS + 1) for index in range(sizes[split])]
        rng.shuffle(levels)
        for level in levels:
            while True:
                problem = generate_problem(rng, f"gsm-synth-{split}-{len(problems):05d}", level)
                if problem.question not in seen:
                    break
            seen.add(problem.question)
            problems.append(problem)
        splits[split] = problems
    return splits


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/math"), help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for split, problems in generate_splits(args.seed).items():
        write_problems(problems, args.out / f"{split}.jsonl.gz")
        logger.info("wrote %d %s problems", len(problems), split)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
