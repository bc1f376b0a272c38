"""Evaluate agents on a fixed slice of tasks: greedy, sampled, best-of-N by likelihood, Q-guided.

``evaluate(config)`` plays every configuration in ``config.compare`` on the same tasks with the same
per-task seeds, appends one JSON line per finished episode to ``<out>/episodes.jsonl`` (task, actions,
rewards, score, success, steps, tokens; fsynced, so a kill loses only the episodes in flight), skips
episodes already in the file when rerun, and writes ``<out>/summary.json`` and ``<out>/summary.png``
(atomically). An episode whose backend gives up after its retries is recorded with ``error`` set and
left out of the scores; ``summary.json`` counts them under ``failed_episodes``, and the run goes on.

Each configuration's summary holds the mean score, the success rate and the mean steps, each with a
95% percentile-bootstrap interval over episodes (:func:`bootstrap_ci`).

Configurations (:data:`CONFIGS`):

* ``greedy``: the agent at temperature 0 (one sample per step);
* ``sampled``: the agent at temperature 1;
* ``bestofn``: ``candidates`` samples per step, the one with the highest own log-likelihood executed;
* ``qguided``: ``candidates`` samples per step, the one with the highest Q executed (needs ``qmodel``);
* ``policy``: a step-DPO-tuned policy (``train-q --target policy``, given as ``policy``) at temperature 0.

Example::

    from agentsearch.eval import EvalConfig, evaluate, format_table
    config = EvalConfig(env="webshop", tasks=20, qmodel="runs/ws/qmodel", compare=["greedy", "qguided"])
    result = evaluate(config)
    print(format_table(result.summaries))
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agentsearch.errors import AgentSearchError, ConfigError, DataFileError, did_you_mean
from agentsearch.files import append_line, atomic_writer, open_log, write_text_atomic
from agentsearch.run import Executor, LocalExecutor

__all__ = [
    "CONFIGS",
    "ConfigSummary",
    "EvalConfig",
    "EpisodeRunner",
    "EvalResult",
    "Interval",
    "bootstrap_ci",
    "evaluate",
    "format_table",
    "plot_summaries",
    "read_episodes",
    "summarize",
]

logger = logging.getLogger(__name__)

CONFIGS: tuple[str, ...] = ("greedy", "sampled", "bestofn", "qguided", "policy")
EPISODES_FILE = "episodes.jsonl"


@dataclass
class EvalConfig:
    """One evaluation run.

    Attributes:
        env: a registered environment's short name (``agentsearch envs list``) or a gymnasium id.
        split: the split evaluated (the paper: WebShop test, 200 tasks).
        tasks: the first ``tasks`` ids of the split (all when ``None``); ignored if ``task_ids`` is set.
        task_ids: explicit task ids.
        agent: the agent's model (``smollm2-135m``, a folder, or an API model name with ``backend="openai"``),
            or ``random`` for the scripted :class:`~agentsearch.search.scripted.RandomValidAgent`.
        backend: ``hf``, ``vllm`` or ``openai``.
        agent_options: :func:`agentsearch.agents.make_agent` options (``react``, ``icl`` ...).
        llm_options: :func:`agentsearch.llm.load_llm` options.
        qmodel: a ``train-q`` output directory (needed by ``qguided``).
        q_base: the Q-model's base model (default: the one recorded in its metadata).
        policy: a ``train-q --target policy`` output directory (needed by ``policy``).
        q_icl: whether the Q-model sees the one-shot example; pairs built from lean prompts want ``False``.
        candidates: samples per step for ``bestofn`` and ``qguided`` (paper: 5).
        temperature: sampling temperature of those candidates (paper: 1.0).
        include_greedy: ``bestofn`` and ``qguided`` also score the agent's greedy action.
        q_prior: ``qguided`` ranks by ``Q + q_prior * beta * log pi_ref``; 1 is the DPO policy's own
            ``beta * log pi_theta`` (the KL-regularised choice), 0 the paper's argmax Q.
        compare: configurations to run, from :data:`CONFIGS` (default: ``greedy`` and ``qguided`` when
            ``qmodel`` is given, else ``greedy``).
        max_steps: step cap per episode (default: the environment's own limit).
        seed: run seed; each task's seed derives from it and the task id, the same in every configuration.
        concurrency: episodes played at once (their model calls are batched together).
        bootstrap: bootstrap resamples for the intervals.
        out: output folder.
    """

    env: str = "webshop"
    split: str = "test"
    tasks: int | None = 50
    task_ids: list[str] | None = None
    agent: str = "smollm2-135m"
    backend: str = "hf"
    agent_options: dict[str, Any] = field(default_factory=dict)
    llm_options: dict[str, Any] = field(default_factory=dict)
    qmodel: str | None = None
    q_base: str | None = None
    policy: str | None = None
    q_icl: bool = False
    candidates: int = 5
    temperature: float = 1.0
    include_greedy: bool = False
    q_prior: float = 0.0
    compare: list[str] | None = None
    max_steps: int | None = None
    seed: int = 0
    concurrency: int = 4
    bootstrap: int = 10_000
    out: str = "runs/eval"

    def __post_init__(self) -> None:
        if self.compare is None:
            self.compare = ["greedy", "qguided"] if self.qmodel else ["greedy"]
        for name in self.compare:
            if name not in CONFIGS:
                raise ConfigError(
                    f"Unknown configuration {name!r}; known: {CONFIGS}.{did_you_mean(name, CONFIGS)}"
                )
        if not self.compare:
            raise ConfigError("`compare` names no configuration.")
        if "qguided" in self.compare and not self.qmodel:
            raise ConfigError("Configuration `qguided` needs a Q-model: pass `qmodel` / `--qmodel DIR`.")
        if "policy" in self.compare and not self.policy:
            raise ConfigError("Configuration `policy` needs a tuned policy: pass `policy` / `--policy DIR`.")
        if self.candidates < 1 or self.concurrency < 1:
            raise ConfigError("Expected `candidates` >= 1 and `concurrency` >= 1.")
        if self.tasks is not None and self.tasks < 1:
            raise ConfigError(f"Expected `tasks` >= 1, got {self.tasks}.")


@dataclass(frozen=True)
class Interval:
    """A mean with its bootstrap interval."""

    mean: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class ConfigSummary:
    """Results of one configuration over its episodes."""

    name: str
    episodes: int
    score: Interval
    success: Interval
    steps: Interval
    tokens: float


@dataclass(frozen=True)
class EvalResult:
    summaries: dict[str, ConfigSummary]
    episodes_path: Path
    summary_path: Path
    plot_path: Path | None


def bootstrap_ci(
    values: Sequence[float], *, resamples: int = 10_000, confidence: float = 0.95, seed: int = 0
) -> Interval:
    """Mean of ``values`` and its percentile-bootstrap interval (deterministic for a given ``seed``).

    >>> bootstrap_ci([1.0, 1.0, 1.0])
    Interval(mean=1.0, low=1.0, high=1.0)
    """
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Interval(float(data.mean()), float(low), float(high))


def summarize(
    records: Sequence[dict[str, Any]], *, resamples: int = 10_000, seed: int = 0
) -> dict[str, ConfigSummary]:
    """Per configuration: mean score, success rate and mean steps with 95% bootstrap intervals."""
    by_config: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_config.setdefault(record["config"], []).append(record)
    summaries = {}
    for name, rows in by_config.items():
        summaries[name] = ConfigSummary(
            name=name,
            episodes=len(rows),
            score=bootstrap_ci([r["score"] for r in rows], resamples=resamples, seed=seed),
            success=bootstrap_ci([float(r["success"]) for r in rows], resamples=resamples, seed=seed),
            steps=bootstrap_ci([r["steps"] for r in rows], resamples=resamples, seed=seed),
            tokens=float(np.mean([r["tokens"] for r in rows])),
        )
    return summaries


def format_table(summaries: dict[str, ConfigSummary]) -> str:
    """A plain-text table, one row per configuration."""
    columns = ("score [95% CI]", "success [95% CI]", "steps [95% CI]")
    width = max([10, *(len(s.name) for s in summaries.values())])  # names such as `qguided-no-greedy`
    header = f"{'config':{width}s} {'episodes':>8s}  " + "  ".join(f"{c:24s}" for c in columns)
    lines = [header, "-" * len(header)]
    for s in summaries.values():
        lines.append(
            f"{s.name:{width}s} {s.episodes:8d}  {s.score!s:24s}  {s.success!s:24s}  {s.steps!s:24s}"
        )
    return "\n".join(lines)


def plot_summaries(summaries: dict[str, ConfigSummary], path: str | Path, *, title: str = "") -> Path:
    """Bar chart of success rate and mean score per configuration, with 95% interval whiskers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summaries)
    fig, axes = plt.subplots(1, 2, figsize=(2.2 + 1.4 * len(names), 3.6))
    for ax, metric in zip(axes, ("success", "score"), strict=True):
        intervals = [getattr(summaries[n], metric) for n in names]
        means = [i.mean for i in intervals]
        errors = [[i.mean - i.low for i in intervals], [i.high - i.mean for i in intervals]]
        ax.bar(names, means, yerr=errors, capsize=4, color="#4c72b0")
        ax.set_title("success rate" if metric == "success" else "mean score")
        ax.set_ylim(0, max(1.0, max((i.high for i in intervals), default=1.0)))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    with atomic_writer(path, "wb") as handle:
        fig.savefig(handle, dpi=120, format="png")
    plt.close(fig)
    return path


