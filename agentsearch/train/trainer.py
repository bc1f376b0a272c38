"""Step-level DPO on TRL: a config with the step-level fields and a trainer that wastes less work.

:class:`StepDPOTrainer` is TRL's ``DPOTrainer`` with one change: the forward that produces per-token
log-probabilities. TRL's batch is ``[chosen rows; rejected rows]`` of full ``prompt + completion``
sequences, so a 700-token history is run twice per pair (and its LM head is evaluated at every
position on CPU) for 20-60 completion tokens. Here each pair's prompt runs once through a KV cache,
both completions run against it as a batch of two, and the LM head sees only completion positions
(:func:`~agentsearch.train.logprobs.shared_prefix_logprobs`). The output has TRL's
``FusedCausalLMOutput`` shape, so every TRL loss (``sigmoid``, ``ipo``, ``hinge`` ...) and metric runs
unchanged. With LoRA on the upper layers only (``lora_top_layers``) autograd stops at the first
adapted layer, and ``precompute_ref_log_probs`` computes the reference once before training.
"""

from __future__ import annotations

import functools
import logging
import types
from dataclasses import dataclass, field
from typing import Any

import torch
from trl import DPOConfig, DPOTrainer
from trl.trainer.utils import FusedCausalLMOutput

from agentsearch.train.logprobs import causal_lm, shared_prefix_logprobs
from agentsearch.train.logratio import adapter_pair_outputs, shares_unadapted_layers

__all__ = ["StepDPOConfig", "StepDPOTrainer", "TARGETS"]

logger = logging.getLogger(__name__)

TARGETS = ("qmodel", "policy")


