"""A zero-latency policy that picks uniformly among the environment's valid actions.

:class:`RandomValidAgent` is a real :class:`~agentsearch.agents.base.Agent`: it renders histories into
chat messages and samples actions from a seeded generator, so searches driven by it are reproducible.
It measures the search engine alone (no model time) and drives tests and benchmarks. A valid action
that is a template with a free-text slot (WebShop's ``search[<query>]``) is filled with 2-6 words drawn
from the instruction.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Sequence

from agentsearch.agents.base import Candidate, History
from agentsearch.errors import ConfigError
from agentsearch.llm.base import Message, SamplingParams

__all__ = ["RandomValidAgent"]

_SLOT = re.compile(r"<[a-z_ ]+>")
_WORD = re.compile(r"[A-Za-z0-9]+")


class RandomValidAgent:
    """Samples ``n`` actions uniformly (with replacement) from the valid actions and deduplicates them.

    Args:
        env_name: the environment the agent plays (recorded in trees).
        actions: actions to draw from when the environment gives no valid-action list (free-form envs).
    """

    model_name = "random-valid"
    backend = "scripted"
    #: Only ``n``, ``temperature`` (0: always the first valid action) and ``seed`` matter here.
    default_sampling = SamplingParams()

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
        self, history: History, sampling: SamplingParams, *, valid_actions: Sequence[str] | None = None
    ) -> list[Candidate]:
        actions = list(valid_actions) if valid_actions else self.actions
        if not actions:
            raise ConfigError("RandomValidAgent needs valid actions from the env or an `actions` list.")
        n, temperature = sampling.n, sampling.temperature
        rng = random.Random(sampling.seed)
        drawn = [actions[0]] * n if temperature == 0 else rng.choices(actions, k=n)
        if any("<" in action for action in drawn):
            words = _WORD.findall(history.instruction) or ["item"]
            drawn = [_fill(action, words, rng) for action in drawn]
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


def _fill(action: str, words: list[str], rng: random.Random) -> str:
    """``search[<query>]`` -> ``search[w1 w2 ...]`` with 2-6 words of the instruction, in order."""
    if "<" not in action or not _SLOT.search(action):
        return action
    k = min(len(words), rng.randint(2, 6))
    picks = sorted(rng.sample(range(len(words)), k))
    return _SLOT.sub(" ".join(words[i].lower() for i in picks), action, count=1)
