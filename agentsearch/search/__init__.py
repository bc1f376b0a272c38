"""Tree search over agent turns (MCTS, DFSDT, beam, best-of-N) and the one tree schema they all write."""

from agentsearch.search.algorithms import (
    RegisteredAlgorithm,
    algorithm_names,
    get_algorithm,
    make_search_config,
    register_algorithm,
)
from agentsearch.search.base import Evaluator, SearchAlgorithm, SearchConfig, SearchContext, task_seed

# Importing the built-in algorithms registers them (each module's @register_algorithm).
from agentsearch.search.beam import BeamConfig, beam
from agentsearch.search.best_of_n import BestOfNConfig, best_of_n
from agentsearch.search.branching import Branching
from agentsearch.search.collect import CollectConfig, collect, load_collect_config
from agentsearch.search.critic import SelfCritique
from agentsearch.search.dfsdt import DFSDTConfig, dfsdt
from agentsearch.search.mcts import MCTSConfig, mcts
from agentsearch.search.scripted import RandomValidAgent
from agentsearch.search.selection import priors_from_logprobs, puct, uct
from agentsearch.search.tree import NO_PARENT, ROOT, SCHEMA_VERSION, SearchTree, append_tree, read_trees

__all__ = [
    "BeamConfig",
    "BestOfNConfig",
    "CollectConfig",
    "DFSDTConfig",
    "beam",
    "best_of_n",
    "collect",
    "dfsdt",
    "algorithm_names",
    "get_algorithm",
    "register_algorithm",
    "RegisteredAlgorithm",
    "SearchAlgorithm",
    "load_collect_config",
    "make_search_config",
    "Branching",
    "Evaluator",
    "MCTSConfig",
    "NO_PARENT",
    "ROOT",
    "RandomValidAgent",
    "SCHEMA_VERSION",
    "SearchConfig",
    "SearchContext",
    "SearchTree",
    "SelfCritique",
    "append_tree",
    "mcts",
    "priors_from_logprobs",
    "puct",
    "read_trees",
    "task_seed",
    "uct",
]