@dataclass
class StepDPOConfig(DPOConfig):
    r"""Configuration of step-level DPO: TRL's ``DPOConfig`` plus the step-level fields.

    Paper settings (Zhai et al. 2025, ``qvalue-method.md`` 1.4) next to our CPU defaults:

    ======================  ==============================  ===============================
    setting                 paper (phi-1.5 Q-model)         agentsearch default (CPU)
    ======================  ==============================  ===============================
    fine-tuning             full parameters                 LoRA r=16 (``lora=False``: full)
    beta                    0.1 WebShop, 0.05 HotPotQA      0.1
    learning rate           1e-6, constant with warmup 0.1  5e-5 (LoRA), linear
    effective batch         64 (4 GPUs x 1 x 16)            4
    epochs                  1-2                             2
    loss                    sigmoid, label smoothing 0      sigmoid (TRL ``loss_type``)
    reference               frozen copy of the init         adapter disabled; precomputed
    ======================  ==============================  ===============================

    Parameters:
        target (`str`, defaults to `"qmodel"`):
            `"qmodel"` trains a scorer read as Q = beta * log(pi_theta / pi_ref); `"policy"` runs the same
            step-DPO on the agent model itself (the MCTS-DPO / Agent Q recipe).
        lora (`bool`, defaults to `True`):
            Train a LoRA adapter (PEFT); `False` fine-tunes all weights (the paper's setting).
        lora_r (`int`, defaults to `16`), lora_alpha (`int`, defaults to `32`):
            LoRA rank and scaling on all linear layers.
        lora_top_layers (`int` or `None`, defaults to `None`):
            Put LoRA only on the top k decoder layers (PEFT `layers_to_transform`); gradients then stop at
            layer L-k, which cuts the backward pass. `None` adapts every layer.
        shared_prefix (`bool`, defaults to `True`):
            Use the shared-prompt forward (prompt once per pair, LM head on completion tokens only).
        eval_fraction (`float`, defaults to `0.1`):
            Fraction of tasks held out to measure pair accuracy and reward margins.
        round (`int`, defaults to `0`):
            Iteration round of the training data (recorded in the output metadata).
    """

    target: str = field(default="qmodel", metadata={"help": "`qmodel` or `policy`."})
    lora: bool = field(default=True, metadata={"help": "Train a LoRA adapter; False fine-tunes all weights."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha."})
    lora_top_layers: int | None = field(default=None, metadata={"help": "LoRA on the top k layers only."})
    shared_prefix: bool = field(default=True, metadata={"help": "Compute each pair's prompt once."})
    eval_fraction: float = field(default=0.1, metadata={"help": "Fraction of tasks held out."})
    round: int = field(default=0, metadata={"help": "Iteration round of the data."})

    # TRL / TrainingArguments defaults changed for step-level DPO on CPU.
    beta: float = field(default=0.1, metadata={"help": "DPO beta (paper: 0.1 WebShop, 0.05 HotPotQA)."})
    learning_rate: float = field(
        default=5e-5, metadata={"help": "AdamW learning rate (paper, full FT: 1e-6)."}
    )
    num_train_epochs: float = field(default=2.0, metadata={"help": "Epochs (paper: 1-2)."})
    per_device_train_batch_size: int = field(default=4, metadata={"help": "Pairs per step."})
    per_device_eval_batch_size: int = field(default=4, metadata={"help": "Pairs per eval step."})
    max_length: int | None = field(
        default=2048, metadata={"help": "Longest record in tokens; longer ones are refused."}
    )
    precompute_ref_log_probs: bool = field(
        default=True, metadata={"help": "Reference log-probs once, before training."}
    )
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "Recompute activations (slower on CPU)."}
    )
    logging_steps: float = field(default=1, metadata={"help": "Log every n steps."})
    save_strategy: str = field(
        default="steps", metadata={"help": "Checkpoint every save_steps, so a killed run resumes."}
    )
    save_steps: float = field(default=25, metadata={"help": "Optimizer steps between checkpoints."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept."})
    report_to: Any = field(default="none", metadata={"help": "Integrations to report to."})
    use_cpu: bool = field(default=True, metadata={"help": "Train on CPU (set False to use a GPU)."})
    bf16: bool | None = field(default=False, metadata={"help": "bfloat16 (ran 8x slower on our CPUs)."})

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"Expected `target` in {TARGETS}, got {self.target!r}.")
        if not 0 <= self.eval_fraction < 1:
            raise ValueError(f"Expected 0 <= `eval_fraction` < 1, got {self.eval_fraction}.")
        if self.lora_top_layers is not None and self.lora_top_layers < 1:
            raise ValueError(f"Expected `lora_top_layers` >= 1 or None, got {self.lora_top_layers}.")
        if self.beta <= 0:
            raise ValueError(f"Expected `beta` > 0, got {self.beta}.")
        super().__post_init__()


def _pair_spans(input_ids: torch.Tensor, labels: torch.Tensor) -> list[tuple[int, int, int]] | None:
    """Per row, (prompt_len, completion_end) when the batch is TRL's [chosen; rejected] layout, else None."""
    rows = input_ids.size(0)
    if rows % 2:
        return None
    spans = []
    for row in range(rows):
        positions = (labels[row] != -100).nonzero().flatten()
        if positions.numel() == 0:
            return None
        start, end = int(positions[0]), int(positions[-1]) + 1
        if end - start != positions.numel() or start == 0:
            return None
        spans.append((start, end, row))
    half = rows // 2
    for i in range(half):
        start = spans[i][0]
        if spans[half + i][0] != start or not torch.equal(input_ids[i, :start], input_ids[half + i, :start]):
            return None
    return spans


def _pair_rows(input_ids: torch.Tensor, spans: list[tuple[int, int, int]]):
    """Per pair: its row index, prompt ids, the chosen and rejected completion ids and their lengths."""
    half = len(spans) // 2
    for i in range(half):
        start, chosen_end, _ = spans[i]
        rejected_end = spans[half + i][1]
        chosen, rejected = (
            input_ids[i, start:chosen_end].tolist(),
            input_ids[half + i, start:rejected_end].tolist(),
        )
        yield i, input_ids[i, :start].tolist(), [chosen, rejected], [len(chosen), len(rejected)]


def shared_prefix_fused_forward(
    lm: Any, input_ids: torch.Tensor, labels: torch.Tensor
) -> FusedCausalLMOutput | None:
    """TRL's fused-LM-head output for a [chosen; rejected] batch, each pair's prompt computed once.

    Returns ``None`` when the batch is not in that layout (the caller then runs TRL's own forward).
    """
    spans = _pair_spans(input_ids, labels)
    if spans is None:
        return None
    half = len(spans) // 2
    values: list[torch.Tensor | None] = [None] * len(spans)
    logits: list[torch.Tensor | None] = [None] * len(spans)
    for i, prompt, completions, lengths in _pair_rows(input_ids, spans):
        result = shared_prefix_logprobs(lm, prompt, completions, return_logits=True)
        values[i], values[half + i] = result.logprobs
        logits[i], logits[half + i] = torch.split(result.logits, lengths)
    return _fused_output(values, logits, labels)


def policy_and_reference_fused_forward(
    model: Any, input_ids: torch.Tensor, labels: torch.Tensor
) -> tuple[FusedCausalLMOutput, FusedCausalLMOutput] | None:
    """:func:`shared_prefix_fused_forward` with the adapter on and off, the unadapted layers run once.

    With LoRA on the top layers only, the reference (adapter disabled) differs from the policy only in
    those layers, so computing it beside the policy costs their forward alone, where a separate reference
    pass (or TRL's precompute) runs the whole model again.
    """
    spans = _pair_spans(input_ids, labels)
    if spans is None:
        return None
    half = len(spans) // 2
    outputs = {}
    streams = {name: ([None] * len(spans), [None] * len(spans)) for name in ("policy", "reference")}
    for i, prompt, completions, lengths in _pair_rows(input_ids, spans):
        result = adapter_pair_outputs(model, prompt, completions, return_logits=True)
        for name, logprobs, logits in (
            ("policy", result.policy, result.policy_logits),
            ("reference", result.reference, result.reference_logits),
        ):
            values, row_logits = streams[name]
            values[i], values[half + i] = logprobs
            row_logits[i], row_logits[half + i] = torch.split(logits, lengths)
    for name, (values, row_logits) in streams.items():
        outputs[name] = _fused_output(values, row_logits, labels)
    return outputs["policy"], outputs["reference"]


def _fused_output(values: list[Any], logits: list[Any], labels: torch.Tensor) -> FusedCausalLMOutput:
    """TRL's ``FusedCausalLMOutput`` from each row's completion log-probs and logits."""
    shift_mask = labels[:, 1:] != -100
    flat = torch.cat(values)
    flat_logits = torch.cat(logits).detach()
    shift_labels = labels[:, 1:][shift_mask]
    with torch.no_grad():
        token_logprobs = torch.log_softmax(flat_logits, dim=-1)
        entropy = -(token_logprobs.exp() * token_logprobs).sum(-1)
        log_sum_sq = torch.logsumexp(2 * token_logprobs, dim=-1)
        mean_logits = flat_logits.mean(-1)
        is_top1 = flat_logits.argmax(-1) == shift_labels

    def scatter(x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(shift_mask.shape).masked_scatter(shift_mask, x)

    log_probs = scatter(flat)
    return FusedCausalLMOutput(
        loss=-flat.sum() / shift_mask.sum().clamp(min=1),
        log_probs=log_probs,
        entropy=scatter(entropy),
        log_sum_sq_probs=scatter(log_sum_sq),
        mean_logits=scatter(mean_logits),
        is_top1=scatter(is_top1),
        label_mask=shift_mask,
    )


def install_shared_prefix_forward(model: Any, *, reference_in_policy_pass: bool = False) -> None:
    """Route ``model(..., labels=..., fused_lm_head=True)`` through :func:`shared_prefix_fused_forward`.

    With ``reference_in_policy_pass`` (a PEFT ``model`` whose adapter leaves the lower layers untouched,
    :func:`~agentsearch.train.logratio.shares_unadapted_layers`), the policy's call computes the
    reference's output too (:func:`policy_and_reference_fused_forward`) and keeps it for the reference
    call that TRL makes next on the same tensors with the adapter disabled.

    Any other call (generation, batches not in TRL's pair layout) goes to the forward already installed
    (TRL's fused LM head), so behaviour outside the DPO loss is unchanged.
    """
    lm = causal_lm(model)
    previous = lm.forward
    kept: dict[str, Any] = {}

    @functools.wraps(type(lm).forward)  # generate() validates its kwargs against this signature
    def forward(self: Any, *args: Any, fused_lm_head: bool = False, labels: Any = None, **kwargs: Any) -> Any:
        input_ids = kwargs.get("input_ids")
        if fused_lm_head and labels is not None and not args and input_ids is not None:
            if reference_in_policy_pass:
                last = kept.pop("reference", None)
                if _adapter_disabled(model):
                    if last is not None and last[0] is input_ids and last[1] is labels:
                        return last[2]
                else:
                    both = policy_and_reference_fused_forward(model, input_ids, labels)
                    if both is not None:
                        kept["reference"] = (input_ids, labels, both[1])
                        return both[0]
            output = shared_prefix_fused_forward(self, input_ids, labels)
            if output is not None:
                return output
        return previous(*args, fused_lm_head=fused_lm_head, labels=labels, **kwargs)

    lm.forward = types.MethodType(forward, lm)


def _adapter_disabled(model: Any) -> bool:
    """Whether PEFT's ``disable_adapter()`` is in effect (TRL's reference forward of a LoRA model)."""
    return any(
        getattr(module, "disable_adapters", False) for module in model.modules() if hasattr(module, "lora_A")
    )


class StepDPOTrainer(DPOTrainer):
    """TRL's ``DPOTrainer`` with the shared-prompt forward (see the module docstring); same losses."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._install_shared_prefix()

    def _install_shared_prefix(self) -> None:
        # Called before TRL's reference precompute (inside DPOTrainer.__init__, after TRL installs its fused
        # LM head) so the precompute runs the fast forward too; installing twice is a no-op.
        if getattr(self, "_shared_prefix_installed", False):
            return
        self._shared_prefix_installed = True
        config = self.args
        if getattr(config, "shared_prefix", True) and not config.gradient_checkpointing:
            # Without a precompute, TRL runs the reference after the policy on every batch; with LoRA on the
            # top layers only, the policy's pass computes it for the cost of those layers.
            install_shared_prefix_forward(
                self.model,
                reference_in_policy_pass=not config.precompute_ref_log_probs
                and self.ref_model is None
                and shares_unadapted_layers(self.model),
            )
            if self.ref_model is not None:
                install_shared_prefix_forward(self.ref_model)
        elif getattr(config, "shared_prefix", True):
            logger.warning("gradient_checkpointing disables the KV cache; using TRL's forward instead.")

    def _precompute_ref_logps(self, *args: Any, **kwargs: Any) -> Any:
        self._install_shared_prefix()
        return super()._precompute_ref_logps(*args, **kwargs)
