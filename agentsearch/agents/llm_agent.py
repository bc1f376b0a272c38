"""The LLM agent: one class for every environment, configured by that environment's :class:`EnvPrompt`.

``propose(history, sampling)`` returns the distinct actions among ``sampling.n`` proposals, in one of two
modes:

* ``action_mode="generate"`` (default): sample ``n`` responses, parse each into an action, and
  deduplicate by action, counting duplicates and keeping the response with the best log-prob.
* ``action_mode="score_valid"``: where the environment lists valid actions that the prompt config
  marks scorable (ALFWorld commands, WebShop clickables), write each as the response the model would
  give, score all of them in one batched ``score`` call, and draw ``n`` actions from the resulting
  distribution (softmax of log-probs at ``temperature``; argmax at 0). By default the log-prob of
  each response is divided by its token count (``length_norm``): summed log-probs favour short
  responses, so a 135M model scored ``click[Back to Search]`` above every product id on a results
  page, while per token the ids it could copy from the page came first. With ReAct prompts the model
  first generates its thought, which all scored responses share. A small model then never wastes a
  step on an unparsable action. Where the model must write free text it still generates: with a
  known action form (WebShop's search page: ``search[``) only the free text inside it, else the
  whole response (math steps).

Model calls go through an async backend with ``generate(request)`` and ``score(prompt,
continuations)``, as :class:`agentsearch.llm.batcher.RequestBatcher` provides, so many agents running
concurrently share batched forward passes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal, Protocol

import numpy as np

from agentsearch.agents.base import Candidate, History
from agentsearch.agents.parsing import match_valid_action
from agentsearch.agents.prompts import EnvPrompt
from agentsearch.agents.truncation import fit_messages
from agentsearch.errors import ConfigError
from agentsearch.llm.base import Completion, Message, Prompt, Request, SamplingParams

__all__ = ["ActionMode", "AsyncBackend", "LLMAgent", "dedupe_completions", "sample_scored"]

ActionMode = Literal["generate", "score_valid"]
ACTION_MODES: tuple[str, ...] = ("generate", "score_valid")

#: Context assumed when none is given: the 4k window of the paper's Phi-3-mini agent.
DEFAULT_CONTEXT_TOKENS = 4096


class AsyncBackend(Protocol):
    """What the agent needs from a model (:class:`~agentsearch.llm.batcher.RequestBatcher` has it)."""

    async def generate(self, request: Request) -> list[Completion]: ...

    async def score(self, prompt: Prompt, continuations: Sequence[str]) -> list[float]: ...


def dedupe_completions(completions: Sequence[Completion], actions: Sequence[str]) -> list[Candidate]:
    """One :class:`Candidate` per distinct action, most frequent first (ties: higher log-prob first).

    ``count`` is how many completions produced the action; the kept response is the one with the
    highest log-prob among them.
    """
    best: dict[str, Completion] = {}
    counts: dict[str, int] = {}
    for completion, action in zip(completions, actions, strict=True):
        counts[action] = counts.get(action, 0) + 1
        if action not in best or completion.logprob > best[action].logprob:
            best[action] = completion
    candidates = [
        Candidate(
            response=completion.text.strip(),
            action=action,
            logprob=completion.logprob,
            num_tokens=completion.num_tokens,
            count=counts[action],
        )
        for action, completion in best.items()
    ]
    return sorted(candidates, key=lambda c: (-c.count, -c.logprob))


def sample_scored(
    logprobs: Sequence[float], n: int, temperature: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` indices from softmax(``logprobs`` / ``temperature``); argmax ``n`` times at 0.

    Returns ``(counts per index, probabilities)``.
    """
    scores = np.asarray(logprobs, dtype=np.float64)
    # A backend may return -inf (or NaN) for an impossible continuation; it gets no probability
    # unless every action is impossible, which leaves a uniform choice.
    scores = np.where(np.isfinite(scores), scores, -1e30)
    if temperature == 0:
        probabilities = np.zeros_like(scores)
        probabilities[int(np.argmax(scores))] = 1.0
    else:
        shifted = (scores - scores.max()) / temperature
        probabilities = np.exp(shifted)
        probabilities /= probabilities.sum()
    draws = rng.choice(len(scores), size=n, p=probabilities)
    return np.bincount(draws, minlength=len(scores)), probabilities


