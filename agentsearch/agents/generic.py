"""The prompt of an environment without its own: built from the env's instruction and observations.

Any gymnasium text environment gets it (``agentsearch collect --env mypkg/MyEnv-v0``). The task message
is the env's instruction (``info["instruction"]``, when it has one) and first observation; later
observations are sent as ``Observation: ...``; responses are ``Thought: ...\\nAction: ...`` (ReAct) or
``Action: ...``, parsed by the plug-in's parser (the ``Action:`` line by default). Where the env lists
valid actions, ``action_mode="score_valid"`` scores them; otherwise the model writes its action freely.
"""

from __future__ import annotations

from typing import Any

from agentsearch.agents.prompts import EnvPrompt

__all__ = ["INSTRUCTION", "INSTRUCTION_ACT", "format_task", "make_generic_prompt"]

_BODY = """You are an agent acting in a text environment to complete a task. Each round you see an \
observation of the environment and answer with exactly one action, written as the environment expects \
it (a short command). Keep acting until the task is done."""

INSTRUCTION = (
    _BODY
    + """
Your response must use this format:
Thought: what to do next and why
Action: the action"""
)

INSTRUCTION_ACT = (
    _BODY
    + """
Your response must use this format:
Action: the action"""
)


def format_task(instruction: str, observation: str) -> str:
    """The task message: the instruction (when the env gives one) and the first observation."""
    if instruction and instruction.strip() not in observation:
        return f"Task: {instruction.strip()}\nObservation: {observation}"
    return f"Observation: {observation}"


def make_generic_prompt(plugin: Any) -> EnvPrompt:
    """The generic :class:`EnvPrompt` of ``plugin`` (an :class:`~agentsearch.plugins.EnvPlugin`)."""
    return EnvPrompt(
        env_name=plugin.name,
        instruction=INSTRUCTION,
        instruction_act=INSTRUCTION_ACT,
        parse=plugin.parse,
        format_task=format_task,
        examples=plugin.load_examples(),
    )
