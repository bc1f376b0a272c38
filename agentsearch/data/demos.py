"""Expert demonstrations and rejection-sampled paths, written in the one search-tree schema.

A demonstration is a tree with a single root-to-leaf path (``algorithm="demo"``), so ``pairs``,
``data stats``, the viewer and ``train-sft`` read it like any collected tree. Its responses are in the
agent's own format: act-only (``Action: click[Buy Now]``) or ReAct with the environment's templated
thought (:attr:`~agentsearch.agents.prompts.EnvPrompt.demo_thought`). Clickable actions are spelled as
the page shows them, exactly as the ``score_valid`` scorer spells them, so a policy trained on the demos
puts its probability on the strings it will be scored on.

Every demonstration is replayed on a fresh reset before it is returned: a plan whose replay does not
reproduce its observations and reward is refused with :class:`DemoReplayError` (task id and step).

Example::

    from agentsearch.agents import make_prompt
    from agentsearch.data.demos import expert_demo
    from agentsearch.envs import make

    env = make("webshop")
    tree = expert_demo(env, "webshop", "1500", make_prompt("webshop"), react=False)
    tree.success, tree.best_reward        # (True, 1.0)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentsearch.agents.base import History
from agentsearch.agents.prompts import EnvPrompt
from agentsearch.envs.base import TextEnv
from agentsearch.errors import AgentSearchError
from agentsearch.files import open_log
from agentsearch.run import Executor, LocalExecutor
from agentsearch.search.tree import ROOT, SearchTree, append_tree, read_trees, scan_tree_file

__all__ = [
    "DEMO_ALGORITHM",
    "DemoReplayError",
    "DemoStep",
    "DemosConfig",
    "DemosResult",
    "ExpertDemoRunner",
    "demos_from_trees",
    "expert_demo",
    "page_spelling",
    "replay_demo",
    "successful_paths",
    "path_tree",
    "write_demos",
]

logger = logging.getLogger(__name__)

#: ``SearchTree.algorithm`` of a demonstration.
DEMO_ALGORITHM = "demo"


class DemoReplayError(AgentSearchError):
    """A demonstration does not replay to its recorded observations and reward."""

    def __init__(self, task_id: str, step: int, message: str) -> None:
        super().__init__(f"demo of task {task_id}, step {step}: {message}")
        self.task_id = task_id
        self.step = step


@dataclass(frozen=True)
class DemoStep:
    """One expert step as the environment saw it."""

    response: str
    action: str
    observation: str
    reward: float
    terminal: bool
    won: bool
    valid_actions: list[str] | None


def page_spelling(
    prompt: EnvPrompt, action: str, valid_actions: Sequence[str] | None, observation: str
) -> str:
    """``action`` spelled as the scorer writes it (``click[b0dbvwfj7l]`` -> ``click[B0DBVWFJ7L]``)."""
    scorable = prompt.scorable_actions(valid_actions, observation) or []
    spelled = {candidate.lower(): candidate for candidate in scorable}
    return spelled.get(action.lower(), action)


def _play(
    env: TextEnv, task_id: str, actions: Sequence[str], prompt: EnvPrompt, react: bool
) -> list[DemoStep]:
    observation, info = env.reset(options={"task_id": task_id})
    instruction = info["instruction"]
    valid = info.get("valid_actions")
    steps: list[DemoStep] = []
    for index, planned in enumerate(actions):
        action = page_spelling(prompt, planned, valid, observation)
        thought = prompt.demo_thought(action, instruction, observation, index) if react else None
        observation, reward, terminated, truncated, info = env.step(action)
        if info["invalid_action"]:
            raise DemoReplayError(task_id, index, f"the environment refused {action!r}")
        valid = info.get("valid_actions")
        steps.append(
            DemoStep(
                response=prompt.respond(action, thought),
                action=action,
                observation=observation,
                reward=float(reward),
                terminal=bool(terminated or truncated),
                won=bool(info["won"]),
                valid_actions=list(valid) if valid is not None else None,
            )
        )
        if terminated or truncated:
            break
    return steps


def expert_demo(
    env: TextEnv,
    env_name: str,
    task_id: str,
    prompt: EnvPrompt,
    *,
    react: bool = False,
    seed: int | None = None,
) -> SearchTree | None:
    """The environment's expert plan for ``task_id`` as a one-path tree, replay-checked.

    Returns ``None`` when the environment has no plan for the task (WebShop: the instruction's query
    misses the product). A plan that does not win is returned too (``tree.success`` is False): callers
    decide whether to keep losers.
    """
    env.reset(options={"task_id": task_id})
    plan = env.expert_plan()
    if not plan:
        return None
    steps = _play(env, task_id, plan, prompt, react)
    observation, info = env.reset(options={"task_id": task_id})
    tree = SearchTree.new(
        env=env_name,
        task_id=task_id,
        instruction=info["instruction"],
        observation=observation,
        valid_actions=info.get("valid_actions"),
        algorithm=DEMO_ALGORITHM,
        model="expert",
        backend="scripted",
        seed=seed,
        config={"react": react},
    )
    node = ROOT
    for step in steps:
        node = tree.add_node(
            node,
            response=step.response,
            action=step.action,
            observation=step.observation,
            reward=step.reward,
            terminal=step.terminal,
            won=step.won,
            valid_actions=step.valid_actions,
        )
    _back_up_path(tree, node)
    tree.finalize()
    replay_demo(env, tree)
    return tree


def _back_up_path(tree: SearchTree, leaf: int) -> None:
    """Give each node on the path one visit with the return that follows it (undiscounted)."""
    path = tree.path(leaf)
    future = 0.0
    for node in reversed(path):
        future += tree.reward[node]
        tree.visits[node] = 1
        tree.value_sum[node] = future


def replay_demo(env: TextEnv, tree: SearchTree) -> None:
    """Replay the tree's best path from a fresh reset; raise :class:`DemoReplayError` on any difference."""
    observation, _ = env.reset(options={"task_id": tree.task_id})
    if observation != tree.observation[ROOT]:
        raise DemoReplayError(tree.task_id, 0, "the reset observation differs from the recorded one")
    path = tree.best_path if len(tree.best_path) > 1 else tree.path(tree.num_nodes - 1)
    for index, node in enumerate(path[1:]):
        observation, reward, terminated, truncated, info = env.step(tree.action[node])
        if info["invalid_action"] and not tree.invalid[node]:
            raise DemoReplayError(tree.task_id, index, f"the environment refused {tree.action[node]!r}")
        if observation != tree.observation[node]:
            raise DemoReplayError(tree.task_id, index, "the observation differs from the recorded one")
        if abs(float(reward) - tree.reward[node]) > 1e-9:
            raise DemoReplayError(
                tree.task_id, index, f"reward {float(reward)} differs from the recorded {tree.reward[node]}"
            )