def read_episodes(path: str | Path) -> list[dict[str, Any]]:
    """Episode records of ``path``; a partial last line (a kill mid-write) is cut off and redone.

    Raises:
        DataFileError: a complete line is not valid JSON.
    """
    path = Path(path)
    if not path.is_file():
        return []
    data = path.read_bytes()
    complete, newline, tail = data.rpartition(b"\n")
    if tail.strip():
        logger.warning("%s ends in a partial line (an interrupted write); it is redone.", path)
        with path.open("r+b") as handle:
            handle.truncate(len(complete) + len(newline))
    records = []
    for number, raw in enumerate(complete.split(b"\n") if newline else [], start=1):
        if not raw.strip():
            continue
        try:
            records.append(json.loads(raw))
        except json.JSONDecodeError as err:
            raise DataFileError(path, number, f"not valid JSON: {err.msg}") from err
    return records


def task_seed(seed: int, task_id: str) -> int:
    """The per-task seed, identical across configurations (and processes: crc32, not ``hash``)."""
    return (seed * 1_000_003 + zlib.crc32(task_id.encode())) % (2**31)


def _task_ids(config: EvalConfig) -> list[str]:
    if config.task_ids is not None:
        return [str(t) for t in config.task_ids]
    from agentsearch.envs import make

    ids = [str(t) for t in make(config.env, split=config.split).task_ids(config.split)]
    return ids[: config.tasks] if config.tasks is not None else ids


