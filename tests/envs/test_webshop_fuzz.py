"""Hostile actions never raise: hypothesis drives thousands of random, malformed and valid actions."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentsearch.envs.webshop import WebShopEnv

ENV = WebShopEnv(split="test")
ENV.reset(options={"task_id": "0"})
START = ENV.snapshot()
# An option value that exists in the catalog, for "option from another product" actions.
FOREIGN_OPTION = next(v for p in ENV.world.catalog.products for vs in p.options.values() for v in vs)

ODD = [
    "",
    " ",
    "\n",
    "search[",
    "click]",
    "][",
    "[[]]",
    "search[[]]",
    "click[[b0]]",
    "search[\x00]",
    "click[\ud800]",
    "search[\u202eevil\u202c]",
    "𝔰𝔢𝔞𝔯𝔠𝔥[𝔰𝔥𝔬𝔢𝔰]",
    "search[ｓｈｏｅｓ]",
    "click[b0zzzzzzzz]",
    f"click[{FOREIGN_OPTION}]",
    "click[buy now]",
    "click[next >]",
    "click[< prev]",
    "search[" + "a " * 50_000 + "]",
    "x" * 100_000,
    "[" * 100_000,
    "search[" * 10_000 + "]" * 10_000,
]

names = st.sampled_from(["search", "click", "Search", "CLICK", "think", "", "search ", "buy"])
arguments = st.one_of(
    st.text(max_size=40), st.sampled_from(["next >", "< prev", "buy now", "back to search"])
)
structured = st.builds(lambda name, arg: f"{name}[{arg}]", names, arguments)
hostile = st.one_of(st.text(max_size=200), st.sampled_from(ODD), structured)


def _check(result: tuple) -> None:
    observation, reward, terminated, truncated, info = result
    assert isinstance(observation, str) and observation
    assert isinstance(reward, float) and 0.0 <= reward <= 1.0
    assert isinstance(terminated, bool) and isinstance(truncated, bool)
    assert isinstance(info["valid_actions"], list)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_action_sequences_never_raise(data: st.DataObject) -> None:
    ENV.restore(START)
    for _ in range(data.draw(st.integers(min_value=1, max_value=30))):
        if ENV.done:
            break
        valid = [a for a in ENV.info["valid_actions"] if a != "search[<query>]"]
        if valid and data.draw(st.booleans()):
            action = data.draw(st.sampled_from(valid))  # go deeper into item pages
        else:
            action = data.draw(hostile)
        _check(ENV.step(action))


def test_thousands_of_seeded_random_actions() -> None:
    rng = random.Random(0)
    alphabet = "abc[] >\n<é中\ud800\x00" + "".join(chr(c) for c in range(0x20, 0x7F))
    for episode in range(100):
        ENV.reset(options={"task_id": str(episode % 500)})
        for _ in range(30):
            if ENV.done:
                break
            roll = rng.random()
            valid = [a for a in ENV.info["valid_actions"] if a != "search[<query>]"]
            if roll < 0.4 and valid:
                action = rng.choice(valid)
            elif roll < 0.6:
                action = rng.choice(ODD)
            elif roll < 0.8:
                action = f"search[{''.join(rng.choices(alphabet, k=rng.randint(0, 30)))}]"
            else:
                action = "".join(rng.choices(alphabet, k=rng.randint(0, 60)))
            _check(ENV.step(action))
