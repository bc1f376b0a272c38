"""A real multi-node Ray cluster on one machine, for tests and benchmarks of the Ray executor.

Every node is a separate raylet with its own worker processes (``ray.cluster_utils.Cluster``); killing
one (:meth:`LocalCluster.kill_node`) is a node failure as Ray sees it. The head node has no CPUs, so
actors run on the worker nodes only and the head (which holds the cluster state) is never lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from typing import Any

from agentsearch.run.ray_executor import import_ray

__all__ = ["LocalCluster", "free_port", "local_cluster"]

logger = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port of 127.0.0.1 free at the moment of the call."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _agent_ports() -> dict[str, int]:
    # A raylet started without fixed agent ports waits a fixed 15-30 s for its agents to write their port
    # files, then aborts; on a loaded 2-core machine the agents' imports take longer than that. Given
    # ports, it waits for nothing.
    return {
        "metrics_agent_port": free_port(),
        "metrics_export_port": free_port(),
        "dashboard_agent_listen_port": free_port(),
        "runtime_env_agent_port": free_port(),
    }


class LocalCluster:
    """A started cluster: ``address`` to join, ``nodes`` (the worker nodes), :meth:`kill_node`."""

    def __init__(self, cluster: Any, nodes: list[Any]) -> None:
        self.cluster = cluster
        self.nodes = nodes

    @property
    def address(self) -> str:
        return self.cluster.address

    def kill_node(self, node: Any) -> None:
        """Kill a worker node at once (raylet and workers, no graceful drain), as a machine failure would.

        The raylet and every process it started (the node's workers, its actors) get SIGKILL in one
        pass: Ray's ``remove_node`` kills the raylet alone, and a worker notices its raylet is gone only
        later; meanwhile it would go on answering the calls it gets straight from the driver (results
        small enough to travel in the reply need no object store), which no dead machine does.
        """
        import psutil  # vendored by Ray

        doomed = []
        for info in node.all_processes.get("raylet", []):
            with contextlib.suppress(psutil.Error):
                raylet = psutil.Process(info.process.pid)
                doomed += [*raylet.children(recursive=True), raylet]
        for process in doomed:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(doomed, timeout=10)
        self.cluster.remove_node(node, allow_graceful=False)  # the node's other processes, and its record
        self.nodes.remove(node)


@contextlib.contextmanager
def local_cluster(nodes: int = 2, cpus_per_node: float = 1) -> Iterator[LocalCluster]:
    """Start a head node and ``nodes`` worker nodes of ``cpus_per_node`` CPUs; shut all down on exit.

    The caller joins it with ``ray.init(address=cluster.address)`` (or a ``RayExecutor(address=...)``).
    """
    ray = import_ray()
    from ray.cluster_utils import Cluster

    os.environ.setdefault("RAY_raylet_start_wait_time_s", "120")
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False, **_agent_ports()}
    )
    started = LocalCluster(cluster, [])
    try:
        for _ in range(nodes):
            started.nodes.append(cluster.add_node(num_cpus=cpus_per_node, **_agent_ports()))
        cluster.wait_for_nodes()
        logger.info("local Ray cluster at %s: %d worker nodes", cluster.address, nodes)
        yield started
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