def build_agents(
    config: EvalConfig, names: Sequence[str], *, agent: Any | None = None, llm: Any | None = None
) -> dict[str, tuple[Any, float]]:
    """The agent and step temperature of each configuration in ``names``; one model serves them all.

    ``agent`` replaces the agent built from ``llm`` (default ``load_llm(config.backend, config.agent)``);
    the Q-model then scores the chats that ``agent.messages`` renders.
    """
    from agentsearch.agents import make_agent
    from agentsearch.agents.qguided import QGuidedAgent, likelihood_scorer, qmodel_scorer
    from agentsearch.envs import short_name

    env_name = short_name(config.env)
    if agent is None and llm is None and config.agent == "random":  # the scripted policy, as in collect
        from agentsearch.search.scripted import RandomValidAgent

        agent = RandomValidAgent(env_name)
    if agent is None:
        if llm is None:
            from agentsearch.llm import load_llm

            llm = load_llm(config.backend, config.agent, **config.llm_options)
        agent = make_agent(env_name, llm, **config.agent_options)
    agents: dict[str, tuple[Any, float]] = {}
    for name in names:
        if name == "greedy":
            agents[name] = (agent, 0.0)
        elif name == "sampled":
            agents[name] = (agent, 1.0)
        elif name == "bestofn":
            agents[name] = (
                QGuidedAgent(
                    agent,
                    likelihood_scorer,
                    candidates=config.candidates,
                    temperature=config.temperature,
                    name=name,
                    include_greedy=config.include_greedy,
                ),
                config.temperature,
            )
        elif name == "qguided":
            from agentsearch.train.qmodel import QValueModel

            qmodel = QValueModel.load(config.qmodel, base=config.q_base)
            if llm is not None:
                messages_fn = make_agent(
                    env_name, llm, **{**config.agent_options, "icl": config.q_icl}
                ).messages
            else:
                messages_fn = agent.messages
            scorer = qmodel_scorer(qmodel, messages_fn, prior=config.q_prior)
            agents[name] = (
                QGuidedAgent(
                    agent, scorer, candidates=config.candidates, temperature=config.temperature, name=name,
                    include_greedy=config.include_greedy,
                ),
                config.temperature,
            )
        elif name == "policy":
            from agentsearch.llm import load_llm
            from agentsearch.train.fit import policy_model_path

            tuned = load_llm(config.backend, str(policy_model_path(config.policy)), **config.llm_options)
            agents[name] = (make_agent(env_name, tuned, **config.agent_options), 0.0)
    return agents


