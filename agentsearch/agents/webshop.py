"""WebShop prompts (ETO's format: instruction, one-shot example, ``Observation:\\n`` + page text).

Action policy for ``action_mode="score_valid"``: on the search page the only thing to do is type a
query, so the response is forced to ``search[`` and the model generates the keywords; on every other
page it chooses among the page's clickables (``click[...]``), which are scored as written on the page
(``click[B0TWTX5L2I]``, ``click[Buy Now]``, as in ETO's examples): the env lower-cases them, but a
model copying a product id from the page gives the lower-cased id far less probability. WebShop accepts
``search[...]`` from any page, but ETO-style agents go back with ``click[back to search]``, which is
among the clickables.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agentsearch.agents.parsing import (
    WRAPPERS,
    action_text,
    bound_action,
    clean_text,
    first_meaningful_line,
    strip_wrappers,
    text_lines,
)
from agentsearch.agents.prompts import EXAMPLES_FILE, EnvPrompt
from agentsearch.plugins import SHIPPED_CONFIGS, EnvPlugin, register_env_plugin

__all__ = [
    "INSTRUCTION", "INSTRUCTION_ACT", "action_prefix", "demo_thought", "make_prompt", "parse_webshop_action",
    "scorable_actions",
]

_BODY = """You are shopping online in WebShop. You are given an instruction that describes a product \
to buy. Each round you see the current web page as an observation: its text segments are separated \
by [SEP], and buttons and product ids appear among them.
Answer each round with exactly one action, in one of two forms:
search[keywords] to search for products, on the search page;
click[value] to click a button, product id or option shown on the current page, e.g. click[Buy Now], \
click[< Prev], click[Next >], click[Back to Search], click[Description].
The value you click must appear on the current page. Pick the product that best matches the \
instruction, click the options it asks for (size, color ...) on the product page, then click[Buy Now]. \
Choose your search keywords carefully."""

INSTRUCTION = (
    _BODY
    + """
Your response must use this format:
Thought: I think ...
Action: click[something]"""
)

INSTRUCTION_ACT = (
    _BODY
    + """
Your response must use this format:
Action: click[something]"""
)


def scorable_actions(valid_actions: Sequence[str] | None, observation: str = "") -> list[str] | None:
    """The page's ``click[...]`` actions spelled as on the page, or ``None`` on the search page."""
    if not valid_actions:
        return None
    clicks = [a for a in valid_actions if a.lower().startswith("click[") and a.lower() != "click[search]"]
    shown = {segment.strip().lower(): segment.strip() for segment in observation.split("[SEP]")}
    return [f"click[{shown.get(a[6:-1].lower(), a[6:-1])}]" for a in clicks] or None


def action_prefix(valid_actions: Sequence[str] | None) -> str | None:
    """``"search["`` on the search page (only a search is possible there), else ``None``."""
    if valid_actions and all(a.lower().startswith("search[") for a in valid_actions):
        return "search["
    return None


_ARGUMENT = re.compile(r"^(\w+)\[(.*)\]$")


def demo_thought(action: str, instruction: str, observation: str, step: int) -> str:
    """The templated thought of an expert action, given the page it is taken on (ETO's ``I think`` style)."""
    match = _ARGUMENT.match(action)
    verb, value = (match.group(1), match.group(2)) if match else ("", action)
    lowered = value.lower()
    if verb == "search":
        return "I think I should use the search bar to look for the product I need."
    if lowered == "buy now":
        return "I think I have found the right product with the options I need, so I will buy it now."
    if lowered == "next >":
        return "I think none of these products match well, so I will look at the next page."
    if lowered in ("< prev", "back to search"):
        return "I think this is not what I need, so I will go back."
    if lowered in ("description", "features", "reviews"):
        return f"I think I should read the {lowered} to check that this product matches."
    if "Total results:" in observation and value.upper() in observation:  # a product id on a results page
        return f"I think {value.upper()} matches what I am looking for, so I will open it."
    return f"I think I should select '{value}', as the instruction asks for it."


def _format_observation(observation: str) -> str:
    return "Observation:\n" + observation


def _format_observation_task(instruction: str, observation: str) -> str:
    return _format_observation(observation)  # the page text already states the instruction


_WEBSHOP_VERB = re.compile(r"\b(search|click)\s*\[", re.IGNORECASE)


# ---------------------------------------------------------------------------- WebShop
def _webshop_command(line: str) -> str | None:
    """``search[...]``/``click[...]`` in ``line``, keyword lower-cased, argument up to the last ``]``.

    WebShop parses actions with the greedy ``(.+)\\[(.+)\\]``, so the last ``]`` closes the
    argument; an unclosed bracket (the sample hit its token limit) is closed at the end of the line.
    """
    verb = _WEBSHOP_VERB.search(line)
    if verb is None:
        return None
    start = verb.end()
    end = line.rfind("]")
    argument = line[start:end] if end >= start else line[start:].rstrip(WRAPPERS + ".")
    return bound_action(f"{verb.group(1).lower()}[{argument.strip()}]")


def parse_webshop_action(text: str) -> str:
    """WebShop action in ``text``: ``search[keywords]`` or ``click[value]``.

    Looks on the ``Action:`` line first, then anywhere in the response (a model that forgot the
    marker); without either, returns the first non-thought line, which the environment rejects.
    """
    line = action_text(text)
    if line is not None:
        command = _webshop_command(line)
        if command is not None:
            return command
    for candidate in text_lines(clean_text(text)):
        command = _webshop_command(candidate)
        if command is not None:
            return command
    return strip_wrappers(line) if line else first_meaningful_line(text)


def make_prompt() -> EnvPrompt:
    return EnvPrompt(
        env_name="webshop",
        instruction=INSTRUCTION,
        instruction_act=INSTRUCTION_ACT,
        parse=parse_webshop_action,
        format_task=_format_observation_task,
        format_observation=_format_observation,
        scorable_actions=scorable_actions,
        action_prefix=action_prefix,
        demo_thought=demo_thought,
        examples=PLUGIN.load_examples(),
    )


#: The plug-in record of this environment (``agentsearch.plugins``).
PLUGIN = register_env_plugin(
    EnvPlugin(
        "agentsearch/WebShop-v0",
        prompt=make_prompt,
        parser=parse_webshop_action,
        configs=SHIPPED_CONFIGS / "webshop.yaml",
        examples=EXAMPLES_FILE,
        description="online shopping over a generated catalog (Yao et al., 2022)",
    )
)
