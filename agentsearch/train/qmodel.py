"""The step-level Q-value model: DPO's implicit reward, read as Q(s, a).

A model trained with step-level DPO against a frozen reference satisfies (Rafailov et al., "From r to
Q*"; Zhai et al. 2025, Eq. 8)::

    Q(s, a) = beta * sum_t [ log pi_theta(a_t | s, a_<t) - log pi_ref(a_t | s, a_<t) ]

where ``s`` is the chat history (``messages``), ``a`` the assistant response, and the sum runs over the
response's tokens exactly as TRL tokenizes the assistant turn after the prompt (end-of-turn tokens
included). This is the quantity the DPO loss trains. The paper's released code scores a different one
(a per-token mean of ``log_softmax(logits_theta - logits_ref)``, no beta; ``qvalue-method.md`` 1.5),
which changes the ranking when candidate lengths differ; ``length_normalized=True`` divides by the
token count for users who want a mean, and is off by default.

All candidates of one state are scored together: the history runs once per model through a KV cache
and the candidates run as one batch (:func:`~agentsearch.train.logprobs.shared_prefix_logprobs`).
With a LoRA Q-model the reference is the same weights with the adapter disabled, so one model sits in
memory, and the layers below the first adapted one run once for both
(:func:`~agentsearch.train.logratio.adapter_logprob_pairs`); a fully fine-tuned Q-model keeps its base
as a second model.

Example::

    from agentsearch.train import QValueModel
    qmodel = QValueModel.load("runs/ws/qmodel")
    qmodel.q(messages, ["Thought: ...\\nAction: click[b0001]", "Action: search[shoes]"])
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentsearch.errors import ConfigError
from agentsearch.train.logprobs import shared_prefix_logprobs, tokenize_step
from agentsearch.train.logratio import HistoryKV, adapter_logprob_pairs
from agentsearch.train.meta import TrainMeta, model_fingerprint

__all__ = ["QValueModel"]

logger = logging.getLogger(__name__)


class QValueModel:
    """Scores candidate responses of one state with beta * log(pi_theta / pi_ref).

    Args:
        model: the trained model (a PEFT model with a LoRA adapter, or a full model).
        tokenizer: its tokenizer (the chat template defines the tokens that are scored).
        beta: DPO beta the model was trained with.
        reference: the reference model for a fully fine-tuned ``model``; ``None`` for a PEFT model,
            whose reference is the same weights with the adapter disabled.
        length_normalized: divide each Q by the response's token count (off by default: the trained
            quantity is a sum).
        name: where the model came from, for logs and eval records.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        beta: float,
        reference: Any | None = None,
        length_normalized: bool = False,
        name: str = "",
    ) -> None:
        if beta <= 0:
            raise ConfigError(f"Expected `beta` > 0, got {beta}.")
        if reference is None and not hasattr(model, "disable_adapter"):
            raise ConfigError(
                "A Q-model without a PEFT adapter needs its `reference` model (the base it was trained from)."
            )
        self.model = model.eval()
        self.reference = reference.eval() if reference is not None else None
        self.tokenizer = tokenizer
        self.beta = beta
        self.length_normalized = length_normalized
        self.name = name
        # Disabling the adapter flips state shared by every caller; episodes scored from several threads
        # (the Q-guided agent scores in a worker thread) must not see each other's reference pass.
        self._lock = threading.Lock()
        # The states of an episode extend each other: each call runs only the history past the last one.
        self.history_kv = HistoryKV()

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        base: str | None = None,
        length_normalized: bool = False,
        device: str = "cpu",
    ) -> QValueModel:
        """Load a directory written by :func:`~agentsearch.train.train_q`.

        Args:
            path: the output directory (PEFT adapter or full model, plus ``agentsearch_meta.json``).
            base: the base model to put the adapter on; defaults to the one recorded in the metadata.
            length_normalized: see the class docstring.
            device: torch device.

        Raises:
            ConfigError: the directory is not a Q-model, or ``base`` does not match the recorded base.
        """
        from agentsearch.llm.models import load_model, load_tokenizer

        meta = TrainMeta.load(path)
        base_name = base or meta.base_model
        base_model = load_model(base_name, device=device)
        found = model_fingerprint(base_model.config)
        if found != meta.base_fingerprint:
            diff = {k: (v, found.get(k)) for k, v in meta.base_fingerprint.items() if found.get(k) != v}
            raise ConfigError(
                f"Q-model {path} was trained on base `{meta.base_model}`, but base `{base_name}` differs "
                f"(recorded vs found: {diff}). Pass the base it was trained on with `base=`/`--base`."
            )
        tokenizer = load_tokenizer(base_name)
        if meta.adapter == "lora":
            from peft import PeftModel

            try:
                model = PeftModel.from_pretrained(base_model, str(path))
            except (RuntimeError, ValueError, KeyError) as err:
                raise ConfigError(
                    f"Could not put the adapter in {path} on base `{base_name}`: {err}"
                ) from err
            return cls(model, tokenizer, beta=meta.beta, length_normalized=length_normalized, name=str(path))
        model = load_model(path, device=device)
        if model_fingerprint(model.config) != found:
            raise ConfigError(f"Model in {path} does not have the architecture of its base `{base_name}`.")
        return cls(
            model,
            tokenizer,
            beta=meta.beta,
            reference=base_model,
            length_normalized=length_normalized,
            name=str(path),
        )

    def q(
        self, messages: Sequence[dict[str, Any]], candidate_responses: Sequence[str], *, prior: float = 0.0
    ) -> list[float]:
        """Q-value of each candidate response after the chat history ``messages``.

        Args:
            messages: the state, as the chat the agent saw (preference pairs store it as ``prompt``).
            candidate_responses: full assistant turns (``"Thought: ...\\nAction: ..."``), as sampled.
            prior: weight ``w`` of the reference policy's log-probability added to each value:
                ``Q + w * beta * log pi_ref(a | s)``. With ``w = 1`` that is ``beta * log pi_theta(a | s)``,
                the mode of the KL-regularised policy ``pi_ref * exp(Q / beta)`` that DPO trains: a
                candidate the reference finds unlikely must earn its place with a larger Q. ``0`` (the
                paper's argmax Q) returns Q itself. Both log-probabilities come from the same pass.

        Returns:
            One float per candidate, in input order: beta times the summed log-ratio of its tokens
            (divided by the token count with ``length_normalized``), plus the prior term.
        """
        import torch

        if not candidate_responses:
            return []
        tokens = tokenize_step(self.tokenizer, messages, candidate_responses)
        with self._lock, torch.inference_mode():
            prompt_ids, completion_ids = tokens.prompt_ids, tokens.completion_ids
            if self.reference is None:
                policy, reference = adapter_logprob_pairs(
                    self.model, prompt_ids, completion_ids, history_kv=self.history_kv
                )
            else:
                policy = shared_prefix_logprobs(self.model, prompt_ids, completion_ids).logprobs
                reference = shared_prefix_logprobs(self.reference, prompt_ids, completion_ids).logprobs
        values = []
        for theta, ref in zip(policy, reference, strict=True):
            ratio = float((theta - ref).sum()) + prior * float(ref.sum())
            if self.length_normalized:
                ratio /= max(len(theta), 1)
            values.append(self.beta * ratio)
        return values
