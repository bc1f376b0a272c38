"""Collect search trees over many tasks, K searches at a time, into a resumable JSONL file.

``collect(config)`` runs one search per task. Up to ``concurrency`` searches run as asyncio tasks, each
with its own environment instance; they share one agent whose model calls go through a
:class:`~agentsearch.llm.batcher.RequestBatcher`, so one backend call serves every search's pending
expansion. With ``executor=`` a :class:`~agentsearch.run.RayExecutor` the searches run on Ray actors across
machines instead, ``concurrency`` per actor, and the trees stream back to this process. The runner stamps
each finished tree with the run's facts and serialises it to its line where it ran (a
:class:`~agentsearch.search.tree.TreeLine`), so the driver only appends bytes; each line is flushed and
fsynced at once, so a kill loses at most the trees in flight. Rerunning the same command skips the task
ids already in the file; a partial last line left by a kill is reported, cut off and redone. A task that
fails (env error, backend error after retries) is written as a tree with ``error`` set, and the run goes
on.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agentsearch.agents.base import Agent
from agentsearch.config_yaml import load_yaml
from agentsearch.envs import short_name
from agentsearch.errors import AgentSearchError, ConfigError, did_you_mean
from agentsearch.files import append_line, open_log
from agentsearch.run import Executor, LocalExecutor
from agentsearch.search.algorithms import get_algorithm, make_search_config
from agentsearch.search.base import Evaluator, task_seed
from agentsearch.search.critic import make_evaluator
from agentsearch.search.tree import SearchTree, TreeLine, scan_tree_file

__all__ = [
    "CollectConfig",
    "CollectProgress",
    "SearchRunner",
    "collect",
    "default_config_path",
    "load_collect_config",
]

logger = logging.getLogger(__name__)


@dataclass
class CollectConfig:
    """One collection run. Paper defaults per environment ship as YAML (:func:`default_config_path`).

    Attributes:
        env: a registered environment's short name (``agentsearch envs list``) or a gymnasium id.
        split: task split searched.
        tasks: the first ``tasks`` ids of the split after ``skip_tasks`` (all when ``None``); ignored if
            ``task_ids`` is set.
        skip_tasks: ids left out at the start of the split (e.g. those an SFT policy was trained on).
        task_ids: explicit task ids.
        algo: a registered search algorithm (:func:`~agentsearch.search.algorithms.algorithm_names`:
            ``mcts``, ``dfsdt``, ``beam``, ``best_of_n`` ...).
        search: the algorithm's config values (its dataclass fields), overriding its defaults. A config
            that values states with a critic (``value: critic`` or ``mixed`` for MCTS) gets the agent's
            own model as :class:`~agentsearch.search.critic.SelfCritique`.
        model: model name for :func:`agentsearch.llm.models.load_model` (``smollm2-135m``, ``tiny-random``),
            or ``random`` for the zero-latency :class:`~agentsearch.search.scripted.RandomValidAgent`.
        backend: ``hf``, ``vllm`` or ``openai``.
        agent: :func:`agentsearch.agents.make_agent` options (``react``, ``icl``, ``action_mode`` ...).
        llm: backend options passed to :func:`agentsearch.llm.load_llm`.
        env_kwargs: keyword arguments of the environment constructor.
        concurrency: searches running at once (K).
        seed: run seed; each task's search seed is derived from it and the task id.
        out: the trees file (JSONL, appended to).
        round: expert-iteration round stored in every tree.
        provenance: more facts stored in every tree's ``provenance`` (``agentsearch iterate`` records
            the collector: ``{"collector": "qguided", "collector_qmodel": "runs/.../qmodel"}``).
    """

    env: str = "webshop"
    split: str = "train"
    tasks: int | None = 200
    skip_tasks: int = 0
    task_ids: list[str] | None = None
    algo: str = "mcts"
    search: dict[str, Any] = field(default_factory=dict)
    model: str = "smollm2-135m"
    backend: str = "hf"
    agent: dict[str, Any] = field(default_factory=dict)
    llm: dict[str, Any] = field(default_factory=dict)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    concurrency: int = 16
    seed: int = 0
    out: str = "runs/trees.jsonl"
    round: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigError(f"Expected `concurrency` >= 1, got {self.concurrency}.")
        if self.tasks is not None and self.tasks < 1:
            raise ConfigError(f"Expected `tasks` >= 1, got {self.tasks}.")
        if self.skip_tasks < 0:
            raise ConfigError(f"Expected `skip_tasks` >= 0, got {self.skip_tasks}.")
        search = make_search_config(self.algo, self.search)  # fail early on unknown algorithms or options
        if search.needs_evaluator and self.model == "random":
            raise ConfigError(
                f"{type(search).__name__} values states with the agent's own model; the scripted `random` "
                "policy has none: use an LLM model, or the rollout value."
            )


def default_config_path(env: str) -> Path | None:
    """The YAML of ``env``'s ``collect`` defaults named by its plug-in (``None`` when it names none)."""
    from agentsearch.plugins import get_env_plugin

    return get_env_plugin(env).configs


