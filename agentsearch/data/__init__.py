"""Step-level data from search trees: Q-values, preference pairs, value labels, JSONL and datasets I/O."""

from agentsearch.data.io import load_pairs, load_value_labels, read_jsonl, write_jsonl
from agentsearch.data.pairs import STRATEGIES, preference_pairs
from agentsearch.data.qvalues import StepValue, q_values, value_labels
from agentsearch.data.stats import pair_stats, tree_stats

__all__ = [
    "STRATEGIES",
    "StepValue",
    "load_pairs",
    "load_value_labels",
    "pair_stats",
    "preference_pairs",
    "q_values",
    "read_jsonl",
    "tree_stats",
    "value_labels",
    "write_jsonl",
]
