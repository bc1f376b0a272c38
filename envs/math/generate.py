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
from collections import Counter
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
#: Most times one operation appears in a story.
MAX_USES = 3

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
    """A problem under construction: the running quantity, its expression, text and steps.

    Step templates are ``str.format`` strings over ``b`` (the value before), ``x`` (the operand),
    ``p`` (a part or product), ``a`` (the value after, with its unit) and ``n`` (a count).
    """

    rng: random.Random
    value: Fraction
    expr: Expr
    show: Callable[[Fraction], str]  #: a value of the running quantity with its unit ("12 apples")
    fmt: Callable[[Fraction], str]  #: a bare number of the topic ("$12" for money, "12" otherwise)
    sentences: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    ops: int = 0
    question: str = ""
    used: Counter[str] = field(default_factory=Counter)  #: how often each operation already appears

    def apply(self, op: str, other: Fraction, other_expr: Expr | None = None) -> None:
        """Combine the running quantity with ``other`` (one operation)."""
        self.value = {
            "+": self.value + other,
            "-": self.value - other,
            "*": self.value * other,
            "/": self.value / other,
        }[op]
        self.expr = [op, self.expr, _leaf(other) if other_expr is None else other_expr]
        self.ops += 1

    def single(self, sentence: str | None, op: str, operand: Fraction, step: str) -> bool:
        """One operation with a literal operand: "gives 5 away" -> ``b - 5 = a``."""
        before = self.value
        if sentence:
            self.sentences.append(sentence)
        self.apply(op, operand)
        self.steps.append(step.format(b=self.fmt(before), x=self.fmt(operand), a=self.show(self.value)))
        return True

    def add_product(
        self,
        sentence: str,
        count: Fraction | int,
        unit: Fraction,
        product_step: str,
        total_step: str,
        op: str = "+",
    ) -> bool:
        """Two operations: ``count * unit`` (hours at a rate, packs of a size), then add or subtract it."""
        product = count * unit
        if op == "-" and self.value - product <= 0:
            return False
        before = self.value
        self.sentences.append(sentence)
        self.steps.append(
            product_step.format(n=format_number(Fraction(count)), x=self.fmt(unit), p=self.fmt(product))
        )
        self.ops += 1
        self.apply(op, product, ["*", _leaf(Fraction(count)), _leaf(unit)])
        self.steps.append(total_step.format(b=self.fmt(before), p=self.fmt(product), a=self.show(self.value)))
        return True

    def take_part(
        self,
        sentence: str,
        numerator: int,
        denominator: int,
        part_step: str,
        rest_step: str,
        cents: bool = False,
    ) -> bool:
        """Two operations: ``numerator/denominator`` of the quantity (a fraction, a percentage), then
        subtract it; refused unless both the part and the rest are whole (or whole cents)."""
        part = self.value * numerator / denominator
        if not _nice(part, cents) or not _nice(self.value - part, cents):
            return False
        before = self.value
        self.sentences.append(sentence)
        self.steps.append(part_step.format(b=self.fmt(before), p=self.fmt(part)))
        self.ops += 1
        self.apply("-", part, ["/", ["*", self.expr, str(numerator)], str(denominator)])
        self.steps.append(rest_step.format(b=self.fmt(before), p=self.fmt(part), a=self.show(self.value)))
        return True


def _nice(value: Fraction, cents: bool = False) -> bool:
    """Positive and an integer (or whole cents for money): what a word problem would use."""
    return value > 0 and (value * (100 if cents else 1)).denominator == 1 and value < 10**7


# ---------------------------------------------------------------------------- operations
# Each operation tries to extend the story; it returns False (leaving the story as it found it or
# for the caller to roll back) when the numbers it drew would not make a sensible problem.

Operation = Callable[[Story, str], bool]


