"""The executor contract and the in-process executor.

A run (``collect``, ``eval``, ``demos``) is a list of independent *tasks* (a search tree, an episode, a
demonstration) and a *runner*: an async callable that turns one task into one record. The executor
decides where runners run; the driver (the caller of :meth:`Executor.map`) stays the only writer: it
gets each task's record back through ``on_result`` and appends it to its file. Because only the driver
writes, a rerun resumes from the file, and a task whose worker dies is simply run again.

A runner is built in the driver and, for a remote executor, pickled to every worker, where it builds its
heavy state (environments, the agent and its model) on its first call and keeps it for later tasks. A
runner may also define ``async prepare(concurrency)``, which builds that state up front (the agent and
``concurrency`` environments): an executor awaits it once per worker before handing out tasks, so the
workers' start-up is over before the first task runs (and can be timed on its own).
Runners catch the failures of a task themselves and return a record saying so; an exception escaping a
runner is a bug and ends the run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorConfig",
    "LocalExecutor",
    "OnResult",
    "TaskRunner",
    "executor_field",
    "make_executor",
]

#: Executor names accepted by :func:`make_executor` (and the CLI's ``--executor``).
EXECUTORS: tuple[str, ...] = ("local", "ray")


def executor_field(default: str = "local") -> Any:
    """The ``executor`` field of a config dataclass: its generated ``--executor`` flag takes only
    :data:`EXECUTORS` (``ConfigFlags`` reads ``choices`` from the field's metadata)."""
    return field(default=default, metadata={"choices": EXECUTORS})


#: Called in the driver with a task and its record, once per task, in the order records arrive.
OnResult = Callable[[Any, Any], None]


class TaskRunner(Protocol):
    """Turns one task into one record; state it builds (envs, agent) is reused by later tasks.

    An optional ``async prepare(concurrency: int) -> None`` builds that state before the first task (see
    the module docstring); executors call it when the runner has it.
    """

    def __call__(self, task: Any) -> Awaitable[Any]: ...


class Executor(Protocol):
    """Runs a runner over tasks and hands every record to the driver."""

    name: str
    #: Runners are pickled to other processes: they cannot hold objects built by the caller.
    remote: bool

    def map(self, runner: TaskRunner, tasks: Sequence[Any], on_result: OnResult, *, concurrency: int) -> None:
        """Run ``runner(task)`` for every task, ``concurrency`` at a time per worker; see the module doc."""
        ...


class LocalExecutor:
    """Everything in this process: ``concurrency`` asyncio workers share one runner (and its model).

    The workers pull tasks in order from one queue; ``on_result`` runs in the worker that finished the
    task, right after it, so records are written in the order tasks finish. ``map`` blocks; called from a
    thread whose event loop is running (a Jupyter cell, an async application), it runs its own loop in a
    helper thread and waits for it, since ``asyncio.run`` refuses to nest.
    """

    name = "local"
    remote = False

    def map(self, runner: TaskRunner, tasks: Sequence[Any], on_result: OnResult, *, concurrency: int) -> None:
        coroutine = _local_map(runner, tasks, on_result, concurrency)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(coroutine)
            return
        with concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="agentsearch-map"
        ) as pool:
            pool.submit(asyncio.run, coroutine).result()


async def prepare_runner(runner: TaskRunner, concurrency: int) -> None:
    """Await ``runner.prepare(concurrency)`` if the runner has one (see the module docstring)."""
    method = getattr(runner, "prepare", None)
    if method is not None:
        await method(concurrency)


async def _local_map(runner: TaskRunner, tasks: Sequence[Any], on_result: OnResult, concurrency: int) -> None:
    if tasks:
        await prepare_runner(runner, min(concurrency, len(tasks)))
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for task in tasks:
        queue.put_nowait(task)

    async def worker() -> None:
        while not queue.empty():
            task = queue.get_nowait()
            on_result(task, await runner(task))

    await asyncio.gather(*(worker() for _ in range(min(concurrency, max(len(tasks), 1)))))


@dataclass(frozen=True)
class ExecutorConfig:
    """Where a command's tasks run: the ``--executor``, ``--address`` and ``--workers`` of ``collect``,
    ``eval`` and ``demos`` (``LoopConfig`` has the same fields for ``iterate`` and ``quickstart``).

    Attributes:
        executor: local: this process; ray: Ray actors across the machines of a cluster
        address: with ``--executor ray``: the cluster, `auto` or HOST:PORT (default: a Ray instance of
            this machine)
        workers: with ``--executor ray``: actors to start (default: one per CPU of the cluster)
    """

    executor: str = executor_field()
    address: str | None = None
    workers: int | None = None

    def make(self) -> Executor:
        """The executor (see :func:`make_executor`)."""
        return make_executor(self.executor, address=self.address, workers=self.workers)


def make_executor(name: str = "local", *, address: str | None = None, workers: int | None = None) -> Executor:
    """The executor called ``name``: ``local``, or ``ray`` (at ``address``, with ``workers`` actors).

    Raises:
        ConfigError: an unknown name, or ``address``/``workers`` given to the local executor.
    """
    from agentsearch.errors import ConfigError, did_you_mean

    if name == "local":
        if address is not None or workers is not None:
            raise ConfigError("`--address` and `--workers` need `--executor ray`.")
        return LocalExecutor()
    if name == "ray":
        from agentsearch.run.ray_executor import RayExecutor

        return RayExecutor(address=address, workers=workers)
    raise ConfigError(f"Unknown executor {name!r}; known: {EXECUTORS}.{did_you_mean(name, EXECUTORS)}")
