"""What every search algorithm shares: the common config, the evaluator protocol, and one search's context.

The split follows llm-reasoners, made explicit: the environment is the dynamics, the
:class:`~agentsearch.agents.base.Agent` proposes candidate turns, an optional :class:`Evaluator` values a
state, and the algorithm (``mcts``, ``dfsdt``, ``beam``, ``best_of_n``) is an async function that owns no
state between calls, so many searches run concurrently. A :class:`SearchContext` holds one search's
tree, environment branching, random generator, timings and token counts; its :meth:`expand` and
:meth:`rollout` are the two operations every algorithm is built from.
"""

from __future__ import annotations

import dataclasses
import random
import time
import zlib
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from agentsearch.agents.base import Agent, Candidate, sampling_for
from agentsearch.errors import ConfigError
from agentsearch.search.branching import Branching, BranchMode
from agentsearch.search.tree import SearchTree

__all__ = ["SearchAlgorithm", "SearchConfig", "Evaluator", "SearchContext", "task_seed"]


@dataclass(frozen=True)
class SearchConfig:
    """Fields every algorithm has. Defaults are Zhai et al.'s WebShop values.

    Attributes:
        max_depth: actions from the root after which a branch stops (WebShop 10, HotPotQA 7).
        n_samples: responses sampled per expansion (Zhai: ``n_generate_sample = 5``).
        temperature: sampling temperature of expansions and rollouts (Zhai: 1.0).
        invalid_penalty: initial value of a child whose action the env rejected (Zhai WebShop: -1).
        depth_penalty: return of a branch that hits ``max_depth`` without terminating (Zhai WebShop: -0.5).
        early_stop: stop as soon as a node wins (reward 1); the tree is kept either way.
        dedup: merge children whose action string is equal (Zhai: dedup by action).
        store_prompts: keep the agent's chat messages at each expanded node, so pairs can be rebuilt
            without the agent.
        branching: ``"auto"`` (snapshots when the env has them, else replay), ``"snapshot"`` or ``"replay"``.
    """

    max_depth: int = 10
    n_samples: int = 5
    temperature: float = 1.0
    invalid_penalty: float = -1.0
    depth_penalty: float = -0.5
    early_stop: bool = True
    dedup: bool = True
    store_prompts: bool = True
    branching: BranchMode = "auto"

    def __post_init__(self) -> None:
        _check_positive(self, "max_depth", "n_samples")
        if self.temperature < 0:
            raise ConfigError(f"Expected `temperature` >= 0, got {self.temperature}.")
        if self.branching not in ("auto", "snapshot", "replay"):
            raise ConfigError(
                f"Expected `branching` in ('auto', 'snapshot', 'replay'), got {self.branching!r}."
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def needs_evaluator(self) -> bool:
        """Whether the search values states with an :class:`Evaluator` (``collect`` then builds one)."""
        return False


def _check_positive(config: Any, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if value < 1:
            raise ConfigError(f"Expected `{name}` >= 1 in {type(config).__name__}, got {value}.")


def _describe(agent: Any, attribute: str) -> str:
    """A string attribute (``model_name``, ``backend``) of the agent, its backend, or the LLM behind it."""
    backend = getattr(agent, "backend", None)
    for obj in (agent, backend, getattr(backend, "llm", None)):
        value = getattr(obj, attribute, None)
        if isinstance(value, str):
            return value
    return ""


@runtime_checkable
class Evaluator(Protocol):
    """Values a state without finishing the episode (LLM self-critique, a Q-model ...)."""

    async def evaluate(self, tree: SearchTree, node: int) -> float:
        """Estimated return in [0, 1] of the state after ``node``."""
        ...


ConfigT = TypeVar("ConfigT", bound=SearchConfig, contravariant=True)


class SearchAlgorithm(Protocol[ConfigT]):
    """What every search algorithm is: an async function of one task that returns the whole tree.

    Register one with :func:`agentsearch.search.algorithms.register_algorithm` beside its code; ``collect``
    and the CLI find it by name.
    """

    def __call__(
        self,
        env: Any,
        agent: Agent,
        task_id: str,
        config: ConfigT | None = None,
        *,
        seed: int = 0,
        evaluator: Evaluator | None = None,
    ) -> Awaitable[SearchTree]:
        """Search ``task_id`` in ``env`` (owned by this search) with ``agent``; equal seeds give equal trees.

        ``evaluator`` values states where ``config.needs_evaluator`` (or where the algorithm can use one).
        """
        ...


def refuse_evaluator(algorithm: str, evaluator: Evaluator | None) -> None:
    """Raise for an algorithm that has no use for an evaluator, rather than silently ignore one."""
    if evaluator is not None:
        raise ConfigError(f"{algorithm} values states by playing them out; it takes no `evaluator`.")


def task_seed(seed: int, task_id: str) -> int:
    """A per-task seed that depends only on the run seed and the task id (stable across processes)."""
    return (seed * 1_000_003 + zlib.crc32(task_id.encode("utf-8"))) % (2**31)


class SearchContext:
    """One search in progress: the tree, the env branching, the random generator, timings and tokens.

    Args:
        env: a fresh environment instance owned by this search.
        agent: the policy proposing candidates.
        task_id: the task.
        algorithm: the algorithm's name, stored in the tree.
        config: the algorithm's config, stored in the tree.
        seed: seeds the generator that draws per-call sampling seeds and tie-breaks.
    """

    def __init__(
        self, env: Any, agent: Agent, task_id: str, *, algorithm: str, config: SearchConfig, seed: int
    ) -> None:
        self.env = env
        self.agent = agent
        self.config = config
        self.rng = random.Random(seed)
        self.branch = Branching(env, task_id, mode=config.branching)
        self._start = time.perf_counter()
        self.timings = {"policy": 0.0, "env": 0.0}
        t0 = time.perf_counter()
        observation, info = self.branch.reset()
        self.timings["env"] += time.perf_counter() - t0
        spec = getattr(env, "spec", None)
        self.tree = SearchTree.new(
            env=getattr(spec, "id", None) or type(env).__name__,
            task_id=task_id,
            instruction=info.get("instruction", ""),
            observation=observation,
            valid_actions=info.get("valid_actions"),
            algorithm=algorithm,
            config=config.to_dict(),
            model=_describe(agent, "model_name"),
            backend=_describe(agent, "backend"),
            seed=seed,
            tree_id=f"{task_id}-{algorithm}-{seed}",
        )

    def next_seed(self) -> int:
        return self.rng.getrandbits(31)

    def dead(self, node: int) -> bool:
        """Whether ``node`` can have no children: terminal, diverged, or at the depth limit."""
        tree = self.tree
        return tree.terminal[node] or tree.diverged[node] or tree.depth[node] >= self.config.max_depth

    async def propose(self, node: int, n: int, temperature: float) -> list[Candidate]:
        """Ask the agent for up to ``n`` distinct candidate turns at ``node``."""
        tree = self.tree
        t0 = time.perf_counter()
        candidates = await self.agent.propose(
            tree.history(node),
            sampling_for(self.agent, n, temperature, seed=self.next_seed()),
            valid_actions=tree.valid_actions[node],
        )
        self.timings["policy"] += time.perf_counter() - t0
        tree.tokens += sum(c.num_tokens * max(c.count, 1) for c in candidates)
        return candidates

    def add_child(
        self, node: int, candidate: Candidate, *, iteration: int, is_rollout: bool = False
    ) -> int | None:
        """Step ``candidate`` from ``node`` and add the child; ``None`` if ``node`` diverged on replay.

        With ``dedup``, an action already among the children only raises that child's ``count``.
        """
        tree, config = self.tree, self.config
        if config.dedup:
            for child in tree.children(node):
                if tree.action[child] == candidate.action:
                    tree.count[child] += max(candidate.count, 1)
                    return child
        t0 = time.perf_counter()
        result = self.branch.step(tree, node, candidate.action)
        if result is None:
            self.timings["env"] += time.perf_counter() - t0
            return None
        observation, reward, terminated, truncated, info = result
        invalid = bool(info.get("invalid_action", False))
        child = tree.add_node(
            node,
            response=candidate.response,
            action=candidate.action,
            observation=observation,
            reward=reward,
            terminal=terminated or truncated,
            won=bool(info.get("won", False)),
            invalid=invalid,
            init_value=config.invalid_penalty if invalid else reward,
            logprob=candidate.logprob,
            num_tokens=candidate.num_tokens,
            count=max(candidate.count, 1),
            is_rollout=is_rollout,
            iteration=iteration,
            valid_actions=info.get("valid_actions"),
        )
        self.branch.commit(child)
        self.timings["env"] += time.perf_counter() - t0  # restore + step + snapshot: all env work
        if config.store_prompts and tree.prompt[node] is None and len(tree.children(node)) > 1:
            # a rollout made this node a branching point: pairs will need the prompt here
            tree.prompt[node] = self.agent.messages(tree.history(node))
        return child

    async def expand(self, node: int, *, iteration: int, n: int | None = None) -> list[int]:
        """Sample candidates at ``node`` and add one child per distinct action; returns the new children."""
        tree, config = self.tree, self.config
        candidates = await self.propose(node, n or config.n_samples, config.temperature)
        if config.store_prompts:
            tree.prompt[node] = self.agent.messages(tree.history(node))
        tree.expanded[node] = True
        before = set(tree.children(node))
        for candidate in candidates:
            if self.add_child(node, candidate, iteration=iteration) is None:
                break  # the node diverged on replay: no child of it can be trusted
        return [child for child in tree.children(node) if child not in before]

    async def rollout(self, node: int, *, iteration: int, is_rollout: bool = True) -> tuple[int, float]:
        """Simulate from ``node`` with one sample per step until terminal or ``max_depth``.

        Every simulated step is added to the tree (flagged ``is_rollout`` unless told otherwise). Returns
        the last node and the return to back up: its reward if terminal, ``depth_penalty`` at the limit.
        """
        tree, config = self.tree, self.config
        while not tree.terminal[node] and not tree.diverged[node] and tree.depth[node] < config.max_depth:
            if not is_rollout and config.store_prompts and tree.prompt[node] is None:
                tree.prompt[node] = self.agent.messages(tree.history(node))  # sampled paths feed pairs
            candidates = await self.propose(node, 1, config.temperature)
            if not candidates:
                break
            child = self.add_child(node, candidates[0], iteration=iteration, is_rollout=is_rollout)
            if child is None:
                break
            node = child
        return node, self.leaf_return(node)

    def leaf_return(self, node: int) -> float:
        """The return of a branch that stops at ``node``."""
        tree = self.tree
        if tree.terminal[node]:
            return tree.reward[node]
        if tree.diverged[node]:
            return 0.0
        return self.config.depth_penalty

    def winning(self, nodes: Sequence[int]) -> int | None:
        """The first node of ``nodes`` that won, if any."""
        return next((n for n in nodes if self.tree.won[n]), None)

    def finish(self) -> SearchTree:
        """Fill best path, success and timings; returns the tree."""
        tree = self.tree
        tree.finalize()
        tree.timings = {
            **{k: round(v, 6) for k, v in self.timings.items()},
            "total": round(time.perf_counter() - self._start, 6),
        }
        tree.provenance.setdefault("branching", self.branch.mode)
        tree.provenance.setdefault("replay_steps", self.branch.replay_steps)
        return tree