def op_buy(story: Story, who: str) -> bool:
    _, plural = story.rng.choice(PRODUCTS)
    count = story.rng.randint(2, 9)
    price = Fraction(story.rng.choice([2, 3, 4, 5, 6, 8, 12, 15, 20, 25]))
    price += Fraction(story.rng.choice([0, 0, 25, 50, 75]), 100)
    return story.add_product(
        f"{who} buys {count} {plural} for {money(price)} each.",
        count,
        price,
        f"The {plural} cost {{n}} * {{x}} = {{p}}.",
        f"{who} has {{b}} - {{p}} = {{a}} left.",
        op="-",
    )


def op_earn_hourly(story: Story, who: str) -> bool:
    rate, hours = Fraction(story.rng.choice([8, 9, 10, 12, 14, 15, 18, 20, 25])), story.rng.randint(2, 12)
    return story.add_product(
        f"{who} then works {hours} hours at {money(rate)} per hour.",
        hours,
        rate,
        f"{who} earns {{n}} * {{x}} = {{p}}.",
        f"Now {who} has {{b}} + {{p}} = {{a}}.",
    )


def op_gift(story: Story, who: str) -> bool:
    amount = Fraction(story.rng.choice([5, 10, 15, 20, 25, 30, 40, 50]))
    giver = story.rng.choice(["grandmother", "uncle", "neighbour", "aunt"])
    return story.single(
        f"{who}'s {giver} gives {who} {money(amount)}.",
        "+",
        amount,
        f"After the gift, {who} has {{b}} + {{x}} = {{a}}.",
    )


def op_spend_percent(story: Story, who: str) -> bool:
    percent = story.rng.choice([10, 20, 25, 30, 40, 50, 75])
    return story.take_part(
        f"{who} spends {percent}% of the money on a present.",
        percent,
        100,
        f"The present costs {percent}% of {{b}} = {{b}} * {percent}/100 = {{p}}.",
        f"{who} has {{b}} - {{p}} = {{a}} left.",
        cents=True,
    )


def op_discount_buy(story: Story, who: str) -> bool:
    singular, _ = story.rng.choice(PRODUCTS)
    price = Fraction(story.rng.choice([20, 24, 30, 40, 48, 50, 60, 80, 120]))
    percent = story.rng.choice([10, 15, 20, 25, 50])
    discount = price * percent / 100
    sale = price - discount
    if not _nice(sale, cents=True) or story.value - sale <= 0:
        return False
    before = story.value
    story.sentences.append(f"{who} buys a {singular} priced at {money(price)} with a {percent}% discount.")
    story.steps.append(f"The discount is {money(price)} * {percent}/100 = {money(discount)}.")
    story.steps.append(f"The {singular} costs {money(price)} - {money(discount)} = {money(sale)}.")
    story.ops += 2
    story.apply("-", sale, ["-", _leaf(price), ["/", ["*", _leaf(price), str(percent)], "100"]])
    story.steps.append(f"{who} has {money(before)} - {money(sale)} = {money(story.value)} left.")
    return True


def op_gain_items(story: Story, who: str) -> bool:
    amount = Fraction(story.rng.randint(3, 40))
    source = story.rng.choice(["finds", "is given", "wins", "collects"])
    return story.single(f"{who} {source} {amount} more.", "+", amount, f"{who} has {{b}} + {{x}} = {{a}}.")


def op_lose_items(story: Story, who: str) -> bool:
    amount = Fraction(story.rng.randint(2, 30))
    if story.value - amount <= 0:
        return False
    return story.single(
        f"{who} gives {amount} to a friend.", "-", amount, f"{who} has {{b}} - {{x}} = {{a}}."
    )


def op_packs(story: Story, who: str) -> bool:
    packs, size = story.rng.randint(2, 9), Fraction(story.rng.randint(3, 12))
    return story.add_product(
        f"{who} buys {packs} packs with {size} in each pack.",
        packs,
        size,
        "The packs hold {n} * {x} = {p}.",
        f"{who} has {{b}} + {{p}} = {{a}}.",
    )