def successful_paths(tree: SearchTree, min_reward: float) -> Iterator[int]:
    """Leaves of ``tree`` whose immediate reward is at least ``min_reward`` (diverged nodes excluded)."""
    for node in range(1, tree.num_nodes):
        if tree.terminal[node] and not tree.diverged[node] and tree.reward[node] >= min_reward:
            yield node


def path_tree(tree: SearchTree, leaf: int) -> SearchTree:
    """The root-to-``leaf`` path of ``tree`` as a demonstration (RFT / STaR from collected trees)."""
    history: History = tree.history(leaf)
    path = tree.path(leaf)
    demo = SearchTree.new(
        env=tree.env,
        task_id=tree.task_id,
        instruction=tree.instruction,
        observation=history.observation,
        valid_actions=tree.valid_actions[ROOT],
        algorithm=DEMO_ALGORITHM,
        model=tree.model,
        backend=tree.backend,
        seed=tree.seed,
        round=tree.round,
        config=dict(tree.config),
        provenance={"from_tree": tree.tree_id, "algorithm": tree.algorithm, "leaf": leaf},
    )
    node = ROOT
    for source in path[1:]:
        node = demo.add_node(
            node,
            response=tree.response[source],
            action=tree.action[source],
            observation=tree.observation[source],
            reward=tree.reward[source],
            terminal=tree.terminal[source],
            won=tree.won[source],
            invalid=tree.invalid[source],
            logprob=tree.logprob[source],
            num_tokens=tree.num_tokens[source],
            valid_actions=tree.valid_actions[source],
        )
    _back_up_path(demo, node)
    demo.finalize()
    return demo


def demos_from_trees(trees: Iterable[SearchTree], min_reward: float) -> Iterator[SearchTree]:
    """One demonstration per qualifying leaf of every tree, the best path first within each tree."""
    for tree in trees:
        if tree.error is not None:
            continue
        leaves = sorted(successful_paths(tree, min_reward), key=lambda n: (-tree.reward[n], n))
        for leaf in leaves:
            yield path_tree(tree, leaf)


