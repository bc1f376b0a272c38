"""A reference-solution expert: replays a problem's gold solution one step per action.

Used by tests (every shipped problem must score 1.0) and as a source of known-good trajectories.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentsearch.envs.math.env import MathEnv

__all__ = ["ReferenceExpert", "fit_steps"]


def fit_steps(steps: Sequence[str], max_steps: int) -> tuple[str, ...]:
    """``steps`` merged so there are at most ``max_steps`` (leading steps join, the last stays last)."""
    steps = tuple(steps)
    if len(steps) <= max_steps:
        return steps
    overflow = len(steps) - max_steps + 1
    return (" ".join(steps[:overflow]), *steps[overflow:])


class ReferenceExpert:
    """Acts in a :class:`MathEnv` by replaying the current problem's reference solution.

    Example::

        expert = ReferenceExpert(env)
        reward = expert.solve("gsm-synth-test-00000")  # 1.0
    """

    def __init__(self, env: MathEnv) -> None:
        self.env = env

    def act(self) -> str:
        """The reference step that follows the steps taken so far."""
        steps = fit_steps(self.env.current_problem.steps, self.env.max_steps)
        taken = len(self.env.steps)
        return steps[min(taken, len(steps) - 1)]

    def solve(self, task_id: str) -> float:
        """Play one episode of ``task_id`` with reference steps; return the total reward."""
        self.env.reset(options={"task_id": task_id})
        total = 0.0
        while not self.env.done:
            _, reward, _, _, _ = self.env.step(self.act())
            total += reward
        return total