def op_fraction_use(story: Story, who: str) -> bool:
    numerator, denominator = story.rng.choice(
        [(1, 2), (1, 3), (2, 3), (1, 4), (3, 4), (1, 5), (2, 5), (3, 5)]
    )
    return story.take_part(
        f"{who} uses {numerator}/{denominator} of them for a project.",
        numerator,
        denominator,
        f"{numerator}/{denominator} of {{b}} is {{b}} * {numerator}/{denominator} = {{p}}.",
        f"{who} has {{b}} - {{p}} = {{a}}.",
    )


def op_percent_sell(story: Story, who: str) -> bool:
    percent = story.rng.choice([10, 20, 25, 40, 50, 60, 75])
    return story.take_part(
        f"{who} sells {percent}% of them at a fair.",
        percent,
        100,
        f"{percent}% of {{b}} is {{b}} * {percent}/100 = {{p}}.",
        f"{who} has {{b}} - {{p}} = {{a}}.",
    )


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
    when = story.rng.choice(["Over the summer", "Then", "Later"])
    return story.single(
        f"{when} {who} {word}.", "*", Fraction(factor), "The collection grows to {b} * {x} = {a}."
    )


def op_share(story: Story, who: str) -> bool:
    people = story.rng.randint(2, 8)
    if not _nice(story.value / people):
        return False
    story.question = "How many does each friend get?"
    return story.single(
        f"{who} then shares them equally among {people} friends.",
        "/",
        Fraction(people),
        "Each friend gets {b} / {x} = {a}.",
    )


def op_run_more(story: Story, who: str) -> bool:
    rate, hours = Fraction(story.rng.choice([6, 8, 12, 15, 20, 24, 30, 45, 50, 60])), story.rng.randint(2, 10)
    day = story.rng.choice(["Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"])
    return story.add_product(
        f"On {day} it runs for {hours} hours at {rate} per hour.",
        hours,
        rate,
        f"On {day} it makes {{n}} * {{x}} = {{p}}.",
        "So far that is {b} + {p} = {a}.",
    )


def op_spoiled(story: Story, who: str) -> bool:
    percent = story.rng.choice([5, 10, 20, 25])
    return story.take_part(
        f"Then {percent}% of everything made so far fails inspection and is thrown away.",
        percent,
        100,
        f"{percent}% of {{b}} is {{b}} * {percent}/100 = {{p}}.",
        "{b} - {p} = {a} remain.",
    )


def op_boxes(story: Story, who: str) -> bool:
    size = story.rng.choice([2, 3, 4, 5, 6, 8, 10, 12, 20, 24])
    if not _nice(story.value / size):
        return False
    story.show = format_number
    story.question = "How many boxes are filled?"
    return story.single(
        f"Everything is packed into boxes of {size}.",
        "/",
        Fraction(size),
        "That fills {b} / {x} = {a} boxes.",
    )


def op_extra_leg(story: Story, who: str) -> bool:
    speed = Fraction(story.rng.choice([4, 5, 10, 12, 15, 20, 30, 40, 45, 50, 60, 65]))
    hours = Fraction(story.rng.choice([1, 2, 3, 4, 5])) + Fraction(story.rng.choice([0, 0, 1, 2]), 2) / 2
    if not _nice(speed * hours):
        return False
    duration = f"{format_number(hours)} hour{'s' if hours != 1 else ''}"
    return story.add_product(
        f"Then {who} continues at {speed} miles per hour for {duration}.",
        hours,
        speed,
        "That leg covers {x} * {n} = {p} miles.",
        "The distance so far is {b} + {p} = {a}.",
    )


def op_detour(story: Story, who: str) -> bool:
    miles = Fraction(story.rng.randint(2, 25))
    article = "an" if miles in (8, 11, 18) else "a"
    return story.single(
        f"A road closure adds {article} {miles}-mile detour.", "+", miles, "With the detour: {b} + {x} = {a}."
    )


def op_round_trip(story: Story, who: str) -> bool:
    if story.used["op_round_trip"]:
        return False
    return story.single(
        f"{who} then returns home the same way.",
        "*",
        Fraction(2),
        "The round trip doubles the distance: {b} * {x} = {a}.",
    )


