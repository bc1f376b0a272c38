"""``train_q``: step-level DPO from a pairs file to a Q-model (or policy) directory.

The output directory is a standard PEFT adapter (or a full Hugging Face model with ``lora=False``)
plus the tokenizer and ``agentsearch_meta.json`` (base model, beta, data hash, held-out metrics,
round), loadable with :meth:`agentsearch.train.QValueModel.load`. Training checkpoints every
``save_steps`` optimizer steps; a rerun into the same folder (after a kill) resumes from the newest
complete checkpoint, with the model, optimizer, scheduler, RNG and data order restored, so it ends on
the same loss as an uninterrupted run.

Example::

from agentsearch.train import StepDPOConfig, train_q
    result = train_q("runs/ws/pairs.jsonl", "smollm2-135m", "runs/ws/qmodel",
                     config=StepDPOConfig(output_dir="runs/ws/qmodel", lora_top_layers=8))
    result.metrics["eval_rewards/accuracies"]
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentsearch.errors import ConfigError, DataFileError
from agentsearch.files import write_text_atomic
from agentsearch.train.callbacks import log_to_logger
from agentsearch.train.checkpoints import last_complete_checkpoint, resume_training
from agentsearch.train.meta import TrainMeta, file_sha256, model_fingerprint
from agentsearch.train.pairs import check_tokenized, read_pair_records, split_heldout

__all__ = ["POLICY_FOLDER", "TrainResult", "policy_model_path", "train_q", "lora_config"]

logger = logging.getLogger(__name__)

#: Where a LoRA-trained policy is also saved with the adapter merged in (a plain Hugging Face folder).
POLICY_FOLDER = "merged"
#: The identity of the run whose checkpoints the folder holds (see ``_resume_point``).
RUN_FILE = "agentsearch_run.json"

LLAMA_LINEARS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass(frozen=True)
class TrainResult:
    """What ``train_q`` produced.

    Attributes:
        out: the output directory.
        metrics: final train metrics and, when pairs were held out, ``eval_*`` metrics (pair accuracy
            ``eval_rewards/accuracies``, margin ``eval_rewards/margins``, loss).
        meta: the metadata written to ``agentsearch_meta.json``.
        seconds: wall time of the training loop.
        train_pairs: pairs trained on.
    """

    out: Path
    metrics: dict[str, float]
    meta: TrainMeta
    seconds: float
    train_pairs: int


def lora_config(model: Any, *, r: int, alpha: int, top_layers: int | None) -> Any:
    """LoRA on all linear layers, optionally only on the top ``top_layers`` decoder layers."""
    from peft import LoraConfig

    layers = None
    if top_layers is not None:
        total = model.config.num_hidden_layers
        layers = list(range(max(0, total - top_layers), total))
    # PEFT accepts layers_to_transform only with explicit module names; these are the Llama-family linears.
    modules: str | list[str] = "all-linear" if layers is None else LLAMA_LINEARS
    return LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=0.0,
        target_modules=modules,
        layers_to_transform=layers,
        task_type="CAUSAL_LM",
    )


def train_q(
    pairs_path: str | Path,
    base: str,
    out: str | Path,
    *,
    config: Any | None = None,
    seed: int = 0,
    callbacks: Sequence[Any] = (),
    **overrides: Any,
) -> TrainResult:
    """Train a step-level Q-model (or, with ``target="policy"``, the policy) with step-level DPO.

    Args:
        pairs_path: TRL conversational pairs JSONL (see :mod:`agentsearch.train.pairs`).
        base: base model name or folder (``"smollm2-135m"``, ``"tiny-random"``, a HF folder).
        out: output directory.
        config: a :class:`~agentsearch.train.StepDPOConfig`; ``output_dir`` is set to ``out``.
        seed: seed of the held-out split and of training.
        callbacks: extra ``transformers.TrainerCallback`` objects (e.g. a progress report).
        **overrides: ``StepDPOConfig`` fields (``beta=0.05``, ``loss_type=["ipo"]``, ``target="policy"`` ...),
            applied on top of ``config``.

    Raises:
        DataFileError: the pairs file is empty, one-sided, malformed, doesn't tokenize, or too long.
        ConfigError: an unknown config field.
    """
    import dataclasses

    from datasets import Dataset

    from agentsearch.llm.models import load_model, load_tokenizer
    from agentsearch.train.trainer import StepDPOConfig, StepDPOTrainer

    out = Path(out)
    known = {f.name for f in dataclasses.fields(StepDPOConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"Unknown StepDPOConfig fields {unknown}.")
    if config is None:
        args = StepDPOConfig(output_dir=str(out), seed=seed, **overrides)
    else:
        args = dataclasses.replace(config, output_dir=str(out), seed=seed, **overrides)

    records = read_pair_records(pairs_path)
    tokenizer = load_tokenizer(base)
    check_tokenized(pairs_path, records, tokenizer, args.max_length)
    train_records, heldout = split_heldout(records, args.eval_fraction, seed=seed)
    if not train_records:
        raise DataFileError(pairs_path, None, "no pairs left to train on after holding out the eval split.")
    logger.info(
        "train-q: %d pairs (%d train, %d held out) from %s",
        len(records),
        len(train_records),
        len(heldout),
        pairs_path,
    )

    model = load_model(base)
    model.train()
    peft_config = (
        lora_config(model, r=args.lora_r, alpha=args.lora_alpha, top_layers=args.lora_top_layers)
        if args.lora
        else None
    )
    train_ds = Dataset.from_list([r.trl_row() for r in train_records])
    eval_ds = Dataset.from_list([r.trl_row() for r in heldout]) if heldout else None
    trainer = StepDPOTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=list(callbacks),
    )
    log_to_logger(trainer)
    start = time.perf_counter()
    train_metrics = resume_training(trainer, _resume_point(out, pairs_path, base, args))
    seconds = time.perf_counter() - start
    metrics: dict[str, float] = {k: float(v) for k, v in train_metrics.items()}
    history = [entry for entry in trainer.state.log_history if "loss" in entry]
    if history:
        metrics["final_loss"] = float(history[-1]["loss"])
        for key in ("rewards/accuracies", "rewards/margins"):
            if key in history[-1]:
                metrics[f"train_{key}"] = float(history[-1][key])
    if eval_ds is not None:
        metrics.update({k: float(v) for k, v in trainer.evaluate().items()})
        logger.info(
            "train-q held-out: pair accuracy %.3f, reward margin %.4f",
            metrics.get("eval_rewards/accuracies", float("nan")),
            metrics.get("eval_rewards/margins", float("nan")),
        )

    out.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    if args.target == "policy" and args.lora:
        # A policy is served by generation backends (hf, vllm) that load full model folders.
        merged = trainer.model.merge_and_unload()
        merged.config._name_or_path = str(out / POLICY_FOLDER)
        merged.save_pretrained(str(out / POLICY_FOLDER))
        tokenizer.save_pretrained(str(out / POLICY_FOLDER))
    rounds = {int(r.meta.get("round", 0)) for r in records}
    meta = TrainMeta(
        base_model=str(base),
        base_fingerprint=model_fingerprint(load_model_config(base)),
        target=args.target,
        adapter="lora" if args.lora else "full",
        beta=args.beta,
        loss_type=list(args.loss_type),
        data={
            "path": str(pairs_path),
            "sha256": file_sha256(pairs_path),
            "pairs": len(records),
            "train_pairs": len(train_records),
            "heldout_pairs": len(heldout),
            "rounds": sorted(rounds),
        },
        metrics=metrics,
        round=max(rounds, default=args.round) if args.round == 0 else args.round,
    )
    meta.save(out)
    return TrainResult(out, metrics, meta, seconds, len(train_records))


def _resume_point(out: Path, pairs_path: str | Path, base: str, args: Any) -> str | None:
    """The checkpoint a rerun into ``out`` resumes from, if the checkpoints there are of this run.

    The run's identity (data hash, base, seed, the options that shape the optimisation) is written
    before training starts. A rerun with other data or options never continues a foreign state: it
    removes those checkpoints and starts over (what a rerun did before checkpoints existed).
    """
    identity = {
        "pairs_sha256": file_sha256(pairs_path), "base": str(base), "seed": args.seed,
        "target": args.target, "lora": args.lora, "beta": args.beta, "loss_type": list(args.loss_type),
        "learning_rate": args.learning_rate, "batch": args.per_device_train_batch_size,
        "grad_accum": args.gradient_accumulation_steps, "max_steps": args.max_steps,
        "epochs": args.num_train_epochs,
    }
    run_file = out / RUN_FILE
    checkpoint = last_complete_checkpoint(out)
    if checkpoint is not None:
        try:
            previous = json.loads(run_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = None
        if previous != identity:
            changed = sorted(k for k in identity if (previous or {}).get(k) != identity[k])
            logger.warning("train-q: %s holds checkpoints of another run (differs in %s); starting over.",
                           out, changed)
            for folder in out.glob("checkpoint-*"):
                shutil.rmtree(folder, ignore_errors=True)
            checkpoint = None
    write_text_atomic(run_file, json.dumps(identity, indent=2, sort_keys=True) + "\n")
    if checkpoint is not None:
        logger.info("train-q: resuming from %s", checkpoint)
    return checkpoint


def load_model_config(base: str) -> Any:
    from transformers import AutoConfig

    from agentsearch.llm.models import model_path

    return AutoConfig.from_pretrained(model_path(base))


def policy_model_path(path: str | Path) -> Path:
    """The full model folder of a policy trained with ``target="policy"`` (what backends load).

    Raises:
        ConfigError: ``path`` holds a Q-model, not a policy.
    """
    meta = TrainMeta.load(path)
    if meta.target != "policy":
        raise ConfigError(f"{path} holds a {meta.target}, not a policy; train one with `--target policy`.")
    return Path(path) / POLICY_FOLDER if meta.adapter == "lora" else Path(path)
