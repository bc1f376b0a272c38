"""LLMAgent against a real (tiny, random) transformers model: score_valid selection, generation, dedupe.

The tiny-random model has the SmolLM2 tokenizer and chat template, so prompts, token counts and the
backend's batched scoring are the real ones; only its outputs are noise.
"""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("transformers")

from agentsearch.agents import LLMAgent, make_agent, make_prompt  # noqa: E402
from agentsearch.agents.base import History, Turn, sampling_for  # noqa: E402

ALFWORLD_HISTORY = History(
    "put a hot apple in fridge",
    "You are in the middle of a room. Looking quickly around you, you see a cabinet 1, a countertop 1, "
    "a fridge 1, and a microwave 1.\n\nYour task is to: put a hot apple in fridge.",
)
VALID = ["go to cabinet 1", "go to countertop 1", "go to fridge 1", "go to microwave 1", "inventory", "look"]


@pytest.fixture(scope="module")
def llm():
    from agentsearch.llm.hf import HFBackend

    return HFBackend("tiny-random")


def agent_for(llm, env_name: str = "alfworld", **options) -> LLMAgent:
    return make_agent(env_name, llm, **options)


def run(coroutine):
    return asyncio.run(coroutine)


def test_make_agent_wraps_a_backend_and_takes_its_tokenizer(llm) -> None:
    agent = agent_for(llm)
    assert agent.env_name == "alfworld"
    assert agent.tokenizer is llm.tokenizer
    assert agent.max_prompt_tokens <= llm.max_context - agent.max_tokens


@pytest.mark.parametrize("length_norm", [True, False])
def test_greedy_score_valid_picks_the_most_likely_valid_action(llm, length_norm: bool) -> None:
    agent = agent_for(llm, react=False, action_mode="score_valid", length_norm=length_norm)
    (candidate,) = run(agent.propose(ALFWORLD_HISTORY, sampling_for(agent, 3, 0.0), valid_actions=VALID))
    # The same scores computed directly through the backend: the agent took their argmax, per token
    # by default, summed without length_norm.
    responses = [f"Action: {action}" for action in VALID]
    scores = llm.score(agent.messages(ALFWORLD_HISTORY), responses)
    lengths = [len(llm.tokenizer(r, add_special_tokens=False)["input_ids"]) for r in responses]
    choice = [s / n for s, n in zip(scores, lengths, strict=True)] if length_norm else scores
    best = max(range(len(VALID)), key=choice.__getitem__)
    assert candidate.action == VALID[best]
    assert candidate.response == responses[best]
    assert candidate.logprob == pytest.approx(scores[best], abs=1e-3)  # always the summed log-prob
    assert candidate.count == 3 and candidate.extras["probability"] == 1.0
    assert candidate.num_tokens == lengths[best]


def test_sampled_score_valid_draws_only_valid_actions_and_is_seeded(llm) -> None:
    agent = agent_for(llm, react=False, action_mode="score_valid")
    first = run(agent.propose(ALFWORLD_HISTORY, sampling_for(agent, 40, 1.0, seed=7), valid_actions=VALID))
    again = run(agent.propose(ALFWORLD_HISTORY, sampling_for(agent, 40, 1.0, seed=7), valid_actions=VALID))
    assert [(c.action, c.count) for c in first] == [(c.action, c.count) for c in again]
    assert sum(c.count for c in first) == 40
    assert len({c.action for c in first}) == len(first) > 1  # a random model spreads its mass
    assert all(c.action in VALID for c in first)
    assert [c.count for c in first] == sorted((c.count for c in first), reverse=True)


def test_react_score_valid_shares_one_generated_thought(llm) -> None:
    agent = agent_for(llm, react=True, action_mode="score_valid", max_tokens=16)
    candidates = run(
        agent.propose(ALFWORLD_HISTORY, sampling_for(agent, 5, 1.0, seed=1), valid_actions=VALID)
    )
    prompt = make_prompt("alfworld")
    thoughts = set()
    for candidate in candidates:
        assert candidate.action in VALID
        assert prompt.parse(candidate.response) == candidate.action
        thoughts.add(
            candidate.response.rsplit("\nAction: ", 1)[0] if "\nAction: " in candidate.response else ""
        )
    assert len(thoughts) == 1


