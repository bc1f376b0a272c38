"""agentsearch: tree search for LLM agents, step-level Q-values, and Q-guided agents.

Importing the package registers its environments with gymnasium::

    import gymnasium as gym
    import agentsearch

    env = gym.make("agentsearch/WebShop-v0")

Heavy dependencies (torch, transformers, TRL, vLLM) load only when the modules that need them do.
"""

from agentsearch import envs  # noqa: F401  (registers agentsearch/<Name>-v0 with gymnasium)
from agentsearch.errors import (
    ActionParseError,
    AgentSearchError,
    BackendError,
    ConfigError,
    DataFileError,
    EnvError,
)

__version__ = "0.1.0"

__all__ = [
    "ActionParseError",
    "AgentSearchError",
    "BackendError",
    "ConfigError",
    "DataFileError",
    "EnvError",
    "__version__",
]
