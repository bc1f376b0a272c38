"""Demonstrations to SFT token sequences: the agent's own chats, loss on its responses only.

Each step of a path is rendered exactly as the agent sends it at run time: ``agent.messages(history)``
(same head, same turn-dropping truncation) through the tokenizer's chat template with the generation
prompt (:func:`~agentsearch.llm.tokens.render_prompt`), followed by the response tokenized on its own
(:func:`~agentsearch.llm.tokens.encode_continuation`, as ``score`` tokenizes a continuation) and the
template's end-of-turn token, so the policy learns to stop. Labels are ``-100`` everywhere else.

Packing: the steps of one trajectory share their history, so where step ``k+1``'s prompt starts with
step ``k``'s prompt and response, the two become one sequence with loss on both responses, instead
of two sequences that repeat the history. A step whose prompt was truncated (older turns dropped)
starts a new sequence. With causal attention each response token sees exactly the tokens it sees when
trained alone, so the summed loss of a packed trajectory equals the summed per-step losses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from agentsearch.agents.base import History
from agentsearch.llm.tokens import encode_continuation, render_prompt
from agentsearch.search.tree import SearchTree

__all__ = [
    "IGNORE_INDEX",
    "SFTSequence",
    "render_path",
    "render_paths",
    "tokenizer_fingerprint",
    "total_tokens",
]

#: Label of a token that carries no loss (PyTorch's cross-entropy ``ignore_index``).
IGNORE_INDEX = -100


@dataclass
class SFTSequence:
    """One training sequence: token ids, labels (``-100`` outside responses), and where it came from."""

    input_ids: list[int]
    labels: list[int]
    task_id: str
    steps: int

    @property
    def loss_tokens(self) -> int:
        return sum(label != IGNORE_INDEX for label in self.labels)


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """A short hash of the vocabulary and chat template: demos rendered with one tokenizer fit no other."""
    digest = hashlib.sha256()
    for token, index in sorted(tokenizer.get_vocab().items(), key=lambda item: item[1]):
        digest.update(f"{index}\t{token}\n".encode("utf-8", "surrogatepass"))
    digest.update((tokenizer.chat_template or "").encode())
    return digest.hexdigest()[:16]


def _step_tokens(agent: Any, tokenizer: Any, history: History, response: str) -> tuple[list[int], list[int]]:
    """``(prompt ids, response ids + end-of-turn id)`` of one step, as the agent renders it."""
    prompt = render_prompt(tokenizer, agent.messages(history))
    reply = encode_continuation(tokenizer, response)
    return prompt, [*reply, _end_of_turn(tokenizer)]


def _end_of_turn(tokenizer: Any) -> int:
    # Chat models end an assistant turn with their EOS (<|im_end|> for SmolLM2); generation stops on it.
    return int(tokenizer.eos_token_id)


def render_path(
    tree: SearchTree, leaf: int, agent: Any, tokenizer: Any, *, pack: bool = True
) -> list[SFTSequence]:
    """The SFT sequences of the root-to-``leaf`` path of ``tree`` (one per step unless ``pack``)."""
    path = tree.path(leaf)[1:]
    sequences: list[SFTSequence] = []
    current: SFTSequence | None = None
    for node in path:
        history = tree.history(tree.parent[node])
        prompt, reply = _step_tokens(agent, tokenizer, history, tree.response[node])
        if pack and current is not None and prompt[: len(current.input_ids)] == current.input_ids:
            extension = prompt[len(current.input_ids) :]
            current.input_ids += extension + reply
            current.labels += [IGNORE_INDEX] * len(extension) + reply
            current.steps += 1
            continue
        current = SFTSequence(
            input_ids=prompt + reply,
            labels=[IGNORE_INDEX] * len(prompt) + reply,
            task_id=tree.task_id,
            steps=1,
        )
        sequences.append(current)
    return sequences


def render_paths(
    paths: Iterable[tuple[SearchTree, int]], agent: Any, tokenizer: Any, *, pack: bool = True
) -> list[SFTSequence]:
    """:func:`render_path` over many ``(tree, leaf)`` paths."""
    sequences: list[SFTSequence] = []
    for tree, leaf in paths:
        sequences += render_path(tree, leaf, agent, tokenizer, pack=pack)
    return sequences


def total_tokens(sequences: Sequence[SFTSequence]) -> int:
    return sum(len(s.input_ids) for s in sequences)
