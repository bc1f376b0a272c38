"""What an agent is to the rest of agentsearch: it turns a history into chat messages and candidates.

A :class:`History` is the initial observation plus the turns taken so far. An agent renders it into the
chat the model sees (:meth:`Agent.messages`; preference pairs store exactly these messages as their
``prompt``) and proposes distinct candidate actions (:meth:`Agent.propose`) under one
:class:`~agentsearch.llm.base.SamplingParams`: callers set ``n``, ``temperature`` and ``seed`` over the
agent's :attr:`~Agent.default_sampling` (its configured ``top_p``, ``max_tokens``) with
:func:`sampling_for`. Search algorithms, the Q-guided agent and evaluation only use this protocol.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from agentsearch.llm.base import Message, SamplingParams

__all__ = ["Turn", "History", "Candidate", "Agent", "sampling_for"]


@dataclass(frozen=True)
class Turn:
    """One step of an episode: the model's full response, the action parsed from it, what came back."""

    response: str
    action: str
    observation: str


@dataclass(frozen=True)
class History:
    """Everything an agent has seen in an episode.

    Attributes:
        instruction: the task instruction (``info["instruction"]``).
        observation: the observation returned by ``reset``.
        turns: the steps taken so far, oldest first.
    """

    instruction: str
    observation: str
    turns: tuple[Turn, ...] = ()

    def extend(self, turn: Turn) -> History:
        return History(self.instruction, self.observation, (*self.turns, turn))

    @property
    def last_observation(self) -> str:
        return self.turns[-1].observation if self.turns else self.observation


@dataclass(frozen=True)
class Candidate:
    """A proposed next step.

    Attributes:
        response: the full assistant turn (``Thought: ... Action: ...``) as it enters the chat history.
        action: the action string parsed from ``response`` (sent to ``env.step``).
        logprob: summed log-probability of ``response`` under the agent's model.
        num_tokens: tokens in ``response``.
        count: how many of the ``n`` samples produced this action (candidates are deduplicated by action).
    """

    response: str
    action: str
    logprob: float
    num_tokens: int
    count: int = 1
    extras: dict[str, object] = field(default_factory=dict, compare=False)


@runtime_checkable
class Agent(Protocol):
    """A policy over text actions."""

    #: Short name of the environment the agent's prompts are written for (``"webshop"`` ...).
    env_name: str

    @property
    def default_sampling(self) -> SamplingParams:
        """How the agent samples unless a caller says otherwise (its configured ``top_p``, ``max_tokens``)."""
        ...

    def messages(self, history: History) -> list[Message]:
        """The chat the model sees before its next turn, truncated to fit the context window."""
        ...

    async def propose(
        self, history: History, sampling: SamplingParams, *, valid_actions: Sequence[str] | None = None
    ) -> list[Candidate]:
        """Sample ``sampling.n`` responses and return the distinct candidate actions among them.

        ``sampling.temperature`` 0 is greedy; ``sampling.seed`` makes a deterministic backend reproducible.
        The agent adds its own stop strings to ``sampling.stop``.
        """
        ...


def sampling_for(
    agent: Agent, n: int, temperature: float | None = None, *, seed: int | None = None
) -> SamplingParams:
    """``agent``'s default sampling with ``n`` samples at ``temperature`` (default: its own), ``seed``."""
    default = agent.default_sampling
    temperature = default.temperature if temperature is None else temperature
    return dataclasses.replace(default, n=n, temperature=temperature, seed=seed)
