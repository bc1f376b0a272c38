"""Step-level math reasoning as a text environment: one action is one reasoning step.

The observation is the problem followed by the steps taken so far. An episode terminates when a
step states a final answer (``\\boxed{...}`` or "The answer is ...") and pays 1.0 when that answer is
equivalent to the gold one (:func:`~agentsearch.envs.math.verify.is_equivalent`), else 0.0; it is
truncated after ``max_steps`` steps (10 by default, as the Step-DPO/MCTS-DPO chains rarely exceed).

Example::

    from agentsearch.envs import make

    env = make("math", split="test")
    observation, info = env.reset(options={"task_id": "gsm-synth-test-00000"})
    observation, reward, terminated, truncated, info = env.step("7 * 10 = 70 minutes.")
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from agentsearch.envs.base import SPLITS, TextEnv, Transition, check_split
from agentsearch.envs.math.problems import MathProblem, load_problems, shipped_problems
from agentsearch.envs.math.verify import (
    DEFAULT_TIMEOUT,
    asks_for_percent,
    final_answer,
    has_final_answer,
    is_equivalent,
    start_worker,
)
from agentsearch.errors import ConfigError, EnvError, did_you_mean

__all__ = ["STEP_FORMATS", "MathEnv", "format_steps"]

#: ``"step_k"``: ``Step 1: ...`` blocks (Step-DPO); ``"lines"``: one line per step (MCTS-DPO).
STEP_FORMATS = ("step_k", "lines")
#: Longest step accepted, in characters; longer actions are invalid (and never parsed).
MAX_STEP_CHARS = 8000

_STEP_LABEL = re.compile(r"^\s*step\s*[0-9]+\s*[:.)]\s*", re.IGNORECASE | re.ASCII)


def format_steps(question: str, steps: Sequence[str], step_format: str) -> str:
    """The observation: the question, a blank line, then the steps in ``step_format``."""
    if not steps:
        return question
    if step_format == "step_k":
        body = "\n".join(f"Step {index}: {step}" for index, step in enumerate(steps, start=1))
    else:
        body = "\n".join(steps)
    return f"{question}\n\n{body}"


class MathEnv(TextEnv):
    """GSM8K/MATH-style problems solved one reasoning step per action.

    Args:
        step_format: how steps appear in the observation, one of :data:`STEP_FORMATS`.
        data_files: ``{split: path}`` of GSM8K JSONL, MATH JSON or agentsearch JSONL files to use
            instead of the shipped generated problems (splits not named are empty).
        problems: ``{split: [MathProblem, ...]}``, as an alternative to ``data_files``.
        verify_timeout: bound in seconds on checking one final answer (a timeout scores 0).
        max_steps, split, render_mode: see :class:`~agentsearch.envs.base.TextEnv`.

    ``info`` adds ``answer`` (the extracted final answer, ``None`` before one is given),
    ``level`` and ``topic`` of the problem, ``error`` on an invalid step (empty, or longer than
    :data:`MAX_STEP_CHARS`), and ``gold_answer`` once the episode is over (never before, so an agent
    cannot read it).
    """

    default_max_steps: ClassVar[int] = 10

    def __init__(
        self,
        *,
        step_format: str = "step_k",
        data_files: Mapping[str, str | Path] | None = None,
        problems: Mapping[str, Sequence[MathProblem]] | None = None,
        verify_timeout: float = DEFAULT_TIMEOUT,
        max_steps: int | None = None,
        split: str = "train",
        render_mode: str | None = None,
    ) -> None:
        super().__init__(max_steps=max_steps, split=split, render_mode=render_mode)
        if step_format not in STEP_FORMATS:
            raise ConfigError(
                f"Unknown step_format {step_format!r}; expected one of {STEP_FORMATS}."
                f"{did_you_mean(step_format, STEP_FORMATS)}"
            )
        if data_files is not None and problems is not None:
            raise ConfigError("Pass either `data_files` or `problems`, not both.")
        if verify_timeout <= 0:
            raise ConfigError(f"Expected `verify_timeout` to be positive, got {verify_timeout}.")
        self.step_format = step_format
        self.verify_timeout = verify_timeout
        self._custom: dict[str, tuple[MathProblem, ...]] | None = None
        if data_files is not None:
            for name in data_files:
                check_split(name)
            self._custom = {name: tuple(load_problems(path, tag=name)) for name, path in data_files.items()}
        elif problems is not None:
            for name in problems:
                check_split(name)
            self._custom = {name: tuple(items) for name, items in problems.items()}
        # The symbolic checker imports sympy in its own process; start it now so that it is ready
        # before the first final answer, whose time bound covers any wait for it.
        start_worker()
        self._by_id: dict[str, MathProblem] = {}
        self._problem: MathProblem | None = None
        self._steps: tuple[str, ...] = ()
        self._answer: str | None = None

    # ------------------------------------------------------------------ problems
    def problems(self, split: str) -> tuple[MathProblem, ...]:
        """The problems of ``split``, in task order."""
        check_split(split)
        if self._custom is not None:
            return self._custom.get(split, ())
        return shipped_problems(split)

    def task_ids(self, split: str) -> list[str]:
        return [problem.id for problem in self.problems(split)]

    def problem(self, task_id: str) -> MathProblem:
        """The problem behind ``task_id`` (gold answer included: for experts and analysis, not agents)."""
        if not self._by_id:
            for split in SPLITS:
                for item in self.problems(split):
                    if self._by_id.setdefault(item.id, item) is not item:
                        raise ConfigError(f"Task id {item.id!r} appears twice; task ids must be unique.")
        try:
            return self._by_id[task_id]
        except KeyError:
            raise EnvError(f"MathEnv has no task {task_id!r}.") from None

    def _has_task(self, task_id: str) -> bool:
        try:
            self.problem(task_id)
        except EnvError:
            return False
        return True

    @property
    def steps(self) -> tuple[str, ...]:
        """The steps taken so far in this episode."""
        return self._steps

    @property
    def current_problem(self) -> MathProblem:
        if self._problem is None:
            raise EnvError("Call reset() first.")
        return self._problem

    def expert_plan(self) -> list[str] | None:
        """The rest of the reference solution, labelled ``Step k: ...``, while the steps so far follow it."""
        problem = self.current_problem
        done = len(self._steps)
        if self._answer is not None or self._steps != problem.steps[:done]:
            return None
        return [f"Step {k}: {step}" for k, step in enumerate(problem.steps[done:], start=done + 1)]

    # ------------------------------------------------------------------ TextEnv hooks
    def _reset_task(self, task_id: str) -> tuple[str, str, dict[str, Any]]:
        self._problem = self.problem(task_id)
        self._steps = ()
        self._answer = None
        return self._problem.question, self._problem.question, self._extras(done=False)

    def _extras(self, *, done: bool, **more: Any) -> dict[str, Any]:
        assert self._problem is not None
        extras = {"answer": self._answer, "level": self._problem.level, "topic": self._problem.topic, **more}
        if done:
            extras["gold_answer"] = self._problem.answer
        return extras

    def _invalid(self, reason: str) -> Transition:
        # The state does not change, but the step still counts towards max_steps.
        done = self.step_count + 1 >= self.max_steps
        return Transition(self.observation, invalid_action=True, extras=self._extras(done=done, error=reason))

    def _step(self, action: str) -> Transition:
        assert self._problem is not None
        step = _STEP_LABEL.sub("", action, count=1).strip()
        if not step:
            return self._invalid("empty step")
        if len(step) > MAX_STEP_CHARS:
            return self._invalid(f"step longer than {MAX_STEP_CHARS} characters")
        if self.step_format == "lines":
            step = " ".join(step.split())
        self._steps = (*self._steps, step)
        observation = format_steps(self._problem.question, self._steps, self.step_format)
        if not has_final_answer(step):
            done = self.step_count + 1 >= self.max_steps
            return Transition(observation, extras=self._extras(done=done))
        self._answer = final_answer(step)
        won = is_equivalent(
            self._answer,
            self._problem.answer,
            timeout=self.verify_timeout,
            # "539.5%" is not a dollar amount; it may stand for 539.5 only where a percentage is asked.
            asks_percent=asks_for_percent(self._problem.question),
        )
        return Transition(
            observation, reward=1.0 if won else 0.0, terminated=True, won=won, extras=self._extras(done=True)
        )

    def _valid_actions(self) -> None:
        return None  # free-form: any text is a step

    def _get_state(self) -> tuple[str | None, tuple[str, ...], str | None]:
        return (self._problem.id if self._problem else None, self._steps, self._answer)

    def _set_state(self, state: tuple[str | None, tuple[str, ...], str | None]) -> None:
        problem_id, self._steps, self._answer = state
        self._problem = self.problem(problem_id) if problem_id is not None else None
