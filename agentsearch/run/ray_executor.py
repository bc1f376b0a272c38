"""The Ray executor: tasks run on Ray actors across a cluster; records come back to the one writer.

Each actor is one worker process holding one copy of the runner, so the environments and the agent it
builds (WebShop's index, an in-actor ``hf`` model, or clients of model servers) are built once per actor
and reused by every task it runs. The actors start together, and each builds that state (the runner's
``prepare``) before any task is handed out, so the slowest actor's start-up sets when the tasks begin:
:attr:`RayExecutor.startup_seconds` times that start-up, :attr:`RayExecutor.work_seconds` the tasks.
Each actor runs up to ``concurrency`` tasks at once (an async actor: its tasks share one event loop, so
their model calls batch together as in the local executor) and holds ``queued`` more waiting, so it
starts its next task as soon as one finishes rather than after a round trip to the driver. The driver
hands out the next task to whichever actor finishes first and passes each record to ``on_result``,
which appends it to the run's file.

A record crosses the wire pickled by the worker and, when large (a search tree of WebShop pages is
~200 KB of JSON), zlib-compressed (level 1, ~10x on trees): under Ray's inline limit (100 KiB) a result
travels in the task's reply straight to the driver instead of through the object stores of two nodes.
On a local two-node cluster that took the raylets' CPU per WebShop tree from ~9 ms to ~2 ms (and, with
``collect``'s runner sending each tree as its JSON line, the driver's from ~9 ms to ~3 ms).

A worker lost mid-task (its process or node died, or it became unreachable) is dropped, and every task
it held goes back to the front of the queue for the surviving workers; a record is handed on only once
per task, so nothing is written twice. A task whose workers die ``max_attempts`` times raises
:class:`WorkerLostError`, as does a run left without any worker: rerun the command to resume.

Requires the ``ray`` extra (``pip install 'agentsearch[ray]'``).
"""

from __future__ import annotations

import logging
import pickle
import time
import zlib
from collections import deque
from collections.abc import Sequence
from typing import Any, NamedTuple

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


#: Pickled records larger than this are compressed before they are sent back (see the module doc).
COMPRESS_ABOVE = 32 * 1024


class _Packed(NamedTuple):
    """A record as the worker sends it: its pickle, zlib-compressed when ``compressed``."""

    data: bytes
    compressed: bool


def _pack(record: Any) -> _Packed:
    from ray import cloudpickle  # records are plain data, but cloudpickle also takes what pickle cannot

    data = cloudpickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
    if len(data) > COMPRESS_ABOVE:
        return _Packed(zlib.compress(data, 1), True)
    return _Packed(data, False)


def _unpack(packed: _Packed) -> Any:
    return pickle.loads(zlib.decompress(packed.data) if packed.compressed else packed.data)


class _Worker:
    """The actor body: one runner, called for many tasks (concurrently: every method is async)."""

    def __init__(self, runner: TaskRunner) -> None:
        self.runner = runner

    async def node(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()

    async def prepare(self, concurrency: int) -> None:
        from agentsearch.run.executor import prepare_runner

        await prepare_runner(self.runner, concurrency)

    async def run(self, task: Any) -> _Packed:
        return _pack(await self.runner(task))


class RayExecutor:
    """Run tasks on Ray actors (see the module docstring).

    Args:
        address: the cluster to join: ``auto`` (the one ``ray start`` runs on this machine), a
            ``HOST:PORT`` address, or ``None`` for a Ray instance of this machine started for the run
            (and stopped after it). When this process already called ``ray.init``, that session is used.
        workers: actors to start (default: one per ``cpus_per_worker`` CPUs of the cluster).
        cpus_per_worker: CPUs reserved by each actor (an in-actor ``hf`` model wants more than one).
        max_attempts: worker losses a single task may cause before the run gives up on it.
        queued: tasks each actor holds beyond the ``concurrency`` it runs, so it never waits for the
            driver between tasks (a lost worker's queued tasks are retried like its running ones).
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
        queued: int = 1,
    ) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"Expected `workers` >= 1, got {workers}.")
        if cpus_per_worker <= 0 or max_attempts < 1 or queued < 0:
            raise ConfigError("Expected `cpus_per_worker` > 0, `max_attempts` >= 1 and `queued` >= 0.")
        self.address = address
        self.workers = workers
        self.cpus_per_worker = cpus_per_worker
        self.max_attempts = max_attempts
        self.queued = queued
        #: Workers lost and tasks sent again, during the last :meth:`map`.
        self.lost_workers = 0
        self.retried_tasks = 0
        #: Seconds of the last :meth:`map` spent starting the actors (each built its runner's state),
        #: then running the tasks.
        self.startup_seconds = 0.0
        self.work_seconds = 0.0

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
        self.lost_workers = self.retried_tasks = 0
        self.startup_seconds = self.work_seconds = 0.0
        if not tasks:
            return
        concurrency = max(concurrency, 1)
        count = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1) // self.cpus_per_worker))
        count = min(count, len(tasks))
        actor_class = ray.remote(_Worker).options(
            num_cpus=self.cpus_per_worker, max_concurrency=concurrency, max_restarts=0
        )
        start = time.perf_counter()
        runner_ref = ray.put(runner)  # one copy in the object store, fetched by each actor
        actors = {index: actor_class.remote(runner_ref) for index in range(count)}
        try:
            self._start(ray, actors, min(concurrency, len(tasks)))
            self.startup_seconds = time.perf_counter() - start
            logger.info(
                "ray: %d workers started in %.1f s; %d tasks, %d running and %d queued per worker",
                len(actors),
                self.startup_seconds,
                len(tasks),
                concurrency,
                self.queued,
            )
            self._run(ray, actors, tasks, on_result, concurrency + self.queued)
        finally:
            for actor in actors.values():
                ray.kill(actor)
            if self.startup_seconds:  # the tasks began
                self.work_seconds = time.perf_counter() - start - self.startup_seconds
        logger.info(
            "ray: %d tasks in %.1f s; %d workers lost, %d tasks retried",
            len(tasks),
            self.work_seconds,
            self.lost_workers,
            self.retried_tasks,
        )

    def _start(self, ray: Any, actors: dict[int, Any], concurrency: int) -> None:
        """Wait until every actor has started and prepared its runner; drop those lost meanwhile."""
        from ray.exceptions import RayActorError

        starting = {actors[index].prepare.remote(concurrency): index for index in actors}
        while starting:
            ready, _ = ray.wait(list(starting), num_returns=1)
            for ref in ready:
                index = starting.pop(ref)
                try:
                    ray.get(ref)
                except RayActorError as err:
                    self._lost(ray, actors, index, err)
        if not actors:
            raise WorkerLostError("Every Ray worker was lost while starting; rerun to resume.")

    def _run(
        self, ray: Any, actors: dict[int, Any], tasks: list[Any], on_result: OnResult, per_actor: int
    ) -> None:
        """Keep ``per_actor`` tasks on every actor until all are done; retry the tasks of lost actors."""
        from ray.exceptions import RayActorError

        pending: deque[int] = deque(range(len(tasks)))
        in_flight: dict[Any, tuple[int, int]] = {}  # object ref -> (task index, actor index)
        load = dict.fromkeys(actors, 0)
        losses = [0] * len(tasks)
        done = [False] * len(tasks)
        while pending or in_flight:
            for index in list(actors):
                while pending and load[index] < per_actor:
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
                    record = _unpack(ray.get(ref))
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