@dataclass
class DemosConfig:
    """What ``agentsearch demos`` writes.

    Attributes:
        env: environment short name.
        split: the split whose tasks are demonstrated.
        tasks: only the first N tasks of the split; ``task_ids`` names them instead.
        react: ReAct responses (templated thought + action) instead of act-only ones.
        keep_losers: also write expert plans that do not win (``success`` False in the tree).
        from_trees: instead of the expert, the successful paths of these collected tree files
            (rejection sampling: RFT / STaR).
        min_reward: the smallest final reward of a path taken from ``from_trees``.
        out: the demos file (appended to; a rerun skips what it holds).
    """

    env: str = "webshop"
    split: str = "train"
    tasks: int | None = None
    task_ids: list[str] | None = None
    react: bool = False
    keep_losers: bool = False
    from_trees: list[str] = field(default_factory=list)
    min_reward: float = 1.0
    out: str = "runs/demos.jsonl"


@dataclass
class DemosResult:
    """Counts of one ``write_demos`` run: written, already there, and expert plans lost or missing."""

    out: Path
    written: int = 0
    skipped: int = 0
    lost: int = 0
    no_plan: int = 0


def _demo_key(tree: SearchTree) -> str:
    """What identifies a demonstration in its file: the task, or the source tree and leaf of a path."""
    source = tree.provenance.get("from_tree")
    return f"{source}:{tree.provenance.get('leaf')}" if source else tree.task_id


def write_demos(
    config: DemosConfig,
    progress: Callable[[DemosResult, int], None] | None = None,
    executor: Executor | None = None,
) -> DemosResult:
    """Append demonstrations to ``config.out``, fsync'ed one tree per line; resumable after a kill.

    ``executor`` runs the expert's tasks (default: this process, one after the other); paths taken from
    ``from_trees`` are read here.
    """
    out = Path(config.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    scan = scan_tree_file(out)
    done = {_demo_key(tree) for tree in read_trees(out)} if scan.task_ids else set()
    result = DemosResult(out=out)
    with open_log(out) as handle:
        handle.truncate(scan.good_bytes)  # drop a line cut short by a kill
        if config.from_trees:
            for path in config.from_trees:
                for demo in demos_from_trees(read_trees(path), config.min_reward):
                    if _demo_key(demo) in done:
                        result.skipped += 1
                        continue
                    append_tree(handle, demo)
                    result.written += 1
                    if progress is not None:
                        progress(result, 0)
        else:
            _write_expert_demos(config, done, result, handle, progress, executor or LocalExecutor())
    logger.info(
        "%s: %d demos written, %d already there, %d lost, %d without a plan",
        out,
        result.written,
        result.skipped,
        result.lost,
        result.no_plan,
    )
    return result


class ExpertDemoRunner:
    """The expert's demonstration of one task per call, or ``None`` without a plan (a TaskRunner)."""

    def __init__(self, config: DemosConfig, env: TextEnv | None = None) -> None:
        self.config = config
        self.env = env
        self.prompt: EnvPrompt | None = None

    async def __call__(self, task_id: str) -> SearchTree | None:
        from agentsearch.agents import make_prompt
        from agentsearch.envs import make

        if self.env is None:
            self.env = make(self.config.env, split=self.config.split)
        if self.prompt is None:
            self.prompt = make_prompt(self.config.env)
        return expert_demo(self.env, self.config.env, task_id, self.prompt, react=self.config.react)


def _write_expert_demos(
    config: DemosConfig,
    done: set[str],
    result: DemosResult,
    handle: Any,
    progress: Callable[[DemosResult, int], None] | None,
    executor: Executor,
) -> None:
    from agentsearch.envs import make

    env = make(config.env, split=config.split)
    task_ids = list(config.task_ids or env.task_ids(config.split))
    if config.tasks is not None and not config.task_ids:
        task_ids = task_ids[: config.tasks]
    todo = [task_id for task_id in task_ids if task_id not in done]
    result.skipped += len(task_ids) - len(todo)

    def write(task_id: str, tree: SearchTree | None) -> None:
        if tree is None:
            result.no_plan += 1
            return
        if not tree.success:
            result.lost += 1
            if not config.keep_losers:
                return
        append_tree(handle, tree)
        result.written += 1
        if progress is not None:
            progress(result, len(task_ids))

    runner = ExpertDemoRunner(config, None if executor.remote else env)
    # One at a time in this process, as before; a remote executor runs one task per worker at a time.
    executor.map(runner, todo, write, concurrency=1)