class EpisodeRunner:
    """Plays one ``(configuration, task id)`` episode per call (eval's :class:`~agentsearch.run.TaskRunner`).

    Environment instances are reused by later episodes; one whose episode failed is dropped. The agents
    are built from ``config`` on the first call when none are given, so a copy sent to a remote worker
    builds its own there.
    """

    def __init__(
        self, config: EvalConfig, names: Sequence[str], agents: dict[str, tuple[Any, float]] | None = None
    ) -> None:
        self.config = config
        self.names = list(names)
        self.agents = agents
        self.envs: list[Any] = []

    async def __call__(self, item: tuple[str, str]) -> dict[str, Any]:
        from agentsearch.agents.runner import run_episode
        from agentsearch.envs import make

        config = self.config
        if self.agents is None:
            self.agents = build_agents(config, self.names)
        name, task_id = item
        agent, temperature = self.agents[name]
        env = self.envs.pop() if self.envs else make(config.env, split=config.split)
        seed = task_seed(config.seed, task_id)
        start = time.perf_counter()
        try:
            result = await run_episode(
                env, agent, task_id=task_id, temperature=temperature, max_steps=config.max_steps, seed=seed,
            )
        except AgentSearchError as err:  # a backend that gave up after its retries, an env error
            logger.warning("[%s] task %s failed: %s", name, task_id, err)
            return {"config": name, "task_id": task_id, "seed": seed,
                    "error": f"{type(err).__name__}: {err}",
                    "seconds": round(time.perf_counter() - start, 3)}  # the env's state is unknown: dropped
        self.envs.append(env)
        return {
            "config": name,
            "task_id": task_id,
            "seed": seed,
            "actions": result.actions,
            "rewards": result.rewards,
            "score": result.reward,
            "success": result.success,
            "steps": result.steps,
            "tokens": result.tokens,
            "invalid_actions": result.invalid_actions,
            "terminated": result.terminated,
            "truncated": result.truncated,
            "seconds": round(time.perf_counter() - start, 3),
        }


def _log_backend_work(agents: dict[str, tuple[Any, float]]) -> None:
    """Log the work counters of the batcher and backend behind each agent, once per object."""
    seen: set[int] = set()
    for name, (agent, _) in agents.items():
        for part in (agent, getattr(agent, "agent", None)):  # a Q-guided agent wraps the acting one
            batcher = getattr(part, "backend", None)
            for worker in (batcher, getattr(batcher, "llm", None)):
                stats = getattr(worker, "stats", None)
                if stats is not None and id(worker) not in seen:
                    seen.add(id(worker))
                    logger.info("[%s] %s work: %s", name, type(worker).__name__, stats)


def evaluate(
    config: EvalConfig,
    *,
    agent: Any | None = None,
    llm: Any | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    executor: Executor | None = None,
) -> EvalResult:
    """Play every configuration of ``config.compare`` on the same tasks; resumable (see the module docstring).

    Args:
        config: what to evaluate.
        agent: the agent to evaluate (default: built from ``llm`` and ``config.agent_options``).
        llm: an already loaded backend for the agent (default: ``load_llm(config.backend, config.agent)``).
        progress: called with each finished episode's record.
        executor: where the episodes run (default: this process); with a remote one (``ray``) each
            worker builds its own agents from ``config``, so ``agent`` and ``llm`` must be ``None``.
    """
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    episodes_path = out / EPISODES_FILE
    tasks = _task_ids(config)
    done = {(r["config"], r["task_id"]) for r in read_episodes(episodes_path)}
    # Configurations interleave per task, so a partial run compares them on the same tasks.
    todo = [(name, t) for t in tasks for name in config.compare if (name, t) not in done]
    logger.info(
        "eval: %d tasks x %d configs, %d episodes to play", len(tasks), len(config.compare), len(todo)
    )
    if todo:
        executor = executor or LocalExecutor()
        names = sorted({name for name, _ in todo})
        agents: dict[str, tuple[Any, float]] = {}  # built here for a local run; remote workers build theirs
        if not executor.remote:
            agents = build_agents(config, names, agent=agent, llm=llm)
        elif agent is not None or llm is not None:
            raise ConfigError("Agent and backend objects cannot be sent to remote workers: leave them unset.")
        runner = EpisodeRunner(config, names, agents or None)
        with open_log(episodes_path) as handle:

            def write(item: tuple[str, str], record: dict[str, Any]) -> None:
                append_line(handle, json.dumps(record))
                if progress is not None and "error" not in record:
                    progress(record)

            executor.map(runner, todo, write, concurrency=config.concurrency)
        _log_backend_work(agents)
    wanted = set(tasks)
    records = [
        r for r in read_episodes(episodes_path) if r["task_id"] in wanted and r["config"] in config.compare
    ]
    # Failed episodes (backend gave up) are counted apart; scores are over the episodes that ran.
    played = [r for r in records if r.get("error") is None]
    summaries = summarize(played, resamples=config.bootstrap, seed=config.seed)
    summaries = {name: summaries[name] for name in config.compare if name in summaries}
    summary_path = out / "summary.json"
    failed = Counter(r["config"] for r in records if r.get("error") is not None)
    summary = {
        "config": asdict(config),
        "summaries": {k: asdict(v) for k, v in summaries.items()},
        "failed_episodes": {name: failed[name] for name in config.compare if failed[name]},
    }
    write_text_atomic(summary_path, json.dumps(summary, indent=2) + "\n")
    plot_path = (
        plot_summaries(summaries, out / "summary.png", title=f"{config.env} {config.split}")
        if summaries
        else None
    )
    return EvalResult(summaries, episodes_path, summary_path, plot_path)
