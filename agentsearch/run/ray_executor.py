"""The Ray executor: tasks run on Ray actors across a cluster; records come back to the one writer.

Each actor is one worker process holding one copy of the runner, so the environments and the agent it
builds (WebShop's index, an in-actor ``hf`` model, or clients of model servers) are built once per actor
and reused by every task it runs. The driver keeps up to ``concurrency`` tasks in flight on each actor
(an async actor: its tasks share one event loop, so their model calls batch together as in the local
executor), hands out the next task to whichever actor finishes first, and passes each record to
``on_result`` in the driver, which appends it to the run's file.

A worker lost mid-task (its process or node died, or it became unreachable) is dropped, and every task
it held goes back to the front of the queue for the surviving workers; a record is handed on only once
per task, so nothing is written twice. A task whose workers die ``max_attempts`` times raises
:class:`WorkerLostError`, as does a run left without any worker: rerun the command to resume.

Requires the ``ray`` extra (``pip install 'agentsearch[ray]'``).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from agentsearch.errors import AgentSearchError, ConfigError
from agentsearch.run.executor import OnResult, TaskRunner

__all__ = ["RayExecutor", "WorkerLostError", "import_ray"]

logger = logging.getLogger(__name__)


class WorkerLostError(AgentSearchError, RuntimeError):
    """Ray workers died and the run cannot go on (no worker left, or a task that keeps killing them)."""


def import_ray() -> Any:
    """``ray``, or a :class:`ConfigError` saying how to install it."""
    try:
        import ray
    except ImportError as err:
        raise ConfigError(
            f"`--executor ray` needs Ray: pip install 'agentsearch[ray]' (ray is not importable: {err})."
        ) from err
    return ray


class _Worker:
    """The actor body: one runner, called for many tasks (concurrently: every method is async)."""

    def __init__(self, runner: TaskRunner) -> None:
        self.runner = runner

    async def node(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()

    async def run(self, task: Any) -> Any:
        return await self.runner(task)


class RayExecutor:
    """Run tasks on Ray actors (see the module docstring).

    Args:
        address: the cluster to join: ``auto`` (the one ``ray start`` runs on this machine), a
            ``HOST:PORT`` address, or ``None`` for a Ray instance of this machine started for the run
            (and stopped after it). When this process already called ``ray.init``, that session is used.
        workers: actors to start (default: one per ``cpus_per_worker`` CPUs of the cluster).
        cpus_per_worker: CPUs reserved by each actor (an in-actor ``hf`` model wants more than one).
        max_attempts: worker losses a single task may cause before the run gives up on it.
    """

    name = "ray"
    remote = True

    def __init__(
        self,
        *,
        address: str | None = None,
        workers: int | None = None,
        cpus_per_worker: float = 1.0,
        max_attempts: int = 3,
    ) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"Expected `workers` >= 1, got {workers}.")
        if cpus_per_worker <= 0 or max_attempts < 1:
            raise ConfigError("Expected `cpus_per_worker` > 0 and `max_attempts` >= 1.")
        self.address = address
        self.workers = workers
        self.cpus_per_worker = cpus_per_worker
        self.max_attempts = max_attempts
        #: Workers lost and tasks sent again, during the last :meth:`map`.
        self.lost_workers = 0
        self.retried_tasks = 0

    def map(self, runner: TaskRunner, tasks: Sequence[Any], on_result: OnResult, *, concurrency: int) -> None:
        ray = import_ray()
        started = not ray.is_initialized()
        if started:
            ray.init(address=self.address, log_to_driver=True)
        try:
            self._map(ray, runner, list(tasks), on_result, concurrency)
        finally:
            if started:
                ray.shutdown()

    def _map(
        self, ray: Any, runner: TaskRunner, tasks: list[Any], on_result: OnResult, concurrency: int
    ) -> None:
        from ray.exceptions import RayActorError

        self.lost_workers = self.retried_tasks = 0
        if not tasks:
            return
        count = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1) // self.cpus_per_worker))
        count = min(count, len(tasks))
        actor_class = ray.remote(_Worker).options(
            num_cpus=self.cpus_per_worker, max_concurrency=max(concurrency, 1), max_restarts=0
        )
        runner_ref = ray.put(runner)  # one copy in the object store, fetched by each actor
        actors = {index: actor_class.remote(runner_ref) for index in range(count)}
        logger.info("ray: %d tasks on %d workers, %d in flight per worker", len(tasks), count, concurrency)
        pending: deque[int] = deque(range(len(tasks)))
        in_flight: dict[Any, tuple[int, int]] = {}  # object ref -> (task index, actor index)
        load = dict.fromkeys(actors, 0)
        losses = [0] * len(tasks)
        done = [False] * len(tasks)
        start = time.perf_counter()
        try:
            while pending or in_flight:
                for index in list(actors):
                    while pending and load[index] < concurrency:
                        task = pending.popleft()
                        in_flight[actors[index].run.remote(tasks[task])] = (task, index)
                        load[index] += 1
                if not in_flight:
                    raise WorkerLostError(
                        f"Every Ray worker was lost with {len(pending)} tasks left; rerun to resume."
                    )
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in ready:
                    task, index = in_flight.pop(ref)
                    load[index] = load.get(index, 1) - 1
                    try:
                        record = ray.get(ref)
                    except RayActorError as err:
                        self._lost(ray, actors, index, err)
                        losses[task] += 1
                        if losses[task] >= self.max_attempts:
                            raise WorkerLostError(
                                f"Task {tasks[task]!r} was running on {losses[task]} workers that died; "
                                "giving up on the run (rerun to resume, or leave the task out)."
                            ) from err
                        self.retried_tasks += 1
                        pending.appendleft(task)
                        continue
                    if done[task]:  # a record for a task already handed on is never written twice
                        continue
                    done[task] = True
                    on_result(tasks[task], record)
        finally:
            for actor in actors.values():
                ray.kill(actor)
        logger.info(
            "ray: %d tasks in %.1f s; %d workers lost, %d tasks retried",
            len(tasks),
            time.perf_counter() - start,
            self.lost_workers,
            self.retried_tasks,
        )

    def _lost(self, ray: Any, actors: dict[int, Any], index: int, err: BaseException) -> None:
        """Drop a worker that died or became unreachable; its other tasks fail and come back on their own."""
        actor = actors.pop(index, None)
        if actor is None:
            return  # already dropped when an earlier task of it failed
        self.lost_workers += 1
        logger.warning(
            "ray: worker %d lost (%s); its tasks go to the %d workers left",
            index,
            type(err).__name__,
            len(actors),
        )
        # An unreachable worker may still be running: kill it so no task runs on two workers at once.
        ray.kill(actor)
