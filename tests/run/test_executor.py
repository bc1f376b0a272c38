"""The in-process executor's side of the runner contract (no Ray needed)."""

from __future__ import annotations

import asyncio

from agentsearch.run import LocalExecutor


class Probe:
    """Records prepare's calls and, per task, what had been prepared when it started."""

    def __init__(self) -> None:
        self.prepared: list[int] = []

    async def prepare(self, concurrency: int) -> None:
        self.prepared.append(concurrency)

    async def __call__(self, task: int) -> list[int]:
        await asyncio.sleep(0)
        return list(self.prepared)


def test_local_executor_prepares_the_runner_once_before_its_tasks():
    probe, seen = Probe(), {}
    LocalExecutor().map(probe, range(5), seen.__setitem__, concurrency=3)
    assert seen == {task: [3] for task in range(5)}
    # Fewer tasks than slots: only as many as the tasks are prepared; no task, no prepare.
    fewer = Probe()
    LocalExecutor().map(fewer, range(2), lambda task, record: None, concurrency=8)
    assert fewer.prepared == [2]
    none = Probe()
    LocalExecutor().map(none, [], lambda task, record: None, concurrency=8)
    assert none.prepared == []


def test_a_runner_without_prepare_still_runs():
    async def double(task: int) -> int:
        return 2 * task

    seen = {}
    LocalExecutor().map(double, range(4), seen.__setitem__, concurrency=2)
    assert seen == {0: 0, 1: 2, 2: 4, 3: 6}


def test_map_called_inside_a_running_event_loop_still_runs_every_task():
    # A Jupyter cell (or an async app) already runs a loop in this thread; asyncio.run would refuse.
    async def square(task: int) -> int:
        await asyncio.sleep(0)
        return task * task

    async def notebook_cell() -> dict[int, int]:
        seen: dict[int, int] = {}
        LocalExecutor().map(square, range(6), seen.__setitem__, concurrency=2)
        return seen

    assert asyncio.run(notebook_cell()) == {task: task * task for task in range(6)}
