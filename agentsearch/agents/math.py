"""Step-level math prompts: one response is one reasoning step (Step-DPO's ``Step k: ...`` format).

The environment's observation repeats the question and every step so far, which the chat already
holds (the steps are the assistant turns), so after a step the user turn only says to continue; the
history grows by one step per turn instead of quadratically. ReAct responses put a short thought
before the step (``Thought: ...\\nAction: Step k: ...``); act-only responses are the step alone. A
step that gives the result ends with ``The answer is N.``, which terminates the episode. Steps are
free text, so ``action_mode="score_valid"`` falls back to generating.
"""

from __future__ import annotations

from agentsearch.agents.parsing import (
    ACTION_MARKER,
    THOUGHT_PREFIX,
    bound_action,
    clean_text,
    format_response,
    text_lines,
)
from agentsearch.agents.prompts import EXAMPLES_FILE, EnvPrompt
from agentsearch.plugins import SHIPPED_CONFIGS, EnvPlugin, register_env_plugin

__all__ = [
    "CONTINUE", "INSTRUCTION", "INSTRUCTION_ACT", "demo_thought", "make_prompt", "parse_math_action",
    "respond",
]

#: The user turn after each step.
CONTINUE = "Continue with the next step."

_BODY = """Solve the math word problem step by step. Each of your answers is exactly one step of the \
solution: one short sentence with one calculation, numbered like "Step 1: Omar has 103 - 10 = 93 shells." \
After each step you are asked to continue. In the step that reaches the result, end with \
"The answer is N." where N is the final number."""

INSTRUCTION = (
    _BODY
    + """
Your answer must use this format:
Thought: what to compute next
Action: Step k: the step"""
)

INSTRUCTION_ACT = (
    _BODY
    + """
Your answer must be the step alone:
Step k: the step"""
)


def respond(action: str, thought: str | None) -> str:
    """``Thought: ...\\nAction: <step>`` (ReAct) or the bare step (act-only)."""
    return action if thought is None else format_response(action, thought)


def demo_thought(action: str, instruction: str, observation: str, step: int) -> str:
    """Math steps carry their own reasoning; the thought says what the step does."""
    if "answer is" in action.lower():
        return "I have everything I need, so I can state the final answer."
    if step:
        return "I think I should work out the next quantity the question needs."
    return "I think I should start from the numbers the question gives."


# ---------------------------------------------------------------------------- math
def parse_math_action(text: str) -> str:
    """One reasoning step: the response without any ``Thought:``/``Action:`` labels or code fences.

    A math step is free text, so everything the model wrote after an ``Action:`` marker (or the whole
    response without one) is the step, joined into one line per line of text.
    """
    text = clean_text(text)
    marker = ACTION_MARKER.search(text)
    if marker is not None:
        text = text[marker.end() :]
    lines = [line for line in text_lines(text) if not THOUGHT_PREFIX.match(line)]
    return bound_action("\n".join(lines).strip())


def make_prompt() -> EnvPrompt:
    examples = PLUGIN.load_examples()
    return EnvPrompt(
        env_name="math",
        instruction=INSTRUCTION,
        instruction_act=INSTRUCTION_ACT,
        parse=parse_math_action,
        format_task=lambda instruction, observation: f"Question: {observation}",
        format_observation=lambda observation: CONTINUE,
        respond=respond,
        scorable_actions=lambda valid_actions, observation: None,
        # One step per answer: stop where the model starts the next step or invents an observation.
        stop=("\nObservation", "\nThought", "\nStep "),
        demo_thought=demo_thought,
        examples=examples,
    )


#: The plug-in record of this environment (``agentsearch.plugins``).
PLUGIN = register_env_plugin(
    EnvPlugin(
        "agentsearch/Math-v0",
        prompt=make_prompt,
        parser=parse_math_action,
        configs=SHIPPED_CONFIGS / "math.yaml",
        examples=EXAMPLES_FILE,
        description="step-level arithmetic word problems, one step per action",
    )
)
