"""ALFWorld prompts: ReAct-style examples chosen by task type, in ETO's chat format.

The first observation holds the room and the task (``Your task is to: ...``); later observations are
sent as ``Observation: <text>``. The example shown is one of the same task type (put, clean, heat,
cool, examine, puttwo: ReAct's six prompt keys), recorded from our environment's expert walkthrough.
In ``action_mode="score_valid"`` every admissible command is scored.
"""

from __future__ import annotations

import re

from agentsearch.agents.parsing import (
    SPACES,
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
    "ALFWORLD_VERBS", "TASK_KINDS", "demo_thought", "instruction", "make_prompt", "parse_alfworld_action",
    "task_kind",
]

#: ReAct's prompt keys for the six ALFWorld task types.
TASK_KINDS: tuple[str, ...] = ("put", "clean", "heat", "cool", "examine", "puttwo")


def task_kind(instruction: str) -> str:
    """The ReAct prompt key of a task from its goal sentence (``put a hot apple in fridge`` -> ``heat``)."""
    goal = instruction.lower()
    if " two " in f" {goal} ":
        return "puttwo"
    if goal.startswith(("look at", "examine")):
        return "examine"
    for kind, words in (("clean", ("clean",)), ("heat", ("hot", "heat")), ("cool", ("cool", "cold"))):
        if any(f" {word} " in f" {goal} " for word in words):
            return kind
    return "put"


def instruction(*, react: bool, placement: str) -> str:
    """The instruction text; ``placement`` is the game files' put command (``put {obj} in/on {recep}``)."""
    fmt = "Thought: your thoughts.\nAction: your next action" if react else "Action: your next action"
    think = " Think first about the current situation and your plan, then act." if react else ""
    return f"""Interact with a household to solve a task. You are an agent in a household; at the start \
you are told what the room holds and the goal of your task. Each turn you get the observation of your \
last action and answer with one action.{think} Your answer must follow this format:
{fmt}
The available actions are:
1. go to {{recep}}
2. take {{obj}} from {{recep}}
3. {placement}
4. open {{recep}}
5. close {{recep}}
6. use {{obj}}
7. heat {{obj}} with {{recep}}
8. cool {{obj}} with {{recep}}
9. clean {{obj}} with {{recep}}
10. examine {{obj}} or examine {{recep}}
11. look
12. inventory
{{obj}} and {{recep}} are objects and receptacles with their number, e.g. apple 1, cabinet 2. \
If the environment answers "Nothing happens.", your action was not possible: try something else."""


BANNER = "-= Welcome to TextWorld, ALFRED! =-"


def _format_task(instruction_: str, observation: str) -> str:
    """The first observation ("You are in the middle of a room ... Your task is to: ..."), without
    TextWorld's banner, as ReAct, ETO and AgentGym show it."""
    if observation.startswith(BANNER):
        observation = observation[len(BANNER) :].lstrip("\n")
    return observation


# The object a goal sentence names: "put a hot {obj} in ...", "look at {obj} under ...", ...
_GOAL_OBJECT = re.compile(
    r"^(?:put (?:a|some|two) (?:(?:clean|hot|cool) )?|(?:clean|heat|cool) some "
    r"|look at |examine the |find two )(\w+)"
)


def demo_thought(action: str, instruction: str, observation: str, step: int) -> str:
    """A templated thought for an expert command (ReAct-style plans and checks)."""
    words = action.split()
    verb = words[0] if words else ""
    if verb == "go":
        target = " ".join(words[2:])
        goal = _GOAL_OBJECT.match(instruction.lower())
        if step == 0 and goal is not None:
            return f"To solve the task, I need to find a {goal.group(1)} first. I will look at the {target}."
        return f"Next, I should go to the {target}."
    if verb == "open":
        return f"The {' '.join(words[1:])} is closed, so I will open it."
    if verb == "take":
        obj, _, recep = " ".join(words[1:]).partition(" from ")
        return f"I found the {obj}. I will take it from the {recep}."
    if verb in ("put", "move"):
        obj, recep = ([*re.split(r" (?:in/on|in|on|to) ", " ".join(words[1:]), maxsplit=1), ""])[:2]
        return f"Now I put the {obj} in/on the {recep}."
    if verb in ("heat", "cool", "clean"):
        obj, _, tool = " ".join(words[1:]).partition(" with ")
        return f"Now I {verb} the {obj} with the {tool}."
    if verb == "use":
        return f"Now I turn on the {' '.join(words[1:])} to look at the object under its light."
    if verb == "examine":
        return f"I will examine the {' '.join(words[1:])}."
    return "I should look around."


#: First words of ALFWorld commands (``think:`` is ReAct's reasoning action).
ALFWORLD_VERBS = frozenset(
    {
        "go",
        "open",
        "close",
        "take",
        "put",
        "move",
        "use",
        "heat",
        "cool",
        "clean",
        "slice",
        "examine",
        "look",
        "inventory",
        "help",
        "think:",
    }
)


# ---------------------------------------------------------------------------- ALFWorld
def _alfworld_command(line: str) -> str:
    line = strip_wrappers(line)
    if line.lower().startswith("think:"):  # keep the thought's own case; only the verb is a keyword
        return bound_action("think:" + line[len("think:") :])
    return bound_action(SPACES.sub(" ", line).lower().rstrip(".!").strip(WRAPPERS))


def _is_alfworld_command(line: str) -> bool:
    words = strip_wrappers(line).lower().split(maxsplit=1)
    return bool(words) and (words[0] in ALFWORLD_VERBS or words[0].startswith("think:"))


def parse_alfworld_action(text: str) -> str:
    """ALFWorld command in ``text`` (``go to cabinet 1``, ``take apple 1 from countertop 1`` ...).

    Uses the ``Action:`` line; without one, the first line that starts with a command verb (ReAct's
    act-only answers are bare commands). Commands are lower-cased with single spaces and no final
    period, as ALFWorld's admissible commands are written.
    """
    line = action_text(text)
    if line:
        return _alfworld_command(line)
    for candidate in text_lines(clean_text(text)):
        if _is_alfworld_command(candidate):
            return _alfworld_command(candidate)
    return _alfworld_command(first_meaningful_line(text))


def make_prompt() -> EnvPrompt:
    examples = PLUGIN.load_examples()
    # Speak the same put/move wording as the game files the examples were recorded in.
    moves = any(step.action.startswith("move ") for e in examples for step in e.steps)
    placement = "move {obj} to {recep}" if moves else "put {obj} in/on {recep}"
    return EnvPrompt(
        env_name="alfworld",
        instruction=instruction(react=True, placement=placement),
        instruction_act=instruction(react=False, placement=placement),
        parse=parse_alfworld_action,
        format_task=_format_task,
        kind_of=task_kind,
        demo_thought=demo_thought,
        examples=examples,
    )


#: The plug-in record of this environment (``agentsearch.plugins``).
PLUGIN = register_env_plugin(
    EnvPlugin(
        "agentsearch/ALFWorld-v0",
        prompt=make_prompt,
        parser=parse_alfworld_action,
        configs=SHIPPED_CONFIGS / "alfworld.yaml",
        examples=EXAMPLES_FILE,
        description="household tasks in TextWorld games (Shridhar et al., 2021)",
    )
)