def _read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        data = load_yaml(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err}).") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of options, got {type(data).__name__}.")
    return data


def load_collect_config(
    path: str | os.PathLike[str] | None = None, overrides: Mapping[str, Any] | None = None
) -> CollectConfig:
    """A :class:`CollectConfig` from the env's shipped defaults, the YAML at ``path``, then ``overrides``.

    Mapping options (``search``, ``agent``, ``llm``, ``env_kwargs``) merge key by key. The shipped files
    keep one ``search`` section per algorithm (``search: {mcts: {...}, beam: {...}}``); the section of the
    chosen ``algo`` is used.
    """
    user = _read_yaml(path) if path is not None else {}
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    env = overrides.get("env", user.get("env", CollectConfig.env))
    shipped_path = default_config_path(env)
    merged: dict[str, Any] = _read_yaml(shipped_path) if shipped_path else {}
    algo = overrides.get("algo", user.get("algo", merged.get("algo", CollectConfig.algo)))
    per_algo = merged.pop("search", {}) or {}
    merged["search"] = dict(per_algo.get(algo, {}))
    for layer in (user, overrides):
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    known = {f.name for f in dataclasses.fields(CollectConfig)}
    unknown = sorted(set(merged) - known)
    if unknown:
        raise ConfigError(f"Unknown collect options {unknown}.{did_you_mean(unknown[0], known)}")
    return CollectConfig(**merged)


@dataclass(frozen=True)
class CollectProgress:
    """Running totals reported after each finished tree.

    Attributes:
        done: trees finished in this run; ``total`` trees this run writes; ``skipped`` already in the file.
        successes: finished trees that found a win; ``failures`` trees recorded with an error.
        nodes: nodes in the finished trees; ``tokens`` generated tokens; ``elapsed`` seconds of this run.
        record: the line just written (its counts; :attr:`last` parses it).
    """

    done: int
    total: int
    skipped: int
    successes: int
    failures: int
    nodes: int
    tokens: int
    elapsed: float
    record: TreeLine | None = None

    @property
    def last(self) -> SearchTree | None:
        """The tree just written (parsed from its line on each access)."""
        return self.record.tree() if self.record is not None else None


def _task_list(env: Any, config: CollectConfig) -> list[str]:
    if config.task_ids is not None:
        return [str(t) for t in config.task_ids]
    ids = [str(t) for t in env.task_ids(config.split)][config.skip_tasks :]
    return ids[: config.tasks] if config.tasks is not None else ids


def _make_env(config: CollectConfig) -> Any:
    from agentsearch.envs import make

    return make(config.env, split=config.split, **config.env_kwargs)


def build_agent(config: CollectConfig) -> Agent:
    """The agent ``config`` asks for: the scripted random policy, or an LLM agent over a batched backend."""
    env_name = short_name(config.env)
    if config.model == "random":
        from agentsearch.search.scripted import RandomValidAgent

        return RandomValidAgent(env_name)
    from agentsearch.agents import make_agent
    from agentsearch.llm import load_llm

    llm = load_llm(config.backend, config.model, **config.llm)
    return make_agent(env_name, llm, **config.agent)


def _failed_tree(config: CollectConfig, task_id: str, seed: int, err: BaseException) -> SearchTree:
    tree = SearchTree.new(env=config.env, task_id=task_id, instruction="", observation="")
    tree.algorithm, tree.seed = config.algo, seed
    tree.error = f"{type(err).__name__}: {err}"
    return tree


def _stamp(config: CollectConfig, tree: SearchTree) -> SearchTree:
    """Record the run's facts in a finished tree: round, the model name loaded, backend, provenance."""
    tree.round = config.round
    if tree.model and tree.model != config.model:
        tree.provenance["model_path"] = tree.model
    tree.model = config.model  # the name the run loaded, so a rerun can load it again
    tree.backend = "scripted" if config.model == "random" else config.backend
    tree.provenance.update(
        run_seed=config.seed, split=config.split, agent=dict(config.agent), **config.provenance
    )
    return tree


