"""Action parsing: a table of what models really write, and hostile text that must stay cheap."""

from __future__ import annotations

import pytest

from agentsearch.agents.parsing import (
    MAX_ACTION_CHARS,
    action_text,
    format_response,
    match_valid_action,
    parse_action,
)

CASES = [
    # --- WebShop: ETO form and its variations
    ("webshop", "Thought: I should search.\nAction: search[red shoes]", "search[red shoes]"),
    (
        "webshop",
        "Thought:\nI think I should click the item.\n\nAction: \nclick[B078GWRC1J]",
        "click[B078GWRC1J]",
    ),
    ("webshop", "action: CLICK[Buy Now]", "click[Buy Now]"),
    ("webshop", "Action: click[buy now]\nObservation: Thank you", "click[buy now]"),
    ("webshop", "search[3 ounce deodorant]", "search[3 ounce deodorant]"),
    ("webshop", "I will now click[< Prev] to go back.", "click[< Prev]"),
    ("webshop", "Thought: ok\nAction: ```click[features]```", "click[features]"),
    ("webshop", "Thought: ok\nAction:\n```\nclick[description]\n```", "click[description]"),
    (
        "webshop",
        "**Thought:** fine\n**Action:** search[long lasting perfume]",
        "search[long lasting perfume]",
    ),
    ("webshop", "Action: click[size [x-large]]", "click[size [x-large]]"),
    ("webshop", "Action: search[red shoes under 50", "search[red shoes under 50]"),
    ("webshop", "Action: `search[ tea tree oil ]`.", "search[tea tree oil]"),
    ("webshop", "Action: search [blue jeans]", "search[blue jeans]"),
    ("webshop", "Action 1: click[next >]", "click[next >]"),
    ("webshop", "Thought: I think I should search for shoes.", "Thought: I think I should search for shoes."),
    ("webshop", "Action: buy the first one", "buy the first one"),
    ("webshop", "", ""),
    ("webshop", "\n\n   \n", ""),
    # --- ALFWorld: ETO form, ReAct act-only form, wording variations
    (
        "alfworld",
        "Thought: The apple may be on the countertop.\nAction: go to countertop 1",
        "go to countertop 1",
    ),
    ("alfworld", "Action: Take Apple 1 from Countertop 1.", "take apple 1 from countertop 1"),
    ("alfworld", "> open fridge 1", "open fridge 1"),
    ("alfworld", "go to  cabinet   2", "go to cabinet 2"),
    ("alfworld", "Sure! Let me look around.\nexamine drawer 1\nmore text", "examine drawer 1"),
    ("alfworld", "Thought: hm\nAction: `heat mug 1 with microwave 1`", "heat mug 1 with microwave 1"),
    ("alfworld", "think: First I need to find a mug.", "think: First I need to find a mug."),
    ("alfworld", "Action:\ninventory", "inventory"),
    ("alfworld", "Thought: I am lost.", "thought: i am lost"),
    ("alfworld", "ACTION: PUT MUG 1 IN/ON COFFEEMACHINE 1", "put mug 1 in/on coffeemachine 1"),
    ("alfworld", "Action: go to shelf 1\nObservation: On the shelf 1, you see a vase 2.", "go to shelf 1"),
    # --- math: a step is free text
    ("math", "Step 1: 3 + 4 = 7.", "Step 1: 3 + 4 = 7."),
    ("math", "Thought: add them\nAction: Step 2: 7 * 2 = 14.", "Step 2: 7 * 2 = 14."),
    ("math", "```\nStep 1: x = 2\n```", "Step 1: x = 2"),
    ("math", "Step 3: The answer is 14.\n", "Step 3: The answer is 14."),
    # --- an environment without its own parser: the Action: line
    ("other", "Thought: t\nAction: do something", "do something"),
    ("other", "just text", "just text"),
]


@pytest.mark.parametrize(("env_name", "text", "expected"), CASES)
def test_parse_table(env_name: str, text: str, expected: str) -> None:
    assert parse_action(text, env_name) == expected


def test_table_is_large() -> None:
    assert len(CASES) >= 30


def test_action_text_finds_first_marker_and_next_line() -> None:
    assert action_text("Thought: a\nAction: x\nAction: y") == "x"
    assert action_text("Action:\n\n  click[a]") == "click[a]"
    assert action_text("Action:") == ""
    assert action_text("no marker") is None


HOSTILE = [
    "action" + " " * 100_000,
    "Action" + " 1" * 50_000,
    "search[" * 20_000,
    "click[" + "a" * 100_000,
    "[" * 50_000 + "]" * 50_000,
    "thought" + " " * 100_000 + "x",
    "put " * 25_000 + "in x",
    "\n" * 100_000,
    "```" * 30_000,
    "\x00\ud800" * 10_000,
]


@pytest.mark.timeout(20)
@pytest.mark.parametrize("env_name", ["webshop", "alfworld", "math", "other"])
def test_hostile_text_is_parsed_quickly_and_bounded(env_name: str) -> None:
    # A catastrophic (super-linear) regex would take minutes on these; the timeout catches it.
    for text in HOSTILE:
        action = parse_action(text, env_name)
        assert isinstance(action, str)
        assert len(action) <= MAX_ACTION_CHARS
        match_valid_action(action, ["go to cabinet 1", "put a in b"])
        match_valid_action(text, ["go to cabinet 1"])


@pytest.mark.parametrize("value", [None, 3, b"Action: x"])
def test_non_string_becomes_empty_action(value: object) -> None:
    assert parse_action(value, "webshop") == ""  # type: ignore[arg-type]


def test_match_valid_action_case_spacing_and_placement_wordings() -> None:
    valid = ["go to cabinet 1", "move apple 1 to fridge 1", "click[buy now]"]
    assert match_valid_action("Go To  Cabinet 1", valid) == "go to cabinet 1"
    assert match_valid_action("put apple 1 in/on fridge 1", valid) == "move apple 1 to fridge 1"
    assert match_valid_action("put apple 1 in fridge 1", valid) == "move apple 1 to fridge 1"
    assert match_valid_action("move apple 1 to fridge 1", ["put apple 1 in/on fridge 1"]) == (
        "put apple 1 in/on fridge 1"
    )
    assert match_valid_action("put apple 1 in fridge 2", valid) is None
    assert match_valid_action("CLICK[Buy Now]", valid) == "click[buy now]"


def test_format_response_round_trips_through_parsing() -> None:
    for env_name, action in [("webshop", "click[buy now]"), ("alfworld", "go to cabinet 1")]:
        assert parse_action(format_response(action, "I should act."), env_name) == action
        assert parse_action(format_response(action), env_name) == action
