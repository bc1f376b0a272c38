"""ALFWorld prompts: ReAct-style examples chosen by task type, in ETO's chat format.

The first observation holds the room and the task (``Your task is to: ...``); later observations are
sent as ``Observation: <text>``. The example shown is one of the same task type (put, clean, heat,
cool, examine, puttwo: ReAct's six prompt keys), recorded from our environment's expert walkthrough.
In ``action_mode="score_valid"`` every admissible command is scored.
"""

from __future__ import annotations

from agentsearch.agents.parsing import parse_alfworld_action
from agentsearch.agents.prompts import EnvPrompt, load_examples

__all__ = ["TASK_KINDS", "instruction", "make_prompt", "task_kind"]

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


def make_prompt() -> EnvPrompt:
    examples = tuple(e for e in load_examples() if e.env_name == "alfworld")
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
        examples=examples,
    )