def test_generate_mode_dedupes_parsed_samples(llm) -> None:
    agent = agent_for(llm, action_mode="generate", max_tokens=12)
    candidates = run(
        agent.propose(ALFWORLD_HISTORY, sampling_for(agent, 6, 1.0, seed=3), valid_actions=VALID)
    )
    assert sum(c.count for c in candidates) == 6
    assert len({c.action for c in candidates}) == len(candidates)
    prompt = make_prompt("alfworld")
    for candidate in candidates:
        # Noise parses to some (usually invalid) action string; it never raises.
        assert isinstance(candidate.action, str)
        assert candidate.action in VALID or candidate.action == prompt.parse(candidate.response)
        assert candidate.num_tokens >= 1


def test_webshop_search_page_forces_a_search_and_scores_clickables_elsewhere(llm) -> None:
    agent = agent_for(llm, "webshop", action_mode="score_valid", max_tokens=8)
    prompt = make_prompt("webshop")
    history = History("buy socks", "WebShop [SEP] Instruction: [SEP] buy socks [SEP] Search")
    candidates = run(
        agent.propose(history, sampling_for(agent, 4, 1.0, seed=0), valid_actions=["search[<query>]"])
    )
    assert sum(c.count for c in candidates) == 4
    for candidate in candidates:
        # Even a random model's output is a search: only the keywords were generated.
        assert candidate.action.startswith("search[") and candidate.action.endswith("]")
        assert "\n" not in candidate.action
        assert prompt.parse(candidate.response) == candidate.action
        assert candidate.logprob < 0 and "probability" not in candidate.extras
    clickables = ["click[back to search]", "click[next >]", "click[b0123456789]"]
    candidates = run(agent.propose(history, sampling_for(agent, 3, 0.0), valid_actions=clickables))
    assert len(candidates) == 1 and candidates[0].action in clickables


def test_webshop_clickables_are_scored_as_the_page_spells_them(llm) -> None:
    from agentsearch.envs import make

    env = make("webshop")
    observation, _ = env.reset(options={"task_id": env.task_ids("test")[0]})
    observation, _, _, _, info = env.step("search[shoes]")
    history = History("buy shoes", "", (Turn("Action: search[shoes]", "search[shoes]", observation),))
    agent = agent_for(llm, "webshop", react=False, action_mode="score_valid")
    candidates = run(
        agent.propose(history, sampling_for(agent, 40, 1.0, seed=0), valid_actions=info["valid_actions"])
    )
    shown = {segment.strip() for segment in observation.split("[SEP]")}
    for candidate in candidates:
        value = candidate.action[len("click[") : -1]
        assert value in shown  # "B0...", "Back to Search": the page's spelling, not the env's lower case
        assert candidate.response == f"Action: {candidate.action}"
    # The env takes the page's spelling: clicking a product id as shown opens the product page.
    product = next(c.action for c in candidates if c.action[len("click[") :].startswith("B0"))
    page, _, _, _, info = env.step(product)
    assert "Buy Now" in page and not info.get("invalid", False)


def test_generate_mode_on_the_search_page_is_left_to_the_model(llm) -> None:
    agent = agent_for(llm, "webshop", action_mode="generate", max_tokens=8)
    history = History("buy socks", "WebShop [SEP] Instruction: [SEP] buy socks [SEP] Search")
    candidates = run(
        agent.propose(history, sampling_for(agent, 3, 1.0, seed=0), valid_actions=["search[<query>]"])
    )
    prompt = make_prompt("webshop")
    assert sum(c.count for c in candidates) == 3
    assert all(c.action == prompt.parse(c.response) for c in candidates)


@pytest.mark.parametrize(("env_name", "mode"), [("alfworld", "score_valid"), ("math", "generate")])
def test_run_episode_records_what_the_environment_did(llm, env_name: str, mode: str) -> None:
    from agentsearch.agents import run_episode
    from agentsearch.envs import make

    env = make(env_name, split="test")
    task_id = env.task_ids("test")[0]
    agent = agent_for(llm, env_name, react=False, action_mode=mode, max_tokens=12)
    result = run(run_episode(env, agent, task_id=task_id, temperature=1.0, max_steps=3, seed=0))
    assert result.task_id == task_id and 1 <= result.steps <= 3
    assert len(result.responses) == len(result.observations) == len(result.rewards) == result.steps
    assert result.tokens > 0
    # Replaying the recorded actions reproduces the recorded observations and invalid-action count.
    env.reset(options={"task_id": task_id})
    invalid = 0
    for action, observation in zip(result.actions, result.observations, strict=True):
        replayed, _, _, _, info = env.step(action)
        assert replayed == observation
        invalid += info["invalid_action"]
    assert invalid == result.invalid_actions
    if mode == "score_valid":
        assert result.invalid_actions == 0  # only admissible commands were ever chosen
