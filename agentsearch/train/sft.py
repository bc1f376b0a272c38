"""``train_sft``: step-level SFT of a policy on demonstrations, with TRL's ``SFTTrainer``.

The data are the agent's own chats (:mod:`agentsearch.train.sft_data`): each step rendered by
``agent.messages(history)`` with the agent options recorded in the output, loss on the response
tokens only, the steps of a trajectory packed into one sequence where their prompts extend each other.
``SFTTrainer`` receives the sequences pre-tokenized (``input_ids`` + ``labels``), so it neither
re-renders nor re-masks them.

The output folder is a PEFT adapter (LoRA, the default) or a full model (``lora=False``), the
tokenizer, and ``agentsearch_sft.json`` (base model, tokenizer fingerprint, agent options, data hash,
steps, held-out action accuracy, learning curve). Every model flag accepts it:
:func:`agentsearch.llm.models.resolve_model` merges an adapter into its base once and caches the result.
A rerun into the same folder resumes from its last checkpoint.

Example::

    from agentsearch.train.sft import StepSFTConfig, train_sft
    result = train_sft(["demos.jsonl"], "smollm2-135m", "runs/sft", config=StepSFTConfig(max_steps=200))
    result.metrics["eval_action_accuracy"]
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback
from trl import SFTConfig, SFTTrainer

from agentsearch.errors import ConfigError, DataFileError
from agentsearch.files import open_maybe_gzipped, write_text_atomic
from agentsearch.train.callbacks import log_to_logger
from agentsearch.train.checkpoints import last_complete_checkpoint, resume_training
from agentsearch.train.meta import model_fingerprint
from agentsearch.train.sft_data import IGNORE_INDEX, SFTSequence, render_paths, tokenizer_fingerprint

__all__ = [
    "SFT_META_FILE",
    "SFTMeta",
    "SFTResult",
    "StepSFTConfig",
    "StepSFTTrainer",
    "action_accuracy",
    "train_sft",
]

logger = logging.getLogger(__name__)

SFT_META_FILE = "agentsearch_sft.json"


@dataclass
class StepSFTConfig(SFTConfig):
    r"""TRL's ``SFTConfig`` with the agent and adapter fields of step-level SFT, and CPU defaults.

    Parameters:
        react (`bool`, defaults to `False`), icl (`bool`, defaults to `False`):
            The agent options the chats are rendered with (act-only, no one-shot example); agents that
            use the trained policy should use the same (they are recorded in the output).
        context_tokens (`int`, defaults to `4096`), max_new_tokens (`int`, defaults to `128`):
            The agent's context window and response budget, which fix its prompt truncation.
        pack (`bool`, defaults to `True`):
            One sequence per trajectory where prompts extend each other (see the module docstring).
        min_reward (`float`, defaults to `1.0`):
            Paths whose final reward is below this are not trained on.
        max_demos (`int` or `None`):
            Use only the first N demonstrations (after holding out the eval tasks).
        lora (`bool`, defaults to `True`), lora_r (`int`, defaults to `16`),
        lora_alpha (`int`, defaults to `32`):
            A LoRA adapter on every linear layer; `lora=False` fine-tunes all weights.
        eval_fraction (`float`, defaults to `0.05`):
            Fraction of tasks held out to measure action accuracy.
    """

    react: bool = field(default=False, metadata={"help": "ReAct responses (Thought + Action)."})
    icl: bool = field(default=False, metadata={"help": "Include the one-shot example in the prompt."})
    context_tokens: int = field(default=4096, metadata={"help": "The agent's context window."})
    max_new_tokens: int = field(default=128, metadata={"help": "The agent's response budget."})
    pack: bool = field(default=True, metadata={"help": "Pack each trajectory into one sequence."})
    min_reward: float = field(default=1.0, metadata={"help": "Smallest final reward of a trained path."})
    max_demos: int | None = field(default=None, metadata={"help": "Use the first N demonstrations."})
    lora: bool = field(default=True, metadata={"help": "Train a LoRA adapter; False: all weights."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha."})
    eval_fraction: float = field(default=0.05, metadata={"help": "Fraction of tasks held out."})
    max_eval_tasks: int = field(default=40, metadata={"help": "At most this many tasks held out."})
    curve_steps: int = field(
        default=50, metadata={"help": "Held-out accuracy every n steps (0: only at the end)."}
    )
    curve_tasks: int = field(default=10, metadata={"help": "Held-out tasks measured for the learning curve."})

    # TRL / TrainingArguments defaults changed for CPU step-level SFT.
    learning_rate: float = field(default=2e-4, metadata={"help": "AdamW learning rate."})
    num_train_epochs: float = field(default=1.0, metadata={"help": "Epochs."})
    per_device_train_batch_size: int = field(default=1, metadata={"help": "Sequences per step."})
    gradient_accumulation_steps: int = field(default=2, metadata={"help": "Steps per optimizer update."})
    lr_scheduler_type: Any = field(default="cosine", metadata={"help": "Learning-rate schedule."})
    warmup_steps: float = field(default=10, metadata={"help": "Warm-up optimizer steps."})
    max_length: int | None = field(default=None, metadata={"help": "Longest sequence (None: no cut)."})
    logging_steps: float = field(default=5, metadata={"help": "Log every n optimizer steps."})
    save_strategy: Any = field(default="steps", metadata={"help": "Checkpoint every save_steps."})
    save_steps: float = field(default=25, metadata={"help": "Optimizer steps between checkpoints."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept."})
    report_to: Any = field(default="none", metadata={"help": "Integrations to report to."})
    use_cpu: bool = field(default=True, metadata={"help": "Train on CPU (set False to use a GPU)."})
    bf16: bool | None = field(default=False, metadata={"help": "bfloat16 (ran 8x slower on our CPUs)."})
    dataset_num_proc: int | None = field(default=None, metadata={"help": "Dataset preparation workers."})
    disable_tqdm: bool = field(
        default=True, metadata={"help": "No trainer progress bar (the CLI shows one)."}
    )

    def __post_init__(self) -> None:
        if not 0 <= self.eval_fraction < 1:
            raise ValueError(f"Expected 0 <= `eval_fraction` < 1, got {self.eval_fraction}.")
        if self.context_tokens <= self.max_new_tokens:
            raise ValueError("Expected `context_tokens` > `max_new_tokens`.")
        super().__post_init__()

    @property
    def agent_options(self) -> dict[str, Any]:
        """The options an :class:`~agentsearch.agents.LLMAgent` needs to send the chats trained on."""
        return {
            "react": self.react,
            "icl": self.icl,
            "context_tokens": self.context_tokens,
            "max_tokens": self.max_new_tokens,
        }


class StepSFTTrainer(SFTTrainer):
    """``SFTTrainer`` whose LM head runs only where a label is: 60 of 1,500 tokens of a WebShop trajectory.

    The loss is TRL's (summed token cross-entropy over the labelled tokens of the accumulated batch),
    computed from the logits at labelled positions only (``logits_to_keep`` with their indices) instead
    of at every position; the full-vocabulary entropy and accuracy metrics are not computed.
    """

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        shifted = inputs["labels"][:, 1:]
        keep = (shifted != IGNORE_INDEX).any(0).nonzero().squeeze(-1)
        outputs = model(
            input_ids=inputs["input_ids"],
            attention_mask=inputs.get("attention_mask"),
            use_cache=False,
            logits_to_keep=keep,
        )
        targets = shifted[:, keep]
        total = torch.nn.functional.cross_entropy(
            outputs.logits.float().flatten(0, 1),
            targets.flatten(),
            ignore_index=IGNORE_INDEX,
            reduction="sum",
        )
        count = (targets != IGNORE_INDEX).sum() if num_items_in_batch is None else num_items_in_batch
        loss = total / torch.as_tensor(count).clamp(min=1)
        return (loss, outputs) if return_outputs else loss


class _CurveCallback(TrainerCallback):
    """Held-out action accuracy every ``every`` optimizer steps, appended to the learning curve."""

    def __init__(self, sequences: Sequence[SFTSequence], every: int, curve: list[dict[str, float]]) -> None:
        self.sequences, self.every, self.curve = sequences, every, curve

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self.every and self.sequences and state.global_step % self.every == 0 and model is not None:
            figures = action_accuracy(model, self.sequences)
            model.train()
            self.curve.append(
                {"step": float(state.global_step), **{f"eval_{k}": v for k, v in figures.items()}}
            )
            logger.info(
                "train-sft step %d: held-out action accuracy %.3f, loss %.4f",
                state.global_step,
                figures["action_accuracy"],
                figures["loss"],
            )


@dataclass
class SFTMeta:
    """``agentsearch_sft.json``: what an SFT policy was trained from and how well it fits held-out demos."""

    base_model: str
    base_fingerprint: dict[str, Any]
    tokenizer: str
    env: str
    adapter: str
    agent_options: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    curve: list[dict[str, float]] = field(default_factory=list)

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / SFT_META_FILE
        write_text_atomic(path, json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> SFTMeta:
        path = Path(folder) / SFT_META_FILE
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError as err:
            raise ConfigError(f"{folder} holds no {SFT_META_FILE}: not a `train-sft` output.") from err
        except (json.JSONDecodeError, TypeError) as err:
            raise DataFileError(path, None, f"not a valid {SFT_META_FILE}: {err}") from err


@dataclass(frozen=True)
class SFTResult:
    """What :func:`train_sft` produced."""

    out: Path
    metrics: dict[str, float]
    meta: SFTMeta
    seconds: float
    train_sequences: int


def content_sha256(path: str | Path) -> str:
    """SHA-256 of a file's content, decompressed when it is gzipped (a shipped ``.jsonl.gz``)."""
    import hashlib

    digest = hashlib.sha256()
    with open_maybe_gzipped(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_paths(paths: Sequence[str | Path], min_reward: float) -> list[tuple[Any, int]]:
    from agentsearch.data.demos import successful_paths
    from agentsearch.search.tree import read_trees

    found = []
    for path in paths:
        for tree in read_trees(path):
            if tree.error is None:
                found += [(tree, leaf) for leaf in successful_paths(tree, min_reward)]
    if not found:
        raise DataFileError(paths[0], None, f"no path with a final reward >= {min_reward} to train on.")
    return found


def _split(paths: list[tuple[Any, int]], fraction: float, most: int, seed: int) -> tuple[list, list]:
    """(train, held-out) by task id, so no state of a held-out task is trained on."""
    tasks = sorted({tree.task_id for tree, _ in paths})
    random.Random(seed).shuffle(tasks)
    count = min(round(fraction * len(tasks)), most, len(tasks) - 1)
    held = set(tasks[:count]) if fraction > 0 else set()
    return [p for p in paths if p[0].task_id not in held], [p for p in paths if p[0].task_id in held]


def _dataset(sequences: Sequence[SFTSequence]) -> Any:
    from datasets import Dataset

    return Dataset.from_list([{"input_ids": s.input_ids, "labels": s.labels} for s in sequences])


def action_accuracy(model: Any, sequences: Sequence[SFTSequence]) -> dict[str, float]:
    """Teacher-forced fit on held-out sequences: share of responses whose every token is the argmax.

    Also the mean loss per response token. A response is a maximal run of labelled tokens.
    """
    import torch

    correct = responses = 0
    loss_sum = tokens = 0.0
    model.eval()
    with torch.no_grad():
        for sequence in sequences:
            ids = torch.tensor([sequence.input_ids])
            labels = torch.tensor(sequence.labels[1:])
            logits = model(input_ids=ids).logits[0, :-1]
            mask = labels != IGNORE_INDEX
            loss_sum += float(torch.nn.functional.cross_entropy(logits[mask], labels[mask], reduction="sum"))
            tokens += int(mask.sum())
            hits = (logits.argmax(-1) == labels) | ~mask
            # Split labelled positions into responses at every unlabelled gap.
            run_ok, in_run = True, False
            for hit, labelled in zip(hits.tolist(), mask.tolist(), strict=True):
                if labelled:
                    run_ok, in_run = (run_ok and hit) if in_run else hit, True
                elif in_run:
                    correct, responses, in_run = correct + run_ok, responses + 1, False
            if in_run:
                correct, responses = correct + run_ok, responses + 1
    return {"action_accuracy": correct / max(responses, 1), "loss": loss_sum / max(tokens, 1)}


def _agent(env: str, tokenizer: Any, options: dict[str, Any]) -> Any:
    from agentsearch.agents import LLMAgent, make_prompt

    # Rendering needs only the prompt and the tokenizer: no backend is called.
    return LLMAgent(make_prompt(env), backend=None, tokenizer=tokenizer, **options)


def train_sft(
    demos: Sequence[str | Path],
    base: str,
    out: str | Path,
    *,
    config: StepSFTConfig | None = None,
    seed: int = 0,
    callbacks: Sequence[TrainerCallback] = (),
    **overrides: Any,
) -> SFTResult:
    """Fine-tune ``base`` on the successful paths of ``demos`` (tree files) and write ``out``.

    ``callbacks`` are extra ``transformers.TrainerCallback`` objects (a caller's progress bar:
    :class:`~agentsearch.train.callbacks.StepReport`).

    Raises:
        DataFileError: a malformed demos file, or no path reaches ``min_reward``.
        ConfigError: demos of several environments, a base whose tokenizer differs from the one a
            resumed run rendered with, or an unknown config field.
    """
    import dataclasses

    from agentsearch.llm.models import load_model, load_tokenizer, model_path
    from agentsearch.train.fit import lora_config

    out = Path(out)
    known = {f.name for f in dataclasses.fields(StepSFTConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"Unknown StepSFTConfig fields {unknown}.")
    base_args = config or StepSFTConfig(output_dir=str(out))
    args = dataclasses.replace(base_args, output_dir=str(out), seed=seed, **overrides)

    paths = _read_paths(demos, args.min_reward)
    envs = sorted({tree.env for tree, _ in paths})
    if len(envs) != 1:
        raise ConfigError(f"Expected demonstrations of one environment, got {envs}.")
    tokenizer = load_tokenizer(base)
    fingerprint = tokenizer_fingerprint(tokenizer)
    previous = out / SFT_META_FILE
    if previous.is_file() and SFTMeta.load(out).tokenizer != fingerprint:
        raise ConfigError(
            f"{out} was rendered with another tokenizer ({SFTMeta.load(out).tokenizer}) than {base}'s "
            f"({fingerprint}); train into a new folder."
        )
    strategy = getattr(args.save_strategy, "value", args.save_strategy)
    if strategy == "steps" and args.save_steps % args.logging_steps:
        # The Trainer restarts its running loss at a resume: the first logged loss after it averages
        # fewer steps unless checkpoints fall on logging steps.
        logger.warning("save_steps %s is not a multiple of logging_steps %s: a resumed run logs other "
                       "losses than an uninterrupted one.", args.save_steps, args.logging_steps)
    train_paths, held_paths = _split(paths, args.eval_fraction, args.max_eval_tasks, seed)
    if args.max_demos is not None:
        train_paths = train_paths[: args.max_demos]
    agent = _agent(envs[0], tokenizer, args.agent_options)
    train_seqs = render_paths(train_paths, agent, tokenizer, pack=args.pack)
    held_seqs = render_paths(held_paths, agent, tokenizer, pack=args.pack)
    logger.info(
        "train-sft: %d paths (%d train, %d held out) -> %d train sequences, %d tokens",
        len(paths),
        len(train_paths),
        len(held_paths),
        len(train_seqs),
        sum(len(s.input_ids) for s in train_seqs),
    )
    meta = SFTMeta(
        base_model=str(base),
        base_fingerprint=model_fingerprint(load_model(base).config),
        tokenizer=fingerprint,
        env=envs[0],
        adapter="lora" if args.lora else "full",
        agent_options=args.agent_options,
        data={
            "files": [str(p) for p in demos],
            "sha256": [content_sha256(p) for p in demos],
            "paths": len(paths),
            "train_paths": len(train_paths),
            "heldout_paths": len(held_paths),
            "train_sequences": len(train_seqs),
            "train_tokens": sum(len(s.input_ids) for s in train_seqs),
            "train_loss_tokens": sum(s.loss_tokens for s in train_seqs),
        },
    )
    out.mkdir(parents=True, exist_ok=True)
    meta.save(out)  # early, so a resumed run can check the tokenizer

    result = _fit(base, model_path(base), out, args, tokenizer, train_seqs, held_seqs, lora_config, callbacks)
    model, seconds, train_metrics, curve = result
    metrics = dict(train_metrics)
    if held_seqs:
        metrics.update({f"eval_{k}": v for k, v in action_accuracy(model, held_seqs).items()})
        logger.info(
            "train-sft held-out: action accuracy %.3f, loss %.4f",
            metrics["eval_action_accuracy"],
            metrics["eval_loss"],
        )
    meta.metrics, meta.curve = metrics, curve
    meta.save(out)
    return SFTResult(out, metrics, meta, seconds, len(train_seqs))


def _fit(
    base: str,
    base_path: str,
    out: Path,
    args: StepSFTConfig,
    tokenizer: Any,
    train_seqs: list[SFTSequence],
    held_seqs: list[SFTSequence],
    lora_config: Any,
    callbacks: Sequence[TrainerCallback],
) -> tuple[Any, float, dict[str, float], list[dict[str, float]]]:
    """Run the trainer; return the trained model, seconds, final metrics and the learning curve."""
    from agentsearch.llm.models import load_model

    model = load_model(base)
    model.config._name_or_path = base_path
    model.train()
    peft_config = (
        lora_config(model, r=args.lora_r, alpha=args.lora_alpha, top_layers=None) if args.lora else None
    )
    measured: list[dict[str, float]] = []
    curve_seqs = [
        s for s in held_seqs if s.task_id in sorted({h.task_id for h in held_seqs})[: args.curve_tasks]
    ]
    trainer = StepSFTTrainer(
        model=model,
        args=args,
        train_dataset=_dataset(train_seqs),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[_CurveCallback(curve_seqs, args.curve_steps, measured), *callbacks],
    )
    log_to_logger(trainer)
    start = time.perf_counter()
    train_metrics = resume_training(trainer, last_complete_checkpoint(out))
    seconds = time.perf_counter() - start
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    losses = [
        {"step": float(entry["step"]), "loss": float(entry["loss"])}
        for entry in trainer.state.log_history
        if "loss" in entry
    ]
    metrics = {k: float(v) for k, v in train_metrics.items() if isinstance(v, int | float)}
    if losses:
        metrics["final_loss"] = losses[-1]["loss"]
    return trainer.model, seconds, metrics, losses + measured


def export_adapter(folder: str | Path, dest: str | Path, dtype: str = "float16") -> Path:
    """Copy a LoRA ``train-sft`` output to ``dest`` for shipping: weights cast to ``dtype``, configs, record.

    Merging (:func:`agentsearch.llm.models.resolve_model`) casts the weights back to float32.
    """
    import shutil

    from safetensors.torch import load_file, save_file

    folder, dest = Path(folder), Path(dest)
    if not (folder / "adapter_model.safetensors").is_file():
        raise ConfigError(f"{folder} holds no LoRA adapter (adapter_model.safetensors) to export.")
    dest.mkdir(parents=True, exist_ok=True)
    weights = load_file(folder / "adapter_model.safetensors")
    save_file(
        {k: v.to(getattr(torch, dtype)).contiguous() for k, v in weights.items()},
        dest / "adapter_model.safetensors",
        metadata={"format": "pt"},
    )
    for name in ("adapter_config.json", SFT_META_FILE):
        shutil.copyfile(folder / name, dest / name)
    return dest
