"""Q-guided action selection (Zhai et al. 2025): sample N candidates, execute the one with the highest Q.

:class:`QGuidedAgent` wraps any :class:`~agentsearch.agents.base.Agent` (a local ``hf``/``vllm`` model
or an API model through the ``openai`` backend; the agent itself is never fine-tuned). At each step it
asks the agent for ``candidates`` samples (paper: 5 at temperature 1.0), which the agent deduplicates
by action, scores every distinct candidate with a :data:`Scorer`, and returns them best first, so the
runner executes the argmax. With ``sampling.n > 1`` (a search using it as its policy) it returns the
``n`` best.

Two scorers come with it, so the baselines run in the same harness:

* :func:`qmodel_scorer`: the step-level Q-value model, Q = beta * log(pi_theta / pi_ref) of each
  response after the history (:class:`~agentsearch.train.qmodel.QValueModel`);
* :func:`likelihood_scorer`: the agent's own summed log-probability of each response ("best-of-N by
  likelihood").

Greedy (temperature 0) and sampled (temperature 1) baselines are the plain agent.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from agentsearch.agents.base import Agent, Candidate, History
from agentsearch.agents.parsing import is_admissible
from agentsearch.errors import ConfigError
from agentsearch.llm.base import Message, SamplingParams

__all__ = [
    "QGuidedAgent", "Scorer", "likelihood_scorer", "merge_candidates", "qmodel_scorer", "rank_candidates",
]

#: Scores the distinct candidates of one state (higher is better); may block (it runs in a thread).
Scorer = Callable[[History, Sequence[Candidate]], Sequence[float]]


def rank_candidates(candidates: Sequence[Candidate], scores: Sequence[float]) -> list[Candidate]:
    """Candidates sorted by score, best first; each gets ``extras["score"]``.

    Ties keep the agent's order (most frequent, then most likely first), so the argmax is deterministic.
    """
    if len(candidates) != len(scores):
        raise ValueError(f"Got {len(scores)} scores for {len(candidates)} candidates.")
    order = sorted(range(len(candidates)), key=lambda i: -float(scores[i]))  # stable: ties keep agent order
    return [
        dataclasses.replace(candidates[i], extras={**candidates[i].extras, "score": float(scores[i])})
        for i in order
    ]


def merge_candidates(candidates: Sequence[Candidate]) -> list[Candidate]:
    """One candidate per action, first occurrence first, with the counts of its duplicates added up."""
    merged: dict[str, Candidate] = {}
    for candidate in candidates:
        seen = merged.get(candidate.action)
        merged[candidate.action] = (
            candidate if seen is None else dataclasses.replace(seen, count=seen.count + candidate.count)
        )
    return list(merged.values())


def qmodel_scorer(
    qmodel: Any, messages_fn: Callable[[History], list[Message]], *, prior: float = 0.0
) -> Scorer:
    """Score with a Q-value model on the chat ``messages_fn(history)`` (the format of its pairs).

    ``prior`` adds ``prior * beta * log pi_ref`` to each Q (see :meth:`QValueModel.q
    <agentsearch.train.qmodel.QValueModel.q>`): 1 ranks by the trained policy's own ``beta * log pi_theta``.
    """

    def score(history: History, candidates: Sequence[Candidate]) -> list[float]:
        return qmodel.q(messages_fn(history), [c.response for c in candidates], prior=prior)

    return score


def likelihood_scorer(history: History, candidates: Sequence[Candidate]) -> list[float]:
    """The agent's own summed log-probability of each sampled response."""
    return [c.logprob for c in candidates]


class QGuidedAgent:
    """An agent that reranks another agent's sampled candidates with a scorer (see the module docstring).

    Args:
        agent: the proposing agent.
        scorer: :func:`qmodel_scorer` (Q-guided) or :func:`likelihood_scorer` (best-of-N by likelihood).
        candidates: samples per step (N, paper: 5); a call asking for more samples gets that many.
        temperature: sampling temperature of the candidates (paper: 1.0), the one in
            :attr:`default_sampling`; a call's own ``sampling.temperature`` is what it samples at.
        name: label used in evaluation records.
        include_greedy: also put the agent's greedy (temperature 0) action among the candidates, so the
            scorer chooses between the plain agent's step and the alternatives (off in the paper). It
            costs one more proposal per step; a sampled duplicate of it is merged into it.
        admissible_only: where the environment lists its valid actions (WebShop's clickables, which the
            agent reads on the page; ALFWorld's admissible commands), score only the candidates among
            them, unless none is. A Q-model trained on a few trees has rarely seen an action the page
            does not offer, and may rank it first.
    """

    def __init__(
        self,
        agent: Agent,
        scorer: Scorer,
        *,
        candidates: int = 5,
        temperature: float = 1.0,
        name: str = "qguided",
        include_greedy: bool = False,
        admissible_only: bool = True,
    ) -> None:
        if candidates < 1:
            raise ConfigError(f"Expected `candidates` >= 1, got {candidates}.")
        if temperature < 0:
            raise ConfigError(f"Expected `temperature` >= 0, got {temperature}.")
        self.agent = agent
        self.scorer = scorer
        self.candidates = candidates
        self.temperature = temperature
        self.name = name
        self.include_greedy = include_greedy
        self.admissible_only = admissible_only

    @property
    def env_name(self) -> str:
        return self.agent.env_name

    @property
    def default_sampling(self) -> SamplingParams:
        return dataclasses.replace(self.agent.default_sampling, temperature=self.temperature)

    def __repr__(self) -> str:
        return (f"QGuidedAgent({self.agent!r}, candidates={self.candidates}, temperature={self.temperature}, "
                f"include_greedy={self.include_greedy}, admissible_only={self.admissible_only})")

    def messages(self, history: History) -> list[Message]:
        return self.agent.messages(history)

    async def propose(
        self, history: History, sampling: SamplingParams, *, valid_actions: Sequence[str] | None = None
    ) -> list[Candidate]:
        """The ``sampling.n`` best-scored distinct candidates among ``max(sampling.n, candidates)`` samples.

        They come best first; the samples are drawn with ``sampling`` (its temperature, seed, top_p ...).
        """
        n = sampling.n
        samples = self.agent.propose(
            history, dataclasses.replace(sampling, n=max(n, self.candidates)), valid_actions=valid_actions
        )
        if self.include_greedy:
            # Both requests go out at once, so a batching backend serves them in the same pass.
            greedy_step = self.agent.propose(
                history, dataclasses.replace(sampling, n=1, temperature=0.0), valid_actions=valid_actions
            )
            proposals, greedy = await asyncio.gather(samples, greedy_step)
            proposals = merge_candidates([*greedy, *proposals])
        else:
            proposals = await samples
        if self.admissible_only and valid_actions:
            admissible = [c for c in proposals if is_admissible(c.action, valid_actions)]
            proposals = admissible or proposals
        if len(proposals) == 1:  # nothing to choose between: skip the scorer
            return list(proposals)
        scores = await asyncio.to_thread(self.scorer, history, proposals)
        return rank_candidates(proposals, scores)[:n]
