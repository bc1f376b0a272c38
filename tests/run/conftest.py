"""The real multi-node Ray cluster the tests of this folder run on (no mocks).

A head node (no CPUs) and two worker nodes of one CPU each, started once per test module and stopped
after it, so a module that kills a node leaves the other modules a whole cluster.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("ray", reason="the Ray executor needs Ray: pip install 'agentsearch[ray]'")
    from agentsearch.run.cluster import local_cluster

    with local_cluster(nodes=2, cpus_per_node=1) as started:
        yield started