class LLMAgent:
    """A prompted LLM policy for one environment (see the module docstring).

    Args:
        prompt: the environment's prompt configuration (``agentsearch.agents.webshop.PROMPT`` ...).
        backend: async ``generate``/``score`` provider (a ``RequestBatcher``).
        tokenizer: the model's tokenizer, for exact prompt truncation, token counts and forced action
            prefixes; without one, prompts are never truncated and WebShop's search is generated whole.
        react: ``Thought: ... Action: ...`` responses (ETO) if true, ``Action: ...`` only if false.
        icl: include the one-shot example (Q-models want lean prompts: ``icl=False``).
        action_mode: ``"generate"`` or ``"score_valid"``.
        max_tokens: new tokens per response (the paper's 128); the default of :attr:`default_sampling`.
        top_p: nucleus sampling mass; the default of :attr:`default_sampling`.
        context_tokens: the model's context window; prompts are cut to ``context_tokens - max_tokens``.
        length_norm: in ``score_valid`` mode, choose by mean log-prob per token instead of the sum.
    """

    def __init__(
        self,
        prompt: EnvPrompt,
        backend: AsyncBackend,
        *,
        tokenizer: Any | None = None,
        react: bool = True,
        icl: bool = True,
        action_mode: ActionMode = "generate",
        max_tokens: int = 128,
        top_p: float = 1.0,
        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
        length_norm: bool = True,
    ) -> None:
        if action_mode not in ACTION_MODES:
            raise ConfigError(f"Unknown action_mode {action_mode!r}; expected one of {ACTION_MODES}.")
        if context_tokens <= max_tokens:
            raise ConfigError(f"Expected `context_tokens` ({context_tokens}) > `max_tokens` ({max_tokens}).")
        self.prompt = prompt
        self.backend = backend
        self.tokenizer = tokenizer
        self.react = react
        self.icl = icl
        self.action_mode = action_mode
        self.max_tokens = max_tokens
        self.top_p = top_p
        self.max_prompt_tokens = context_tokens - max_tokens
        self.length_norm = length_norm

    @property
    def env_name(self) -> str:
        return self.prompt.env_name

    @property
    def default_sampling(self) -> SamplingParams:
        return SamplingParams(n=1, temperature=1.0, top_p=self.top_p, max_tokens=self.max_tokens)

    def __repr__(self) -> str:
        return (
            f"LLMAgent(env={self.env_name!r}, react={self.react}, icl={self.icl}, "
            f"action_mode={self.action_mode!r}, max_tokens={self.max_tokens})"
        )

    # ------------------------------------------------------------------ prompt
    def messages(self, history: History) -> list[Message]:
        """The chat before the next response, cut to the prompt budget (``truncation.py``)."""
        head = self.prompt.head(history, react=self.react, icl=self.icl)
        messages = head + self.prompt.turns(history)
        if self.tokenizer is None:
            return messages
        return fit_messages(messages, len(head), self.tokenizer, self.max_prompt_tokens)

    # ------------------------------------------------------------------ proposals
    async def propose(
        self, history: History, sampling: SamplingParams, *, valid_actions: Sequence[str] | None = None
    ) -> list[Candidate]:
        """The distinct candidate actions among ``sampling.n`` proposals (most frequent first)."""
        messages = self.messages(history)
        if self.action_mode == "score_valid":
            scorable = self.prompt.scorable_actions(valid_actions, history.last_observation)
            if scorable:
                return await self._score_valid(messages, scorable, sampling)
            prefix = self.prompt.action_prefix(valid_actions)
            if prefix is not None and self.tokenizer is not None:
                return await self._complete_action(messages, prefix, sampling)
        return await self._generate(messages, sampling, valid_actions)

    @staticmethod
    def _params(sampling: SamplingParams, stop: tuple[str, ...], n: int | None = None) -> SamplingParams:
        """``sampling`` with the agent's ``stop`` strings first (and ``n`` samples, where given)."""
        stops = tuple(dict.fromkeys((*stop, *sampling.stop)))
        return dataclasses.replace(sampling, stop=stops, n=sampling.n if n is None else n)

    async def _generate(
        self, messages: list[Message], sampling: SamplingParams, valid_actions: Sequence[str] | None
    ) -> list[Candidate]:
        request = Request(messages, self._params(sampling, self.prompt.stop))
        completions = await self.backend.generate(request)
        actions = []
        for completion in completions:
            action = self.prompt.parse(completion.text)
            # Spell a recognisable action the way the env lists it ("Go to Cabinet 1." -> "go to cabinet 1").
            if valid_actions:
                action = match_valid_action(action, valid_actions) or action
            actions.append(action)
        return dedupe_completions(completions, actions)

    async def _thought(self, messages: list[Message], sampling: SamplingParams) -> tuple[str | None, float]:
        """The thought the model writes before its action (ReAct), generated up to ``Action:``.

        Returns the thought (``None`` when the model wrote none) and its log-probability.
        """
        request = Request(messages, self._params(sampling, ("Action:", *self.prompt.stop), n=1))
        (completion,) = await self.backend.generate(request)
        text = completion.text.strip()
        if text.lower().startswith("thought:"):
            text = text[len("thought:") :].strip()
        return (" ".join(text.split()) or None), completion.logprob

    async def _complete_action(
        self, messages: list[Message], prefix: str, sampling: SamplingParams
    ) -> list[Candidate]:
        """Generate only the free text of an action whose form is known (``search[`` ... ``]``).

        The response is written up to ``prefix`` (after the thought, with ReAct) and the model samples
        the rest up to the closing bracket, so the action always has the right form. The log-prob
        covers the thought and the sampled text (the forced ``prefix`` itself is not scored).
        """
        thought, thought_logprob = await self._thought(messages, sampling) if self.react else (None, 0.0)
        head = self.prompt.respond(prefix, thought)
        rendered = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        request = Request(rendered + head, self._params(sampling, ("]", "\n")))
        completions = await self.backend.generate(request)
        actions = [f"{prefix}{' '.join(c.text.split())}]" for c in completions]
        completed = [
            Completion(
                text=self.prompt.respond(action, thought),
                num_tokens=self._count_tokens(self.prompt.respond(action, thought)),
                logprob=thought_logprob + c.logprob,
                finish_reason=c.finish_reason,
            )
            for action, c in zip(actions, completions, strict=True)
        ]
        return dedupe_completions(completed, actions)

    async def _score_valid(
        self, messages: list[Message], actions: list[str], sampling: SamplingParams
    ) -> list[Candidate]:
        thought = (await self._thought(messages, sampling))[0] if self.react else None
        responses = [self.prompt.respond(action, thought) for action in actions]
        logprobs = await self.backend.score(messages, responses)
        lengths = [self._count_tokens(response) for response in responses]
        choice_scores = logprobs
        if self.length_norm:
            choice_scores = [lp / max(length, 1) for lp, length in zip(logprobs, lengths, strict=True)]
        counts, probabilities = sample_scored(
            choice_scores, sampling.n, sampling.temperature, np.random.default_rng(sampling.seed)
        )
        candidates = [
            Candidate(
                response=responses[i],
                action=actions[i],
                logprob=float(logprobs[i]),
                num_tokens=lengths[i],
                count=int(counts[i]),
                extras={"probability": float(probabilities[i])},
            )
            for i in np.flatnonzero(counts)
        ]
        return sorted(candidates, key=lambda c: (-c.count, -c.logprob))

    def _count_tokens(self, text: str) -> int:
        if self.tokenizer is None:
            return 0
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
