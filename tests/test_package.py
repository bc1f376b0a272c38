"""The package's public surface: exports, environment ids, the CLI entry point."""

import subprocess
import sys

import gymnasium as gym
import pytest

import agentsearch
from agentsearch.envs import ENVS, env_id
from agentsearch.errors import AgentSearchError, ConfigError, DataFileError


def test_exports_are_complete():
    for name in agentsearch.__all__:
        assert hasattr(agentsearch, name), name


def test_every_env_is_registered_under_both_id_forms():
    for name, _entry in ENVS.values():
        assert f"agentsearch/{name}" in gym.registry
        assert name in gym.registry
        # Registered without TimeLimit: truncation is counted inside the env so snapshots rewind it.
        assert gym.registry[f"agentsearch/{name}"].max_episode_steps is None


def test_env_id_resolves_short_names_and_suggests_close_matches():
    assert env_id("webshop") == "agentsearch/WebShop-v0"
    assert env_id("agentsearch/Math-v0") == "agentsearch/Math-v0"
    with pytest.raises(ConfigError, match="Did you mean `webshop`"):
        env_id("webshp")


def test_data_file_error_names_file_and_line():
    err = DataFileError("goals.json", 12, "missing 'asin'")
    assert str(err) == "goals.json:12: missing 'asin'"
    assert isinstance(err, AgentSearchError)


def test_cli_lists_environments():
    out = subprocess.run(
        [sys.executable, "-m", "agentsearch.cli", "envs", "list"], capture_output=True, text=True, check=True
    ).stdout
    for registered in ("agentsearch/WebShop-v0", "agentsearch/ALFWorld-v0", "agentsearch/Math-v0"):
        assert registered in out


def test_cli_reports_unknown_env_as_an_error_not_a_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "agentsearch.cli", "envs", "play", "nosuchenv"],
        capture_output=True, text=True, input="",
    )
    assert proc.returncode == 2
    assert "Unknown environment 'nosuchenv'" in proc.stderr
    assert "Traceback" not in proc.stderr
