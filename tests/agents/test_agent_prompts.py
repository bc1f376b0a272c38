"""Chat layout (ETO format), ReAct vs act-only, optional few-shot example, and token-budget truncation."""

from __future__ import annotations

import pytest

from agentsearch.agents.alfworld import task_kind
from agentsearch.agents.base import History, Turn
from agentsearch.agents.llm_agent import LLMAgent
from agentsearch.agents.prompts import EnvPrompt, Example, ExampleStep
from agentsearch.agents.truncation import TRUNCATION_MARK, count_chat_tokens, fit_messages
from agentsearch.agents.webshop import parse_webshop_action
from agentsearch.errors import ConfigError

EXAMPLE = Example(
    env_name="toy",
    task_id="7",
    kind="",
    instruction="buy red shoes",
    observation="WebShop [SEP] Instruction: [SEP] buy red shoes [SEP] Search",
    steps=(
        ExampleStep("I should search.", "search[red shoes]", "Page 1 [SEP] B01 [SEP] Red Shoe"),
        ExampleStep("B01 matches.", "click[b01]", "Red Shoe [SEP] Buy Now"),
        ExampleStep("Buy it.", "click[buy now]", "Thank you for shopping with us!"),
    ),
)


def toy_prompt(examples: tuple[Example, ...] = (EXAMPLE,)) -> EnvPrompt:
    return EnvPrompt(
        env_name="toy",
        instruction="INSTRUCTION (react)",
        instruction_act="INSTRUCTION (act)",
        parse=parse_webshop_action,
        format_task=lambda instruction, observation: "Observation:\n" + observation,
        format_observation=lambda observation: "Observation:\n" + observation,
        examples=examples,
    )


HISTORY = History(
    "buy blue socks",
    "WebShop [SEP] Instruction: [SEP] buy blue socks [SEP] Search",
    (
        Turn(
            "Thought: search.\nAction: search[blue socks]",
            "search[blue socks]",
            "Page 1 [SEP] B02 [SEP] Socks",
        ),
    ),
)


def assert_alternates(messages: list[dict]) -> None:
    roles = [m["role"] for m in messages]
    assert roles[0] == "user" and roles[-1] == "user"
    assert all(a != b for a, b in zip(roles, roles[1:], strict=False))


def test_react_layout_with_example() -> None:
    prompt = toy_prompt()
    messages = prompt.head(HISTORY) + prompt.turns(HISTORY)
    assert_alternates(messages)
    assert messages[0]["content"] == "INSTRUCTION (react)"
    assert messages[1] == {"role": "assistant", "content": "OK"}
    assert messages[2]["content"] == "Observation:\n" + EXAMPLE.observation
    assert messages[3]["content"] == "Thought: I should search.\nAction: search[red shoes]"
    assert messages[4]["content"] == "Observation:\nPage 1 [SEP] B01 [SEP] Red Shoe"
    # The example ends on its last response; the example's final observation is not shown.
    assert messages[7]["content"] == "Thought: Buy it.\nAction: click[buy now]"
    assert messages[8]["content"] == "Observation:\n" + HISTORY.observation
    assert messages[9]["content"] == HISTORY.turns[0].response
    assert messages[10]["content"] == "Observation:\nPage 1 [SEP] B02 [SEP] Socks"
    assert len(messages) == 11


def test_act_only_layout_has_no_thoughts() -> None:
    messages = toy_prompt().head(HISTORY, react=False)
    assert messages[0]["content"] == "INSTRUCTION (act)"
    responses = [m["content"] for m in messages if m["role"] == "assistant"][1:]
    assert responses == ["Action: search[red shoes]", "Action: click[b01]", "Action: click[buy now]"]


def test_without_example_the_prompt_is_lean() -> None:
    for prompt, kwargs in [(toy_prompt(), {"icl": False}), (toy_prompt(examples=()), {})]:
        messages = prompt.head(HISTORY, **kwargs)
        assert [m["role"] for m in messages] == ["user", "assistant", "user"]
        assert messages[2]["content"] == "Observation:\n" + HISTORY.observation


def test_examples_are_picked_by_kind() -> None:
    heat = Example("alfworld", "1", "heat", "heat some egg", "obs", ())
    clean = Example("alfworld", "2", "clean", "clean some mug", "obs", ())
    prompt = EnvPrompt(
        "alfworld", "i", "a", parse_webshop_action, lambda i, o: o, kind_of=task_kind, examples=(heat, clean)
    )
    assert prompt.example_for("put a clean plate in shelf") is clean
    assert prompt.example_for("put a hot apple in fridge") is heat
    assert prompt.example_for("put some pen on desk") is heat  # no "put" example: the first one


