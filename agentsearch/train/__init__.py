"""Step-level DPO training (TRL) and the Q-value model it produces.

Heavy imports (torch, TRL) happen on first use of a name, so ``import agentsearch.train`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["QValueModel", "StepDPOConfig", "StepDPOTrainer", "TrainMeta", "TrainResult", "train_q"]

_WHERE = {
    "QValueModel": "agentsearch.train.qmodel",
    "StepDPOConfig": "agentsearch.train.trainer",
    "StepDPOTrainer": "agentsearch.train.trainer",
    "TrainMeta": "agentsearch.train.meta",
    "TrainResult": "agentsearch.train.fit",
    "train_q": "agentsearch.train.fit",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'agentsearch.train' has no attribute {name!r}")
