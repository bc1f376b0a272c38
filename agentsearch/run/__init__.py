"""Where a run's tasks execute: in this process (``local``) or on Ray actors across machines (``ray``).

``collect``, ``eval`` and ``demos`` describe their work as tasks and a runner that turns a task into a
record (:class:`TaskRunner`); an :class:`Executor` runs them and hands every record back to the driver,
the one process that writes the run's file.

Example::

    from agentsearch.run import make_executor
    from agentsearch.search.collect import CollectConfig, collect

    collect(CollectConfig(model="random", tasks=20), executor=make_executor("ray", address="auto"))
"""

from agentsearch.run.executor import (
    EXECUTORS,
    Executor,
    ExecutorConfig,
    LocalExecutor,
    OnResult,
    TaskRunner,
    executor_field,
    make_executor,
)
from agentsearch.run.ray_executor import RayExecutor, WorkerLostError

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorConfig",
    "LocalExecutor",
    "OnResult",
    "RayExecutor",
    "TaskRunner",
    "WorkerLostError",
    "executor_field",
    "make_executor",
]
