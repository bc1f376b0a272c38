"""Every registered environment under random and adversarial actions, snapshots and restores.

The fast version of ``scripts/fault_suite.py``'s 10,000-action fuzz: no step raises, every result is
well formed, and a replay from ``reset`` sees the same observations, rewards, flags and ``info``.
"""

from __future__ import annotations

import pytest

from agentsearch.envs.fuzz import fuzz_env

#: The environments issue 13 names. ScienceWorld (a JVM simulator behind py4j) is fuzzed by
#: ``scripts/fault_suite.py --envs scienceworld`` where its engine is installed.
FUZZED = ["alfworld", "math", "webshop"]


@pytest.mark.parametrize("name", FUZZED)
def test_500_hostile_actions_never_raise_and_replay_identically(name):
    report = fuzz_env(name, actions=500, seed=13)
    assert not report.failures, report.failures[:5]
    assert report.actions == report.replayed == 500
    assert report.snapshots > 10 and report.restores > 10 and report.resets > 5
    assert report.adversarial > 200 and report.flagged_invalid > 50
