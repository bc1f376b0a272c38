"""ALFWorld household tasks, offline: ALFWorld's real engine and a step-identical native twin.

``ALFWorldEnv`` is registered as ``agentsearch/ALFWorld-v0``::

    import gymnasium as gym
    import agentsearch

    env = gym.make("agentsearch/ALFWorld-v0", engine="native", wording="0.4").unwrapped
    obs, info = env.reset(options={"task_id": "test-0000"})

Modules: :mod:`.env` (the gymnasium env), :mod:`.native` (pure-Python engine), :mod:`.real` (TextWorld's
``PddlEnv`` with snapshots), :mod:`.games` (shipped and official game catalogs), :mod:`.pddl` (problem
rendering/parsing), :mod:`.planner` (exact shortest plans), :mod:`.generate` (the seeded game generator).
"""

from agentsearch.envs.alfworld.env import ENGINES, ALFWorldEnv

__all__ = ["ALFWorldEnv", "ENGINES"]