class SearchRunner:
    """Searches one task per call (the :class:`~agentsearch.run.TaskRunner` of ``collect``).

    Each call returns the finished tree stamped with the run's facts and serialised as its line (a
    :class:`~agentsearch.search.tree.TreeLine`), so on a remote worker the serialising happens there and
    the driver only appends the bytes. Environment instances are reused by later searches; one whose
    search failed is dropped, since its state is unknown. The agent is built by :meth:`prepare` or on
    the first call when none is given (by ``agent_factory``, or from ``config``), so a copy sent to a
    remote worker builds its own (and its own environments) there.
    """

    def __init__(
        self,
        config: CollectConfig,
        agent: Agent | None = None,
        envs: list[Any] | None = None,
        agent_factory: Callable[[], Agent] | None = None,
    ) -> None:
        self.config = config
        self.agent = agent
        self.envs = envs if envs is not None else []  # idle environment instances
        self.agent_factory = agent_factory
        self.evaluator: Evaluator | None = None

    def _build(self) -> tuple[Agent, Any]:
        config = self.config
        if self.agent is None:
            self.agent = self.agent_factory() if self.agent_factory is not None else build_agent(config)
        search_config = make_search_config(config.algo, config.search)
        if self.evaluator is None:  # the critic a config like MCTSConfig(value="critic") values states with
            self.evaluator = make_evaluator(search_config, self.agent)
        return self.agent, search_config

    async def prepare(self, concurrency: int) -> None:
        """Build the agent and ``concurrency`` environments now, before the first task (an executor calls
        it while its workers start, so their start-up is over before the tasks are handed out)."""
        self._build()
        while len(self.envs) < concurrency:
            self.envs.append(_make_env(self.config))

    async def __call__(self, task_id: str) -> TreeLine:
        return TreeLine.of(_stamp(self.config, await self._search(task_id)))

    async def _search(self, task_id: str) -> SearchTree:
        config = self.config
        agent, search_config = self._build()
        algorithm = get_algorithm(config.algo)
        env = self.envs.pop() if self.envs else _make_env(config)
        seed = task_seed(config.seed, task_id)
        try:
            tree = await algorithm.search(
                env, agent, task_id, search_config, seed=seed, evaluator=self.evaluator
            )
        except AgentSearchError as err:
            logger.warning("task %s failed: %s", task_id, err)
            return _failed_tree(config, task_id, seed, err)
        except Exception as err:  # a bug or an env crash: recorded, and the run goes on
            logger.exception("task %s failed", task_id)
            return _failed_tree(config, task_id, seed, err)
        self.envs.append(env)
        return tree


class _TreeWriter:
    """The driver's side of ``collect``: appends each finished tree's line (stamped and serialised by the
    runner) and counts it."""

    def __init__(
        self, handle: Any, total: int, skipped: int, progress: Callable[[CollectProgress], None] | None
    ) -> None:
        self.handle, self.progress = handle, progress
        self.total, self.skipped = total, skipped
        self.start = time.perf_counter()
        self.totals = {"done": 0, "successes": 0, "failures": 0, "nodes": 0, "tokens": 0}

    def report(self, record: TreeLine | None) -> CollectProgress:
        return CollectProgress(
            total=self.total,
            skipped=self.skipped,
            elapsed=time.perf_counter() - self.start,
            record=record,
            **self.totals,
        )

    def __call__(self, task_id: str, record: TreeLine) -> None:
        totals = self.totals
        append_line(self.handle, record.line)
        totals["done"] += 1
        totals["successes"] += int(record.success)
        totals["failures"] += int(record.failed)
        totals["nodes"] += record.nodes
        totals["tokens"] += record.tokens
        if self.progress is not None:
            self.progress(self.report(record))


def collect(
    config: CollectConfig,
    *,
    agent: Agent | None = None,
    progress: Callable[[CollectProgress], None] | None = None,
    executor: Executor | None = None,
    agent_factory: Callable[[], Agent] | None = None,
) -> Path:
    """Search every task of ``config`` not yet in ``config.out`` and append the trees; returns the path.

    Args:
        config: what to collect.
        agent: the policy (default: built from ``config.model``/``backend``/``agent`` by :func:`build_agent`).
        progress: called after each tree with running totals (the CLI draws its progress bar from it).
        executor: where the searches run (default: this process, :class:`~agentsearch.run.LocalExecutor`);
            with a remote one (``ray``) each worker builds its own agent, so ``agent`` must be ``None``.
        agent_factory: builds the policy in place of :func:`build_agent` (picklable, for a remote
            executor's workers: ``agentsearch iterate`` builds its Q-guided collector so).
    """
    out = Path(config.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    scan = scan_tree_file(out)
    if scan.truncated:
        logger.warning(
            "%s ends in a partial line (an interrupted write); cutting it off and redoing that task.", out
        )
        with out.open("r+b") as handle:
            handle.truncate(scan.good_bytes)
    finished = set(scan.task_ids)
    first_env = _make_env(config)
    tasks = _task_list(first_env, config)
    todo = [t for t in dict.fromkeys(tasks) if t not in finished]
    skipped = len(tasks) - len(todo)
    logger.info("%s: %d tasks, %d already collected, %d to search.", out, len(tasks), skipped, len(todo))
    if not todo:
        return out
    executor = executor or LocalExecutor()
    if agent is not None and agent_factory is not None:
        raise ConfigError("Give `agent` or `agent_factory`, not both.")
    if not executor.remote:
        runner = SearchRunner(config, agent, [first_env], agent_factory)
    elif agent is not None:
        raise ConfigError("An agent object cannot be sent to remote workers: pass `agent_factory` instead.")
    else:
        runner = SearchRunner(config, agent_factory=agent_factory)
    with open_log(out) as handle:
        writer = _TreeWriter(handle, len(todo), skipped, progress)
        executor.map(runner, todo, writer, concurrency=config.concurrency)
    return out
