"""LLM self-critique as a state value (Agent Q's AI feedback, in its simplest scoring form).

:class:`SelfCritique` asks the policy's own model whether the trajectory so far is on track to complete
the task and reads the answer's probability instead of sampling it: value = P(" Yes") / (P(" Yes") +
P(" No")) from one batched ``score`` call. Use it with ``MCTSConfig(value="critic")`` (replaces the
rollout) or ``value="mixed"`` (Agent Q's alpha blend with the rollout return); ``collect`` builds it
with :func:`make_evaluator` whenever the search config asks for one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from agentsearch.agents.base import Agent, History
from agentsearch.agents.llm_agent import LLMAgent
from agentsearch.errors import ConfigError
from agentsearch.llm.base import Message, Prompt
from agentsearch.search.base import Evaluator, SearchConfig
from agentsearch.search.tree import SearchTree

__all__ = ["SelfCritique", "CRITIQUE_QUESTION", "make_evaluator"]

CRITIQUE_QUESTION = (
    "Stop acting for a moment and judge the trajectory above. Is it on track to complete the task "
    "exactly as instructed? Answer with Yes or No."
)


class AsyncScorer(Protocol):
    async def score(self, prompt: Prompt, continuations: Sequence[str]) -> list[float]: ...


class SelfCritique:
    """An :class:`~agentsearch.search.base.Evaluator` backed by the agent's model.

    Args:
        backend: async ``score(prompt, continuations)`` (a ``RequestBatcher``), shared with the agent so
            critique calls batch with everything else.
        messages_fn: the agent's ``messages`` (the critic sees the history exactly as the agent does).
        question: the user turn appended to the history.
        answers: the (positive, negative) continuations scored.
    """

    def __init__(
        self,
        backend: AsyncScorer,
        messages_fn: Callable[[History], list[Message]],
        *,
        question: str = CRITIQUE_QUESTION,
        answers: tuple[str, str] = ("Yes", "No"),
    ) -> None:
        self.backend = backend
        self.messages_fn = messages_fn
        self.question = question
        self.answers = answers

    async def evaluate(self, tree: SearchTree, node: int) -> float:
        messages: list[Any] = [
            *self.messages_fn(tree.history(node)),
            {"role": "user", "content": self.question},
        ]
        yes, no = await self.backend.score(messages, list(self.answers))
        top = max(yes, no)
        return math.exp(yes - top) / (math.exp(yes - top) + math.exp(no - top))


def make_evaluator(config: SearchConfig, agent: Agent) -> Evaluator | None:
    """The evaluator ``config`` needs (``MCTSConfig(value="critic" | "mixed")``), ``None`` when it needs none.

    The critic is the acting model judging its own trajectory, so it shares the agent's batched backend
    and renders histories with the agent's ``messages``.

    Raises:
        ConfigError: the agent has no model to ask (the scripted ``random`` policy).
    """
    if not config.needs_evaluator:
        return None
    if not isinstance(agent, LLMAgent):
        raise ConfigError(
            f"This {type(config).__name__} values states with the agent's own model (SelfCritique), and "
            f"{type(agent).__name__} has none: use an LLM model, or the rollout value."
        )
    return SelfCritique(agent.backend, agent.messages)
