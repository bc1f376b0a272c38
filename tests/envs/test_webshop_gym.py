"""gymnasium integration and the terminal player for WebShop."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
from gymnasium.utils.env_checker import check_env

import agentsearch  # noqa: F401  (registers the environments)
from agentsearch.envs.webshop import WebShopEnv
from agentsearch.envs.webshop.oracle import oracle_actions


def test_gym_make_and_check_env() -> None:
    env = gym.make("agentsearch/WebShop-v0")
    assert isinstance(env.unwrapped, WebShopEnv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []
    observation, info = env.reset(seed=0)
    assert observation.startswith("WebShop [SEP] Instruction: [SEP] ")
    env.close()


def test_gym_make_by_module_path_without_prior_import() -> None:
    code = (
        "import sys, gymnasium as gym\n"
        "assert 'agentsearch' not in sys.modules\n"
        "env = gym.make('agentsearch.envs:WebShop-v0')\n"
        "obs, info = env.reset(options={'task_id': '0'})\n"
        "print(type(env.unwrapped).__name__, info['task_id'], obs.split(' [SEP] ')[0])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert out.stdout.strip() == "WebShopEnv 0 WebShop"


def test_cli_play_webshop_through_stdin() -> None:
    env = WebShopEnv(split="test")
    env.reset(options={"task_id": "2"})
    actions = oracle_actions(env)
    script = "\n".join([":actions", "not an action", *actions]) + "\n"
    out = subprocess.run(
        [sys.executable, "-m", "agentsearch.cli", "envs", "play", "webshop", "--task", "2"],
        input=script,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert f"task 2: {env.goal.instruction_text}" in out.stdout
    assert "  search[<query>]" in out.stdout  # the :actions listing
    assert "(invalid action)" in out.stdout
    assert "Your score (min 0.0, max 1.0) [SEP] 1.0" in out.stdout
    assert "episode over: won, terminated, total reward 1.000" in out.stdout
