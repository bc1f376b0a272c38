"""The ``agentsearch_meta.json`` file written next to every trained Q-model or policy.

It records what a directory was trained from (base model and its fingerprint, beta, data hash, round)
and what came out (held-out pair accuracy, reward margins), so :class:`~agentsearch.train.QValueModel`
can refuse a directory whose base model does not match, and evaluation can report provenance.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentsearch.errors import ConfigError, DataFileError
from agentsearch.files import write_text_atomic

__all__ = ["META_FILE", "TrainMeta", "model_fingerprint", "file_sha256"]

META_FILE = "agentsearch_meta.json"
META_FORMAT = 1


@dataclass
class TrainMeta:
    """Provenance and results of one ``train-q`` run.

    Attributes:
        base_model: the base model's name or path as given (``"smollm2-135m"``).
        base_fingerprint: architecture facts of the base model (see :func:`model_fingerprint`).
        target: ``"qmodel"`` (a scorer read through beta * log-ratio) or ``"policy"`` (the agent itself).
        adapter: ``"lora"`` (a PEFT adapter on the base) or ``"full"`` (full weights).
        beta: the DPO beta; Q-values are ``beta * log(pi_theta / pi_ref)``.
        loss_type: TRL loss types used.
        data: the pairs file, its SHA-256, and pair counts.
        metrics: final train and held-out metrics (``eval_rewards/accuracies``, ``eval_rewards/margins`` ...).
        round: the iteration round of the data this model was trained on.
    """

    base_model: str
    base_fingerprint: dict[str, Any]
    target: str
    adapter: str
    beta: float
    loss_type: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    round: int = 0
    format: int = META_FORMAT

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / META_FILE
        write_text_atomic(path, json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> TrainMeta:
        path = Path(folder) / META_FILE
        if not path.is_file():
            raise ConfigError(
                f"{folder} is not an agentsearch Q-model directory (no {META_FILE}); "
                "train one with `agentsearch train-q PAIRS --model MODEL --out DIR`."
            )
        try:
            raw = json.loads(path.read_text())
            return cls(**raw)
        except (json.JSONDecodeError, TypeError) as err:
            raise DataFileError(path, None, f"not a valid {META_FILE}: {err}") from err


def model_fingerprint(config: Any) -> dict[str, Any]:
    """Architecture facts an adapter or a Q-model depends on: a base with other values cannot host it."""
    keys = (
        "model_type",
        "vocab_size",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
    )
    return {key: getattr(config, key, None) for key in keys}


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
