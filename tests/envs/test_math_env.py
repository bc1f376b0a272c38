"""MathEnv: episodes, rewards, info, snapshots, hostile steps, and the reference expert."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

from agentsearch.envs import make
from agentsearch.envs.math import MathEnv, MathProblem, ReferenceExpert
from agentsearch.envs.math.expert import fit_steps
from agentsearch.envs.math.verify import shutdown_worker, warm_up_worker
from agentsearch.errors import ConfigError

TASK = "gsm-synth-test-00001"  # Uma has $485.50 ... answer 539.5


@pytest.fixture(scope="module", autouse=True)
def symbolic_worker():
    assert warm_up_worker()
    yield
    shutdown_worker()


@pytest.fixture
def env() -> MathEnv:
    env = make("math", split="test")
    assert isinstance(env, MathEnv)
    return env


@pytest.mark.parametrize("step_format", ["step_k", "lines"])
def test_gymnasium_check_env(step_format):
    check_env(gym.make("agentsearch/Math-v0", step_format=step_format).unwrapped, skip_render_check=True)


def test_observation_is_problem_plus_steps(env):
    observation, info = env.reset(options={"task_id": TASK})
    assert observation == env.current_problem.question == info["instruction"]
    assert info["valid_actions"] is None and info["answer"] is None
    observation, reward, terminated, truncated, info = env.step("Step 1: Uma earns 6 * $15 = $90.")
    assert observation.endswith("\n\nStep 1: Uma earns 6 * $15 = $90.")
    observation, *_ = env.step("She has $575.50 now.")
    assert observation.endswith("Step 1: Uma earns 6 * $15 = $90.\nStep 2: She has $575.50 now.")
    assert (reward, terminated, truncated) == (0.0, False, False)


def test_lines_format_keeps_one_line_per_step():
    env = make("math", split="test", step_format="lines")
    question, _ = env.reset(options={"task_id": TASK})
    env.step("first\nstep")
    observation, *_ = env.step("second step")
    assert observation == f"{question}\n\nfirst step\nsecond step"


@pytest.mark.parametrize(
    ("step", "reward"),
    [
        ("So she has $539.50. The answer is 539.5.", 1.0),
        ("The answer is $539.50", 1.0),
        ("Therefore \\boxed{539.5}", 1.0),
        ("Therefore \\boxed{\\frac{1079}{2}}", 1.0),
        ("The answer is 540.", 0.0),
        ("\\boxed{539}", 0.0),
    ],
)
def test_final_answer_terminates_and_scores(env, step, reward):
    env.reset(options={"task_id": TASK})
    _, got, terminated, truncated, info = env.step(step)
    assert (got, terminated, truncated, info["won"]) == (reward, True, False, reward == 1.0)
    assert info["answer"] is not None and info["gold_answer"] == "539.5"


# Issue 13: a wrong answer with a ".0", a near miss, or a percentage for a dollar amount scores 0.
REWARD_PROBLEMS = [
    MathProblem("eggs", "Tariq has 11205 eggs. How many eggs does Tariq have now?", "11205", ("11205",)),
    MathProblem("cost", "A bike costs $1,234.50. How much does it cost?", "1234.5", ("1234.5",)),
    MathProblem("uma", "Uma has $539.50. How much money does Uma have now?", "539.5", ("539.5",)),
    MathProblem("share", "Of 80 students, 20 are girls. What percent of the students are girls?", "25", ()),
]


@pytest.mark.parametrize(
    ("task_id", "step", "reward"),
    [
        ("eggs", "\\boxed{11206.0}", 0.0),
        ("eggs", "\\boxed{11206}", 0.0),
        ("eggs", "\\boxed{11204.5}", 0.0),
        ("eggs", "\\boxed{11205.0}", 1.0),
        ("eggs", "\\boxed{11,205}", 1.0),
        ("cost", "\\boxed{1,234.6}", 0.0),
        ("cost", "\\boxed{\\$1,234.50}", 1.0),
        ("uma", "\\boxed{539.5\\%}", 0.0),
        ("uma", "The answer is 539.5 percent.", 0.0),
        ("uma", "\\boxed{\\$539.50}", 1.0),
        ("share", "\\boxed{25\\%}", 1.0),  # the question asks for a percentage
        ("share", "\\boxed{0.25}", 0.0),
    ],
)
def test_rewards_are_exact(task_id, step, reward):
    env = MathEnv(problems={"test": REWARD_PROBLEMS}, split="test")
    env.reset(options={"task_id": task_id})
    _, got, terminated, _, info = env.step(step)
    assert terminated and (got, info["won"]) == (reward, reward == 1.0)


def test_gold_answer_hidden_until_the_episode_ends(env):
    env = make("math", split="test", max_steps=3)
    _, info = env.reset(options={"task_id": TASK})
    assert "gold_answer" not in info
    for _ in range(2):
        _, _, terminated, truncated, info = env.step("Keep thinking about 539.5.")
        assert "gold_answer" not in info and not (terminated or truncated)
    _, reward, terminated, truncated, info = env.step("Still thinking.")
    assert (reward, terminated, truncated) == (0.0, False, True)
    assert info["gold_answer"] == "539.5" and info["answer"] is None


def test_empty_step_is_invalid_and_changes_nothing(env):
    observation, _ = env.reset(options={"task_id": TASK})
    for action in ("", "   \n", "Step 3:   "):
        after, reward, terminated, truncated, info = env.step(action)
        assert after == observation and reward == 0.0 and not terminated
        assert info["invalid_action"] and info["error"] == "empty step"
    assert env.steps == () and env.step_count == 3


def test_snapshot_restore_replays_identically(env):
    env.reset(options={"task_id": TASK})
    env.step("Uma earns $90.")
    snapshot = env.snapshot()
    first = [env.step(action) for action in ("She spends $32.", "The answer is 539.5")]
    env.restore(snapshot)
    assert env.steps == ("Uma earns $90.",) and env.step_count == 1 and not env.done
    second = [env.step(action) for action in ("She spends $32.", "The answer is 539.5")]
    assert first == second
    env.restore(snapshot)
    _, reward, *_ = env.step("The answer is 12")
    assert reward == 0.0


HOSTILE_STEPS = {
    "power tower": "The answer is 9**9**9**9",
    "latex tower": "\\boxed{10^{10^{10^{10}}}}",
    "nested braces": "\\boxed{" + "{" * 25_000 + "539.5" + "}" * 25_000 + "}",
    "nested braces under the step limit": "\\boxed{" + "{" * 3_000 + "539.5" + "}" * 3_000 + "}",
    "nested parentheses": "The answer is " + "(" * 3_000 + "539.5" + ")" * 3_000,
    "unterminated boxed": "The result is \\boxed{539.5",
    "input": "The answer is \\input{/etc/passwd}",
    "write18": "\\boxed{\\immediate\\write18{rm -rf ~}}",
    "unicode digits": "The answer is \u0665\u0663\u0669.\u0665",
    "fullwidth digits": "\\boxed{\uff15\uff13\uff19}",
    "huge exponent": "\\boxed{539.5^{99999999}}",
    "symbolic tower": "\\boxed{x^{x^{x^{x^{x}}}}}",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_STEPS))
def test_hostile_steps_score_zero_within_the_bound(name):
    env = make("math", split="test", verify_timeout=2.0)
    env.reset(options={"task_id": TASK})
    start = time.monotonic()
    _, reward, terminated, truncated, info = env.step(HOSTILE_STEPS[name])
    assert time.monotonic() - start < 2.5
    assert reward == 0.0 and not info["won"]


def test_step_longer_than_the_limit_is_invalid(env):
    env.reset(options={"task_id": TASK})
    _, reward, terminated, _, info = env.step("1" * 50_000)
    assert info["invalid_action"] and reward == 0.0 and not terminated


@pytest.mark.parametrize("split", ["test", "eval", "train"])
def test_reference_expert_solves_every_shipped_problem(env, split):
    expert = ReferenceExpert(env)
    failures = [task for task in env.task_ids(split) if expert.solve(task) != 1.0]
    assert len(env.task_ids(split)) >= {"test": 1000, "eval": 500, "train": 5000}[split]
    assert failures == []


def test_fit_steps_merges_leading_steps():
    assert fit_steps(["a", "b", "c", "d"], 2) == ("a b c", "d")
    assert fit_steps(["a", "b"], 5) == ("a", "b")


def test_user_data_files(tmp_path):
    gsm8k = tmp_path / "gsm8k.jsonl"
    record = {"question": "Tom has 2 apples and buys 3. How many?", "answer": "2 + 3 = <<2+3=5>>5\n#### 5"}
    gsm8k.write_text(json.dumps(record) + "\n")
    env = MathEnv(data_files={"test": gsm8k, "train": gsm8k}, split="test")
    assert env.task_ids("test") == ["gsm8k-test-0"] and env.task_ids("train") == ["gsm8k-train-0"]
    assert env.task_ids("eval") == []
    assert ReferenceExpert(env).solve("gsm8k-test-0") == 1.0
    assert env.steps == ("2 + 3 = 5", "The answer is 5.")


def test_duplicate_task_ids_are_refused():
    first = MathProblem("p", "Q?", "1", ("The answer is 1.",))
    second = MathProblem("p", "Another Q?", "2", ("The answer is 2.",))
    env = MathEnv(problems={"train": [first], "test": [second]})
    with pytest.raises(ConfigError, match="appears twice"):
        env.reset(options={"task_id": "p"})


def test_bad_options_raise_config_errors():
    with pytest.raises(ConfigError, match="step_k"):
        MathEnv(step_format="step-k")
    with pytest.raises(ConfigError):
        MathEnv(verify_timeout=0)


def test_cli_play_math_smoke():
    # `agentsearch envs play math`, driven through stdin as a user would type.
    result = subprocess.run(
        [sys.executable, "-m", "agentsearch.cli", "envs", "play", "math", "--task", TASK],
        input="Uma earns $90.\nThe answer is $539.50\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "Step 1: Uma earns $90." in result.stdout
    assert "episode over: won, terminated, total reward 1.000" in result.stdout
