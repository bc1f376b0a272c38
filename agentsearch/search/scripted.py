"""A zero-latency policy that picks uniformly among the environment's valid actions.

:class:`RandomValidAgent` is a real :class:`~agentsearch.agents.base.Agent`: it renders histories into
chat messages and samples actions from a seeded generator, so searches driven by it are reproducible.
It measures the search engine alone (no model time) and drives tests and benchmarks.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from agentsearch.agents.base import Candidate, History
from agentsearch.errors import ConfigError
from agentsearch.llm.base import Message

__all__ = ["RandomValidAgent"]


class RandomValidAgent:
    """Samples ``n`` actions uniformly (with replacement) from the valid actions and deduplicates them.

    Args:
        env_name: the environment the agent plays (recorded in trees).
        actions: actions to draw from when the environment gives no valid-action list (free-form envs).
    """

    model_name = "random-valid"
    backend = "scripted"

    def __init__(self, env_name: str = "webshop", *, actions: Sequence[str] | None = None) -> None:
        self.env_name = env_name
        self.actions = list(actions) if actions is not None else None

    def messages(self, history: History) -> list[Message]:
        messages: list[Message] = [
            {"role": "user", "content": f"{history.instruction}\n\n{history.observation}"}
        ]
        for turn in history.turns:
            messages.append({"role": "assistant", "content": turn.response})
            messages.append({"role": "user", "content": turn.observation})
        return messages

    async def propose(
        self,
        history: History,
        n: int,
        *,
        temperature: float = 1.0,
        valid_actions: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> list[Candidate]:
        actions = list(valid_actions) if valid_actions else self.actions
        if not actions:
            raise ConfigError("RandomValidAgent needs valid actions from the env or an `actions` list.")
        rng = np.random.default_rng(seed)
        if temperature == 0:
            drawn = [actions[0]] * n
        else:
            drawn = [actions[i] for i in rng.integers(len(actions), size=n)]
        logprob = -math.log(len(actions)) if temperature else 0.0
        return [
            Candidate(
                response=f"Action: {action}",
                action=action,
                logprob=logprob,
                num_tokens=len(action.split()) + 1,
                count=count,
            )
            for action, count in Counter(drawn).items()
        ]
