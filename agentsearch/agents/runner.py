"""Run one episode with an agent: the plain (no search) loop that tests and evaluation share.

At every step the agent proposes candidates for the current history and the first (most frequent,
then most likely) is executed; at ``temperature=0`` that is the greedy action.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from agentsearch.agents.base import Agent, History, Turn, sampling_for
from agentsearch.envs.base import TextEnv

__all__ = ["EpisodeResult", "run_episode"]

logger = logging.getLogger(__name__)


@dataclass
class EpisodeResult:
    """What happened in one episode.

    Attributes:
        task_id: the task played.
        actions: executed actions, in order.
        responses: the model's full responses, in order.
        observations: what the environment answered to each action.
        rewards: reward of each step.
        won: the task was solved (``info["won"]`` of the last step).
        terminated: the episode ended inside the MDP (purchase, goal, final answer).
        truncated: the step limit ended it.
        invalid_actions: steps whose action the environment rejected.
        tokens: generated tokens of the executed responses.
    """

    task_id: str
    actions: list[str] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    won: bool = False
    terminated: bool = False
    truncated: bool = False
    invalid_actions: int = 0
    tokens: int = 0

    @property
    def steps(self) -> int:
        return len(self.actions)

    @property
    def reward(self) -> float:
        """The episode return (sum of step rewards)."""
        return float(sum(self.rewards))

    @property
    def success(self) -> bool:
        return self.won


async def run_episode(
    env: TextEnv,
    agent: Agent,
    *,
    task_id: str | None = None,
    temperature: float = 0.0,
    max_steps: int | None = None,
    seed: int | None = None,
) -> EpisodeResult:
    """Play ``task_id`` (or a task drawn with ``seed``) until the episode ends or ``max_steps`` steps.

    ``max_steps`` caps this run below the environment's own limit (which truncates anyway).
    """
    options = {"task_id": task_id} if task_id is not None else None
    observation, info = env.reset(seed=seed, options=options)
    history = History(info["instruction"], observation)
    result = EpisodeResult(task_id=str(info["task_id"]))
    step = 0
    while max_steps is None or step < max_steps:
        step_seed = None if seed is None else seed + step
        candidates = await agent.propose(
            history,
            sampling_for(agent, 1, temperature, seed=step_seed),
            valid_actions=info.get("valid_actions"),
        )
        choice = candidates[0]
        observation, reward, terminated, truncated, info = env.step(choice.action)
        history = history.extend(Turn(choice.response, choice.action, observation))
        result.actions.append(choice.action)
        result.responses.append(choice.response)
        result.observations.append(observation)
        result.rewards.append(float(reward))
        result.invalid_actions += int(bool(info.get("invalid_action")))
        result.tokens += choice.num_tokens
        step += 1
        if terminated or truncated:
            result.terminated, result.truncated = terminated, truncated
            break
    result.won = bool(info.get("won"))
    logger.info(
        "Task %s: %d steps, reward %.3f, won=%s, %d invalid actions.",
        result.task_id,
        result.steps,
        result.reward,
        result.won,
        result.invalid_actions,
    )
    return result
