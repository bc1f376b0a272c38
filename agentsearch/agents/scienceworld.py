"""ScienceWorld's plug-in record: the generic prompt over the simulator's valid actions.

The environment (``agentsearch.envs.scienceworld``) gives the task description as the instruction and
lists every valid action (a few hundred per room), so ``action_mode="score_valid"`` (the shipped
default) scores them instead of letting a small model misspell commands.
"""

from __future__ import annotations

from agentsearch.plugins import SHIPPED_CONFIGS, EnvPlugin, register_env_plugin

__all__ = ["PLUGIN"]

#: The plug-in record of this environment (``agentsearch.plugins``).
PLUGIN = register_env_plugin(
    EnvPlugin(
        "agentsearch/ScienceWorld-v0",
        configs=SHIPPED_CONFIGS / "scienceworld.yaml",
        requires=("scienceworld",),
        extra="scienceworld",
        description="elementary-science tasks in a simulator (Wang et al., 2022); needs Java 17",
    )
)