def op_more_tasks(story: Story, who: str) -> bool:
    count, minutes = story.rng.randint(2, 8), Fraction(story.rng.choice([5, 6, 10, 12, 15, 20, 25, 30, 45]))
    task = story.rng.choice(TASKS)
    return story.add_product(
        f"Next, {who} does {count} {task}, each taking {minutes} minutes.",
        count,
        minutes,
        f"The {task} take {{n}} * {{x}} = {{p}} minutes.",
        "The total is {b} + {p} = {a}.",
    )


def op_break(story: Story, who: str) -> bool:
    minutes = Fraction(story.rng.choice([5, 10, 15, 20, 30]))
    return story.single(
        f"{who} also takes a {minutes}-minute break.", "+", minutes, "With the break: {b} + {x} = {a}."
    )


def op_to_hours(story: Story, who: str) -> bool:
    if (story.value / 60 * 4).denominator != 1:
        return False
    story.question = f"How many hours does {who} spend in total?"  # the question asks for the conversion
    story.show = lambda value: f"{format_number(value)} hours"
    return story.single(None, "/", Fraction(60), "In hours that is {b} / {x} = {a}.")


def op_years_pass(story: Story, who: str) -> bool:
    years = Fraction(story.rng.randint(2, 15))
    if story.value + years > 100:
        return False
    return story.single(
        f"{years} years pass.", "+", years, f"After {years} years the age is {{b}} + {{x}} = {{a}}."
    )


def op_relative_older(story: Story, who: str) -> bool:
    years = Fraction(story.rng.randint(2, 30))
    relative = story.rng.choice(["cousin", "aunt", "teacher", "neighbour"])
    if story.value + years > 100:
        return False
    return story.single(
        f"{who}'s {relative} is {years} years older than that.",
        "+",
        years,
        f"The {relative} is {{b}} + {{x}} = {{a}}.",
    )


def op_relative_times(story: Story, who: str) -> bool:
    factor = story.rng.choice([2, 3, 4])
    if story.value * factor > 100:
        return False
    word = {2: "twice", 3: "three times", 4: "four times"}[factor]
    return story.single(
        f"Someone else is {word} as old as that.",
        "*",
        Fraction(factor),
        f"{word.capitalize()} {{b}} is {{b}} * {{x}} = {{a}}.",
    )


def op_relative_half(story: Story, who: str) -> bool:
    if not _nice(story.value / 2):
        return False
    return story.single(
        "A younger friend is half that age.", "/", Fraction(2), "Half of {b} is {b} / {x} = {a}."
    )


def op_years_ago(story: Story, who: str) -> bool:
    years = Fraction(story.rng.randint(1, 10))
    if story.value - years <= 0:
        return False
    return story.single(
        f"Consider the age {years} years earlier.",
        "-",
        years,
        f"{years} years earlier the age was {{b}} - {{x}} = {{a}}.",
    )


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
    fmt: Callable[[Fraction], str] = format_number  #: bare numbers of the topic in worked steps


def _start_money(rng: random.Random, who: str) -> Opening:
    value = Fraction(rng.choice(range(40, 501, 5))) + Fraction(rng.choice([0, 0, 0, 50]), 100)
    return Opening(
        value, f"{who} has {money(value)}.", money, f"How much money does {who} have now?", fmt=money
    )


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
        format_number,
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
    Topic("distance", _start_distance, (op_extra_leg, op_detour, op_round_trip)),
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
            opening.value,
            _leaf(opening.value) if opening.expr is None else opening.expr,
            opening.show,
            opening.fmt,
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
            if story.used[operation.__name__] >= MAX_USES:
                continue  # variety: no story repeats one operation more than MAX_USES times
            saved = (story.value, story.expr, story.ops, story.question, Counter(story.used), story.show)
            n_sentences, n_steps = len(story.sentences), len(story.steps)
            if not operation(story, who) or story.ops > target_ops:
                story.value, story.expr, story.ops, story.question, story.used, story.show = saved
                del story.sentences[n_sentences:]
                del story.steps[n_steps:]
                continue
            story.used[operation.__name__] += 1
            if operation in chosen.finishers:
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
