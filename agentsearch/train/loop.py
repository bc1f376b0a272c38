"""The whole loop: collect trees -> step-level pairs -> train a Q-model -> evaluate or collect again.

* :func:`quickstart`: one round on embedded CPU defaults (WebShop, SmolLM2-135M, offline): a small MCTS
  collection on train tasks, pairs, a LoRA Q-model, then greedy vs Q-guided on a fixed test slice.
* :func:`iterate`: ``rounds`` rounds of collect -> pairs -> train, where round r > 0 collects with the
  Q-guided agent built from round r-1's Q-model (expert iteration). With ``sft`` set, each round also
  fine-tunes the policy on its own successful paths (rejection-sampling fine-tuning, as RFT, STaR and
  Agent Q do), and round r + 1 acts with, and bases its Q-model on, that policy. Every tree and every
  pair carries its round and the collector's provenance (``collector``, ``collector_qmodel``,
  ``collector_policy``; in trees under ``tree.provenance``), and each round folder holds a
  ``round.json`` manifest.

Every stage is resumable: collection and evaluation skip finished tasks and episodes, pairs are rebuilt
from the trees (cheap), and training is skipped when the Q-model directory already holds a model trained
on the same pairs file (same SHA-256).

All stages share one agent configuration. The defaults keep prompts lean (no one-shot example, the
history cut to ``context_tokens``), so the Q-model scores exactly the chats its pairs were built from
and every record fits the trainer's ``max_length``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentsearch.envs import short_name
from agentsearch.errors import ConfigError
from agentsearch.run.executor import executor_field

__all__ = ["LoopConfig", "LoopEvent", "RoundResult", "quickstart", "iterate", "QUICKSTART"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopEvent:
    """One progress report of the loop: a stage's count (``done`` of ``total``), or a ``note`` about it.

    A caller renders these (the CLI draws one progress bar per ``stage``); the default logs them.
    """

    stage: str
    done: int | None = None
    total: int | None = None
    note: str = ""

    def __str__(self) -> str:
        count = f" {self.done}/{self.total}" if self.total is not None else ""
        return f"{self.stage}{count}{': ' + self.note if self.note else ''}"


Report = Callable[[LoopEvent], None]


def step_events(stage: str, report: Report) -> Any:
    """A trainer callback that reports each optimizer step to ``report`` as a ``stage`` :class:`LoopEvent`."""
    from agentsearch.train.callbacks import StepReport  # imports transformers: only when training

    return StepReport(lambda done, total: report(LoopEvent(stage, done, total)))


@dataclass
class LoopConfig:
    """One run of the loop. The defaults are the quickstart's CPU budget (about 20 minutes on 2 cores).

    Attributes:
        out: run folder (``trees.jsonl``, ``pairs.jsonl``, ``qmodel/``, ``eval/`` per round).
        env: environment short name.
        model: the agent's model (and the Q-model's base).
        backend: generation backend of the agent.
        train_tasks: N train tasks searched per round, after the first ``train_skip``.
        train_skip: train tasks left out at the start of the split (the shipped WebShop SFT policy was
            fine-tuned on demonstrations of the first 400 (ids up to 1909), where its search would find
            little to learn).
        test_tasks: the first N test tasks evaluated.
        algo: search algorithm; ``search`` its options (over the env's shipped defaults).
        agent: :func:`agentsearch.agents.make_agent` options shared by every stage.
        strategy: pair strategy; ``all_siblings`` (Agent Q) gets more pairs from a small search budget than
            the paper's ``best_path_extremes`` (at most one pair per state on the best path).
        train: :class:`~agentsearch.train.StepDPOConfig` overrides.
        candidates: samples per step of the Q-guided agent (paper: 5).
        temperature: temperature of those samples (paper: 1.0; SmolLM2-135M's search keywords at 1.0
            are mostly noise, so the defaults sample at 0.7 with ``top_p`` 0.9, in search too).
        include_greedy: the Q-guided agent also scores the policy's greedy action, so it departs from
            greedy only where the Q-model prefers a sample.
        q_prior: the Q-guided agent ranks by ``Q + q_prior * beta * log pi_ref`` (1: the trained policy's
            own ``beta * log pi_theta``, the KL-regularised choice; 0: the paper's argmax Q).
        sft: per-round policy fine-tuning on the round's successful paths
            (:class:`~agentsearch.train.sft.StepSFTConfig` overrides, e.g. ``{"min_reward": 1.0}``);
            ``None`` keeps the policy fixed.
        compare: eval configurations.
        max_steps: step cap per eval episode.
        concurrency: searches / episodes at once (their model calls are batched); with the Ray executor,
            at once on each worker.
        seed: run seed.
        executor: where collection and evaluation run: ``local`` (this process) or ``ray`` (Ray actors
            across a cluster, as ``collect --executor ray``); pairs and training stay in this process. With
            ``ray``, workers on other machines read the Q-model and policy of earlier rounds from ``out``,
            so ``out`` must be on storage they share.
        address: the Ray cluster (``auto`` or ``HOST:PORT``; default: a Ray instance of this machine).
        workers: Ray actors to start (default: one per CPU of the cluster).
    """

    out: str = "runs/quickstart"
    env: str = "webshop"
    model: str = "smollm2-135m"
    backend: str = "hf"
    train_tasks: int = 8
    train_skip: int = 0
    test_tasks: int = 10
    algo: str = "mcts"
    search: dict[str, Any] = field(
        default_factory=lambda: {
            "iterations": 3,
            "n_samples": 3,
            "max_depth": 4,
            "temperature": 0.7,
            "early_stop": True,
        }
    )
    agent: dict[str, Any] = field(
        default_factory=lambda: {
            "icl": False,
            "react": False,
            "context_tokens": 1024,
            "max_tokens": 24,
            "top_p": 0.9,
            "action_mode": "score_valid",
        }
    )
    strategy: str = "all_siblings"
    train: dict[str, Any] = field(
        default_factory=lambda: {
            "num_train_epochs": 2,
            "learning_rate": 1e-4,
            "lora_top_layers": 8,
            "max_length": 1024,
            "per_device_train_batch_size": 4,
            "eval_fraction": 0.2,
        }
    )
    candidates: int = 5
    temperature: float = 0.7
    include_greedy: bool = False
    q_prior: float = 0.0
    sft: dict[str, Any] | None = None
    compare: list[str] = field(default_factory=lambda: ["greedy", "qguided"])
    max_steps: int | None = 5
    concurrency: int = 8
    seed: int = 0
    executor: str = executor_field()
    address: str | None = None
    workers: int | None = None


#: The quickstart's embedded defaults: the shipped WebShop SFT policy (``data/policies/``) searches train
#: tasks it was not fine-tuned on, its Q-model's base and reference are that policy (Zhai et al.), and
#: greedy vs Q-guided play the first ``test_tasks`` test tasks.
QUICKSTART = LoopConfig(
    model="smollm2-135m-webshop-sft",
    train_tasks=12,
    train_skip=450,
    test_tasks=30,
    search={"iterations": 4, "n_samples": 3, "max_depth": 6, "temperature": 0.7, "early_stop": True},
    # The policy speaks the actions it was fine-tuned on (page spelling), so it generates them; the
    # history is cut at 2,048 tokens, which a whole WebShop episode of the policy fits.
    agent={"icl": False, "react": False, "context_tokens": 2048, "max_tokens": 32, "top_p": 0.9},
    # One epoch at twice the learning rate fits the 20-minute budget; the reference comes from the
    # policy's own pass (LoRA on the top 8 layers only), which costs less than TRL's precompute when
    # there are fewer than about three epochs.
    train={
        "num_train_epochs": 1,
        "learning_rate": 2e-4,
        "lora_top_layers": 8,
        "max_length": 2048,
        "per_device_train_batch_size": 4,
        "eval_fraction": 0.2,
        "precompute_ref_log_probs": False,
    },
    # The greedy step is a candidate too, and candidates rank by beta * log pi_theta (Q plus the policy's
    # own log-probability): a Q-model trained on a few dozen pairs departs from the policy's choice only
    # where its Q outweighs the policy's confidence. With argmax Q (q_prior=0) it departed at the product
    # click in 16-21 of 30 eval-split tasks and lost more than it won (BENCHMARKS.md).
    include_greedy=True,
    q_prior=1.0,
    max_steps=8,
)


@dataclass(frozen=True)
class RoundResult:
    """Paths and figures of one round."""

    round: int
    trees: Path
    pairs: Path
    num_pairs: int
    qmodel: Path | None
    seconds: dict[str, float]
    eval: Any | None = None
    #: The policy that collected this round, and the one the round's SFT stage trained (if any).
    policy: str = ""
    next_policy: str | None = None


def _pairs_from_trees(
    trees_paths: list[Path], out: Path, config: LoopConfig, tokenizer: Any, provenance: dict[str, Any]
) -> int:
    """Write pairs of every finished tree in ``trees_paths``; drop records longer than ``max_length``."""
    from agentsearch.data import preference_pairs, write_jsonl
    from agentsearch.search.tree import read_trees
    from agentsearch.train.logprobs import tokenize_step

    max_length = config.train.get("max_length", 2048)
    records, dropped = [], 0
    for path in trees_paths:
        for tree in read_trees(path):
            if tree.error is not None:
                continue
            for record in preference_pairs(tree, config.strategy):
                tokens = tokenize_step(
                    tokenizer,
                    record["prompt"],
                    [record["chosen"][0]["content"], record["rejected"][0]["content"]],
                )
                if len(tokens.prompt_ids) + max(map(len, tokens.completion_ids)) > max_length:
                    dropped += 1
                    continue
                record.update(provenance.get(tree.round, {}))
                records.append(record)
    if dropped:
        logger.warning("%d pairs longer than max_length=%d tokens were left out", dropped, max_length)
    write_jsonl(records, out)
    return len(records)


def _train_if_needed(
    pairs: Path, out: Path, config: LoopConfig, base: str, round_index: int, report: Report
) -> Path:
    from agentsearch.train.fit import train_q
    from agentsearch.train.meta import META_FILE, TrainMeta, file_sha256

    if (out / META_FILE).is_file() and TrainMeta.load(out).data.get("sha256") == file_sha256(pairs):
        logger.info("%s already holds a model trained on %s; skipping training", out, pairs)
        return out
    steps = step_events(f"train round {round_index}", report)
    # The loop reports the steps itself (`report`), so the trainer's own bar is off unless asked for.
    options = {"disable_tqdm": True, **config.train}
    train_q(pairs, base, out, seed=config.seed, round=round_index, callbacks=[steps], **options)
    return out


def _fine_tune_if_needed(
    trees: Path, policy: str, out: Path, config: LoopConfig, round_index: int, report: Report
) -> str | None:
    """Fine-tune ``policy`` on the successful paths of ``trees`` into ``out``; ``None`` when none succeeds.

    A finished fine-tune (its record holds final metrics) is reused; a cut one resumes from its last
    checkpoint.
    """
    from agentsearch.errors import DataFileError
    from agentsearch.train.sft import SFT_META_FILE, SFTMeta, train_sft

    if (out / SFT_META_FILE).is_file() and SFTMeta.load(out).metrics:
        logger.info("%s already holds the fine-tuned policy; skipping fine-tuning", out)
        return str(out)
    try:
        steps = step_events(f"sft round {round_index}", report)
        train_sft([trees], policy, out, seed=config.seed, callbacks=[steps], **(config.sft or {}))
    except DataFileError as err:
        logger.warning("no policy fine-tuning this round: %s", err)
        return None
    return str(out)


@dataclass(frozen=True)
class _Collector:
    """Builds a round's collecting agent: ``policy``, Q-guided by ``qmodel`` when one is given.

    Picklable, so a Ray worker builds its own copy (its own model) from it; the local run builds it once
    over the backend the loop already loaded.
    """

    config: LoopConfig
    policy: str
    qmodel: str | None = None

    def __call__(self, llm: Any | None = None) -> Any:
        from agentsearch.agents import make_agent
        from agentsearch.agents.qguided import QGuidedAgent, qmodel_scorer
        from agentsearch.train.qmodel import QValueModel

        config = self.config
        if llm is None:
            llm = _load_llm(config, self.policy)
        agent = make_agent(short_name(config.env), llm, **config.agent)
        if self.qmodel is None:
            return agent
        scorer = qmodel_scorer(QValueModel.load(self.qmodel), agent.messages, prior=config.q_prior)
        return QGuidedAgent(agent, scorer, candidates=config.candidates, temperature=config.temperature)


def _collect(
    config: LoopConfig,
    trees: Path,
    round_index: int,
    collector: _Collector,
    llm: Any | None,
    executor: Any,
    provenance: dict[str, Any],
    report: Report,
) -> None:
    from agentsearch.search.collect import collect, load_collect_config

    collect_config = load_collect_config(
        None,
        {
            "env": config.env,
            "split": "train",
            "tasks": config.train_tasks,
            "skip_tasks": config.train_skip,
            "algo": config.algo,
            "search": config.search,
            "model": config.model,
            "backend": config.backend,
            "agent": config.agent,
            "concurrency": config.concurrency,
            "seed": config.seed + round_index,
            "out": str(trees),
            "round": round_index,
            "provenance": provenance,
        },
    )

    def progress(p: Any) -> None:
        report(LoopEvent(f"collect round {round_index}", p.done, p.total, f"won {p.successes}"))

    if executor.remote:  # each worker builds the collector (and loads its model) itself
        collect(collect_config, agent_factory=collector, progress=progress, executor=executor)
    else:
        collect(collect_config, agent=collector(llm), progress=progress, executor=executor)


def _load_llm(config: LoopConfig, model: str) -> Any:
    from agentsearch.llm import load_llm

    return load_llm(config.backend, model)


def _policy(config: LoopConfig, policy: str, executor: Any) -> tuple[Any | None, Any]:
    """The driver's backend of ``policy`` and its tokenizer (for the pairs).

    With a remote executor the workers load the model; the driver loads only the tokenizer.
    """
    if executor.remote:
        from agentsearch.llm.models import load_tokenizer

        return None, load_tokenizer(policy)
    llm = _load_llm(config, policy)
    return llm, llm.tokenizer


def _for_workers(model: str) -> str:
    """A model folder made absolute (a Ray worker need not run in the driver's directory); a name as is."""
    return str(Path(model).resolve()) if Path(model).exists() else model


def iterate(
    config: LoopConfig, *, rounds: int = 2, evaluate_last: bool = False, report: Report | None = None
) -> list[RoundResult]:
    """Expert iteration: per round collect -> pairs -> train (-> fine-tune); round r > 0 collects Q-guided.

    Round r's pairs come from the trees of rounds 0..r (each tagged with its round and collector), and its
    Q-model is trained from the round's policy on them: ``config.model``, or with ``config.sft`` the policy
    fine-tuned on round r - 1's successful paths (the reference of a step-level Q-model is the acting
    policy, as in Zhai et al.).

    Args:
        config: the loop configuration.
        rounds: rounds to run (a rerun resumes where the last one stopped).
        evaluate_last: also evaluate the last round's Q-model (``config.compare`` on ``test_tasks``).
        report: called with each :class:`LoopEvent` (default: logged).
    """
    from agentsearch.run import make_executor

    if rounds < 1:
        raise ConfigError(f"Expected `rounds` >= 1, got {rounds}.")
    report = report or (lambda event: logger.info("%s", event))
    executor = make_executor(config.executor, address=config.address, workers=config.workers)
    out, policy = Path(config.out), config.model
    if executor.remote:  # workers load the models of earlier rounds, and need not run in this directory
        out, policy = out.resolve(), _for_workers(policy)
    out.mkdir(parents=True, exist_ok=True)
    llm, tokenizer = _policy(config, policy, executor)
    provenance: dict[int, dict[str, Any]] = {}
    results: list[RoundResult] = []
    previous_qmodel: Path | None = None
    for round_index in range(rounds):
        folder = out / f"round{round_index}"
        folder.mkdir(exist_ok=True)
        seconds: dict[str, float] = {}
        collector = _Collector(config, policy)
        provenance[round_index] = {"collector": "agent", "collector_qmodel": None, "collector_policy": policy}
        if previous_qmodel is not None:
            collector = _Collector(config, policy, str(previous_qmodel))
            provenance[round_index].update(collector="qguided", collector_qmodel=str(previous_qmodel))
        record = folder / "round.json"
        if not record.exists():  # a resumed round keeps the record of the config it was collected with
            record.write_text(
                json.dumps(
                    {"round": round_index, **provenance[round_index], "config": asdict(config)}, indent=2
                )
                + "\n"
            )
        start = time.perf_counter()
        trees = folder / "trees.jsonl"
        _collect(config, trees, round_index, collector, llm, executor, provenance[round_index], report)
        seconds["collect"] = time.perf_counter() - start

        start = time.perf_counter()
        pairs = folder / "pairs.jsonl"
        trees_so_far = [out / f"round{r}" / "trees.jsonl" for r in range(round_index + 1)]
        num_pairs = _pairs_from_trees(trees_so_far, pairs, config, tokenizer, provenance)
        seconds["pairs"] = time.perf_counter() - start
        report(
            LoopEvent(
                f"pairs round {round_index}", note=f"{num_pairs} pairs from {len(trees_so_far)} tree file(s)"
            )
        )

        start = time.perf_counter()
        qmodel_dir = _train_if_needed(pairs, folder / "qmodel", config, policy, round_index, report)
        seconds["train"] = time.perf_counter() - start
        report(
            LoopEvent(
                f"train round {round_index}", note=f"Q-model in {qmodel_dir} ({seconds['train']:.0f} s)"
            )
        )
        previous_qmodel = qmodel_dir

        next_policy = None
        if config.sft is not None and round_index + 1 < rounds:
            start = time.perf_counter()
            next_policy = _fine_tune_if_needed(trees, policy, folder / "policy", config, round_index, report)
            seconds["sft"] = time.perf_counter() - start
            if next_policy is not None:
                report(
                    LoopEvent(
                        f"sft round {round_index}",
                        note=f"policy fine-tuned on its successes in {next_policy}",
                    )
                )
        results.append(
            RoundResult(round_index, trees, pairs, num_pairs, qmodel_dir, seconds, None, policy, next_policy)
        )
        if next_policy is not None:
            policy = next_policy
            llm, tokenizer = _policy(config, policy, executor)

    if evaluate_last and previous_qmodel is not None:
        last = results[-1]
        start = time.perf_counter()
        eval_out = out / f"round{last.round}" / "eval"
        summary = _evaluate(config, policy, previous_qmodel, eval_out, llm, executor, report)
        last.seconds["eval"] = time.perf_counter() - start
        results[-1] = dataclasses.replace(last, eval=summary)
    return results


def _evaluate(
    config: LoopConfig, policy: str, qmodel: Path, out: Path, llm: Any | None, executor: Any, report: Report
) -> Any:
    """``config.compare`` on the test tasks; with a remote executor the workers load policy and Q-model."""
    from agentsearch.eval import EPISODES_FILE, EvalConfig, evaluate, read_episodes

    eval_config = EvalConfig(
        env=config.env,
        split="test",
        tasks=config.test_tasks,
        agent=policy,
        backend=config.backend,
        agent_options=config.agent,
        qmodel=str(qmodel),
        q_icl=bool(config.agent.get("icl", True)),
        candidates=config.candidates,
        temperature=config.temperature,
        include_greedy=config.include_greedy,
        q_prior=config.q_prior,
        compare=config.compare,
        max_steps=config.max_steps,
        seed=config.seed,
        concurrency=config.concurrency,
        out=str(out),
    )

    total = config.test_tasks * len(config.compare)
    # A resumed run counts the episodes already on file, so its bar starts where the last one stopped.
    on_file = read_episodes(out / EPISODES_FILE)
    played = Counter(r["config"] for r in on_file)
    won = Counter(r["config"] for r in on_file if r.get("success"))

    def progress(record: dict[str, Any]) -> None:
        played[record["config"]] += 1
        won[record["config"]] += bool(record["success"])
        note = ", ".join(f"{name} won {won[name]}/{played[name]}" for name in config.compare)
        report(LoopEvent("eval", min(sum(played.values()), total), total, note))

    return evaluate(eval_config, llm=llm, progress=progress, executor=executor)


def quickstart(config: LoopConfig = QUICKSTART, *, report: Report | None = None) -> RoundResult:
    """One round of the loop on the embedded defaults, then greedy vs Q-guided on the test slice."""
    (result,) = iterate(config, rounds=1, evaluate_last=True, report=report)
    return result