@pytest.mark.parametrize(
    ("goal", "kind"),
    [
        ("put a clean mug in coffeemachine", "clean"),
        ("clean some soapbar and put it in cabinet", "clean"),
        ("put a hot apple in fridge", "heat"),
        ("heat some egg and put it in garbagecan", "heat"),
        ("put a cool tomato in microwave", "cool"),
        ("cool some pan and put it in stoveburner", "cool"),
        ("look at cd under the desklamp", "examine"),
        ("examine the book with the desklamp", "examine"),
        ("put two cellphone in sofa", "puttwo"),
        ("find two pillow and put them in armchair", "puttwo"),
        ("put some spraybottle on toilet", "put"),
        ("put a soapbottle in cabinet", "put"),
    ],
)
def test_alfworld_task_kind(goal: str, kind: str) -> None:
    assert task_kind(goal) == kind


# ---------------------------------------------------------------------------- truncation
@pytest.fixture(scope="module")
def tokenizer():
    from agentsearch.llm.models import load_tokenizer

    return load_tokenizer("tiny-random")


def long_history(num_turns: int, observation_words: int = 60) -> History:
    turns = tuple(
        Turn(
            f"Thought: step {i}.\nAction: click[item {i}]",
            f"click[item {i}]",
            f"page {i} " + "word " * observation_words,
        )
        for i in range(num_turns)
    )
    return History("buy blue socks", "WebShop [SEP] Instruction: [SEP] buy blue socks [SEP] Search", turns)


def test_within_budget_is_unchanged(tokenizer) -> None:
    prompt = toy_prompt()
    history = long_history(3)
    messages = prompt.head(history) + prompt.turns(history)
    assert fit_messages(messages, len(prompt.head(history)), tokenizer, 10_000) == messages


def test_oldest_turns_are_dropped_first(tokenizer) -> None:
    prompt = toy_prompt()
    history = long_history(30)
    head = prompt.head(history)
    full = head + prompt.turns(history)
    budget = count_chat_tokens(tokenizer, full) // 2
    fitted = fit_messages(full, len(head), tokenizer, budget)
    assert count_chat_tokens(tokenizer, fitted) <= budget
    assert fitted[: len(head)] == head
    kept = fitted[len(head) :]
    assert kept == full[len(full) - len(kept) :]  # a suffix: the latest turns
    assert 2 <= len(kept) < len(full) - len(head)
    assert_alternates(fitted)
    # As many turns as fit: one more pair would be over budget.
    one_more = head + full[len(full) - len(kept) - 2 :]
    assert count_chat_tokens(tokenizer, one_more) > budget


def test_huge_observation_is_cut_between_tokens(tokenizer) -> None:
    prompt = toy_prompt()
    history = long_history(2, observation_words=5000)
    head = prompt.head(history)
    full = head + prompt.turns(history)
    budget = count_chat_tokens(tokenizer, head) + 300
    fitted = fit_messages(full, len(head), tokenizer, budget)
    assert count_chat_tokens(tokenizer, fitted) <= budget
    assert len(fitted) == len(head) + 2
    last = fitted[-1]["content"]
    assert last.endswith(TRUNCATION_MARK)
    original = full[-1]["content"]
    assert original.startswith(last[: -len(TRUNCATION_MARK)])
    assert len(last) > 100  # it kept what fits rather than everything but nothing


def test_task_observation_is_cut_without_turns(tokenizer) -> None:
    prompt = toy_prompt()
    history = History("x", "obs " * 5000)
    head = prompt.head(history)
    budget = count_chat_tokens(tokenizer, head[:-1]) + 200
    fitted = fit_messages(head, len(head), tokenizer, budget)
    assert count_chat_tokens(tokenizer, fitted) <= budget
    assert fitted[:-1] == head[:-1] and fitted[-1]["content"].endswith(TRUNCATION_MARK)


def test_head_over_budget_raises(tokenizer) -> None:
    prompt = toy_prompt()
    head = prompt.head(HISTORY)
    with pytest.raises(ConfigError, match="icl=False"):
        fit_messages(head, len(head), tokenizer, 20)


def test_agent_messages_respect_context(tokenizer) -> None:
    agent = LLMAgent(toy_prompt(), backend=None, tokenizer=tokenizer, context_tokens=700, max_tokens=100)
    messages = agent.messages(long_history(40))
    assert count_chat_tokens(tokenizer, messages) <= 600
    assert messages[0]["content"] == "INSTRUCTION (react)"


def test_unknown_names_are_config_errors() -> None:
    from agentsearch.agents import make_agent, make_prompt

    with pytest.raises(ConfigError, match="Did you mean `alfworld`"):
        make_prompt("alfwrld")
    with pytest.raises(ConfigError, match="Did you mean `action_mode`"):
        make_agent("math", object(), action_mod="score_valid")
    with pytest.raises(ConfigError, match="action_mode"):
        LLMAgent(toy_prompt(), backend=None, action_mode="beam")
