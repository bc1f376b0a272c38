"""The long fault suite: 20+ kills per command, backend faults, 10,000 fuzzed actions per environment.

Each section appends its figures to ``<out>/faults.json`` as it finishes (rerun a section with
``--only``), and ``--table`` prints the "Faults" table of BENCHMARKS.md from that file.

    nice -n 10 python scripts/fault_suite.py --out runs/faults                 # everything
    nice -n 10 python scripts/fault_suite.py --out runs/faults --only fuzz     # one section
    python scripts/fault_suite.py --out runs/faults --table

Sections: ``collect``, ``demos``, ``eval``, ``train-sft``, ``train-q`` (kill -9 at random moments,
resume, check nothing lost, duplicated or unparsable; trainings end on the uninterrupted loss),
``backend`` (every injected HTTP fault through a collection, and ``agentsearch serve`` killed and
restarted under one), ``fuzz`` (``agentsearch.envs.fuzz.fuzz_env`` on each environment).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from agentsearch.faults.kill import (
    KillReport,
    check_log_resume,
    check_training_resume,
    episodes_key,
    offline_env,
    read_log,
    run_to_end,
    trees_key,
)

HERE = Path(__file__).resolve().parent
SECTIONS = ("collect", "demos", "eval", "train-sft", "train-q", "backend", "fuzz")


def cli(*argv: str) -> list[str]:
    return [sys.executable, "-m", "agentsearch.cli", *argv]


def openai_collect(out: Path, url: str, tasks: int, retries: int, backoff: float) -> list[str]:
    """A small MCTS collection through the ``openai`` backend at ``url``."""
    return cli("collect", "--env", "webshop", "--backend", "openai", "--model", "tiny-random", "--tasks",
               str(tasks), "--concurrency", "2", "--search", "iterations=1", "--search", "n_samples=2",
               "--search", "max_depth=2", "--agent", "max_tokens=8", "--llm", f"base_url={url}", "--llm",
               f"max_retries={retries}", "--llm", f"backoff_s={backoff}", "--llm", "timeout_s=20",
               "--no-progress", "--out", str(out))  # fmt: skip


def kill_points(rng: random.Random, kills: int, most_lines: int) -> list[tuple[int, float]]:
    """A quarter of the kills at a random moment of start-up, the rest after a random number of records."""
    return [
        (0, rng.uniform(0.2, 3.0))
        if rng.random() < 0.25
        else (rng.randint(1, most_lines), rng.uniform(0.0, 0.3))
        for _ in range(kills)
    ]


def task_ids(split: str, n: int) -> list[str]:
    from agentsearch.envs import make

    return [str(t) for t in make("webshop", split=split).task_ids(split)[:n]]


def section_collect(work: Path, args) -> KillReport:
    out = work / "trees.jsonl"
    tasks = 40 * args.kills
    argv = cli(
        "collect",
        "--env",
        "webshop",
        "--model",
        "random",
        "--tasks",
        str(tasks),
        "--concurrency",
        "4",
        "--search",
        "iterations=5",
        "--no-progress",
        "--out",
        str(out),
    )
    expected = {(t, None, None) for t in task_ids("train", tasks)}
    return check_log_resume(
        argv,
        out,
        trees_key,
        expected=expected,
        env=offline_env(),
        kill_points=kill_points(random.Random(1), args.kills, 60),
    )


def section_demos(work: Path, args) -> KillReport:
    tasks = str(150 * args.kills)  # demos write ~100 a second: enough for every kill to land mid-run
    reference = work / "reference.jsonl"
    run_to_end(cli("demos", "--env", "webshop", "--tasks", tasks, "--out", str(reference)), env=offline_env())
    out = work / "demos.jsonl"
    report = check_log_resume(
        cli("demos", "--env", "webshop", "--tasks", tasks, "--out", str(out)),
        out,
        trees_key,
        expected=set(read_log(reference, trees_key).keys),
        env=offline_env(),
        kill_points=kill_points(random.Random(2), args.kills, 60),
    )
    if sorted(out.read_bytes().splitlines()) != sorted(reference.read_bytes().splitlines()):
        report.notes.append("resumed demos differ from the uninterrupted ones")
    return report


def section_eval(work: Path, args) -> KillReport:
    from agentsearch.faults.kill import json_files_parse

    out = work / "eval"
    tasks = max(args.kills, 8)
    argv = cli(
        "eval",
        "--env",
        "webshop",
        "--model",
        "tiny-random",
        "--backend",
        "hf",
        "--tasks",
        str(tasks),
        "--max-steps",
        "2",
        "--compare",
        "greedy,sampled",
        "--concurrency",
        "2",
        "--agent",
        "max_tokens=8",
        "--out",
        str(out),
    )
    expected = {(c, t) for c in ("greedy", "sampled") for t in task_ids("test", tasks)}
    rng = random.Random(3)
    points = [
        (0, rng.uniform(2.0, 15.0)) if rng.random() < 0.25 else (rng.randint(0, 1), rng.uniform(0, 2))
        for _ in range(args.kills)
    ]
    return check_log_resume(
        argv,
        out / "episodes.jsonl",
        episodes_key,
        expected=expected,
        env=offline_env(),
        kill_points=points,
        extra_files=lambda: json_files_parse(out),
    )


def _training(work: Path, args, command: str, meta_file: str, argv_for) -> KillReport:
    start = time.perf_counter()
    run_to_end(argv_for(work / "reference"), env=offline_env(), timeout=3600)
    seconds = time.perf_counter() - start
    reference = json.loads((work / "reference" / meta_file).read_text())["metrics"]["final_loss"]
    rng = random.Random(4 if command == "train-q" else 5)
    # Kill moments spread over one uninterrupted run (start-up, data, training steps, saves); every
    # rerun resumes from the newest complete checkpoint, so most of them land mid-training.
    delays = [rng.uniform(0.1, 1.0) * seconds for _ in range(args.kills)]
    report = check_training_resume(
        argv_for(work / "run"),
        work / "run",
        meta_file,
        reference_loss=reference,
        delays=delays,
        env=offline_env(),
    )
    if abs(report.final_loss - reference) > 1e-5:
        report.notes.append(f"final loss {report.final_loss} != uninterrupted {reference}")
    return report


def section_train_sft(work: Path, args) -> KillReport:
    demos = work / "demos.jsonl"
    run_to_end(cli("demos", "--env", "webshop", "--tasks", "24", "--out", str(demos)), env=offline_env())
    return _training(
        work,
        args,
        "train-sft",
        "agentsearch_sft.json",
        lambda out: cli(
            "train-sft",
            str(demos),
            "--model",
            "tiny-random",
            "--out",
            str(out),
            "--max-steps",
            "30",
            "--save-steps",
            "5",
            "--eval-fraction",
            "0.1",
            "--seed",
            "0",
        ),
    )


def section_train_q(work: Path, args) -> KillReport:
    sys.path.insert(0, str(HERE.parent / "tests" / "train"))
    from train_helpers import write_pairs

    pairs = write_pairs(work / "pairs.jsonl", 48)
    return _training(
        work,
        args,
        "train-q",
        "agentsearch_meta.json",
        lambda out: cli(
            "train-q",
            str(pairs),
            "--model",
            "tiny-random",
            "--out",
            str(out),
            "--max-steps",
            "24",
            "--save-steps",
            "3",
            "--eval-fraction",
            "0.2",
            "--seed",
            "0",
        ),
    )


def section_backend(work: Path, args) -> dict:
    """Every fault through a collection, a dead backend, and serve killed and restarted under one."""
    import socket

    import httpx

    from agentsearch.faults.server import FAULTS, FaultyServer

    def free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def start_serve(port: int) -> subprocess.Popen:
        proc = subprocess.Popen(
            cli("serve", "--model", "tiny-random", "--port", str(port)),
            env=offline_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        while proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    return proc
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("serve did not start")

    def collect(out: Path, url: str, tasks: int, retries: int, backoff: float) -> list[dict]:
        run_to_end(openai_collect(out, url, tasks, retries, backoff), env=offline_env(), timeout=3600)
        return [json.loads(line) for line in out.read_text().splitlines()]

    results: dict = {}
    port = free_port()
    serve = start_serve(port)
    upstream = f"http://127.0.0.1:{port}"
    try:
        schedule = [step for fault in FAULTS[1:] for step in ("ok", fault)]
        with FaultyServer(upstream, schedule, hang_s=30.0) as proxy:
            server = proxy
            trees = collect(work / "faults.jsonl", server.url, args.backend_tasks, 6, 0.05)
        results["injected"] = dict(server.injected)
        results["faults_run"] = {
            "tasks": len(trees),
            "failed": sum(t["error"] is not None for t in trees),
            "unique": len({t["task_id"] for t in trees}),
        }
        with FaultyServer(upstream, ["500"]) as proxy:
            trees = collect(work / "dead.jsonl", proxy.url, 4, 1, 0.01)
        results["dead_backend"] = {
            "tasks": len(trees),
            "failed_on_record": sum((t["error"] or "").startswith("BackendError") for t in trees),
        }
    finally:
        os.killpg(serve.pid, 9)
        serve.wait()
    # serve killed -9 and restarted on its port, twice, under one collection.
    port = free_port()
    serve = start_serve(port)
    out = work / "restart.jsonl"
    tasks = 3 * args.backend_tasks
    proc = subprocess.Popen(
        openai_collect(out, f"http://127.0.0.1:{port}/v1", tasks, 12, 0.5),
        env=offline_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    restarts = 0
    try:
        for target in (tasks // 3, 2 * tasks // 3):
            while proc.poll() is None and len(read_log(out, trees_key).keys) < target:
                time.sleep(0.2)
            if proc.poll() is not None:
                break
            os.killpg(serve.pid, 9)
            serve.wait()
            time.sleep(2.0)
            serve = start_serve(port)
            restarts += 1
        proc.wait(timeout=3600)
    finally:
        os.killpg(serve.pid, 9)
        serve.wait()
    trees = [json.loads(line) for line in out.read_text().splitlines()]
    results["serve_restarts"] = {
        "restarts": restarts,
        "returncode": proc.returncode,
        "tasks": len(trees),
        "unique": len({t["task_id"] for t in trees}),
        "failed_on_record": sum(t["error"] is not None for t in trees),
    }
    return results


def section_fuzz(work: Path, args) -> dict:
    from agentsearch.envs.fuzz import fuzz_env

    results = {}
    for name in args.envs.split(","):
        report = fuzz_env(name, actions=args.fuzz, seed=0)
        figures = asdict(report)
        figures["failures"] = report.failures[:20]
        figures["failure_count"] = len(report.failures)
        results[name] = figures
        print(
            f"fuzz {name}: {report.actions} actions, {len(report.failures)} failures, {report.seconds:.0f} s",
            flush=True,
        )
    return results


def record(path: Path, section: str, figures: dict) -> None:
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[section] = {**figures, "load_avg_at_end": os.getloadavg(), "finished": time.strftime("%F %T")}
    path.write_text(json.dumps(data, indent=2) + "\n")


def table(path: Path) -> str:
    data = json.loads(path.read_text())
    lines = [
        "| command | kills survived | ended before the kill | records | lost | duplicated | unparsable | "
        "final loss (resumed / uninterrupted) | seconds | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for section in ("collect", "demos", "eval", "train-sft", "train-q"):
        if section not in data:
            continue
        r = data[section]
        loss = f"{r['final_loss']:.6f} / {r['reference_loss']:.6f}" if r.get("final_loss") is not None else ""
        lines.append(
            f"| `{section}` | {r['kills']} | {r['ended_first']} | {r['records']} / {r['expected']} | "
            f"{r['lost']} | {r['duplicated']} | {r['unparsable']} | {loss} | {r['seconds']:.0f} | "
            f"{r['load_avg_at_end'][0]:.1f} |"
        )
    if "backend" in data:
        b = data["backend"]
        lines += ["", "| backend fault | injected | outcome |", "|---|---|---|"]
        run = b["faults_run"]
        for fault, count in sorted(b["injected"].items()):
            lines.append(
                f"| {fault} | {count} | retried with backoff; collection of {run['tasks']} tasks "
                f"completed, {run['failed']} failed |"
            )
        dead = b["dead_backend"]
        lines.append(
            f"| always 500 | all | run completed; {dead['failed_on_record']}/{dead['tasks']} tasks "
            "recorded as failed (BackendError) |"
        )
        s = b["serve_restarts"]
        lines.append(
            f"| `serve` kill -9 + restart | {s['restarts']} | exit {s['returncode']}; {s['unique']}/"
            f"{s['tasks']} trees unique, {s['failed_on_record']} recorded as failed |"
        )
    if "fuzz" in data:
        lines += [
            "",
            "| env | fuzzed actions | valid / adversarial | flagged invalid | snapshots / restores / "
            "resets | replayed identically | exceptions + mismatches | seconds |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, f in data["fuzz"].items():
            if not isinstance(f, dict) or "actions" not in f:
                continue
            lines.append(
                f"| {name} | {f['actions']:,} | {f['valid']:,} / {f['adversarial']:,} | "
                f"{f['flagged_invalid']:,} | {f['snapshots']} / {f['restores']} / {f['resets']} | "
                f"{f['replayed']:,} | {f['failure_count']} | {f['seconds']:.0f} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/faults", help="folder of faults.json")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {SECTIONS}")
    parser.add_argument("--kills", type=int, default=20, help="kills per command")
    parser.add_argument("--fuzz", type=int, default=10_000, help="fuzzed actions per environment")
    parser.add_argument("--envs", default="webshop,alfworld,math", help="environments fuzzed")
    parser.add_argument("--backend-tasks", type=int, default=4, help="tasks of each backend-fault collection")
    parser.add_argument("--table", action="store_true", help="print the Faults table and exit")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = out / "faults.json"
    if args.table:
        print(table(results))
        return 0
    handlers = {
        "collect": section_collect,
        "demos": section_demos,
        "eval": section_eval,
        "train-sft": section_train_sft,
        "train-q": section_train_q,
        "backend": section_backend,
        "fuzz": section_fuzz,
    }
    for section in args.only.split(","):
        with tempfile.TemporaryDirectory(prefix=f"faults-{section}-") as work:
            start = time.perf_counter()
            figures = handlers[section](Path(work), args)
            figures = asdict(figures) if isinstance(figures, KillReport) else figures
            figures.setdefault("seconds", time.perf_counter() - start)
            record(results, section, figures)
            print(f"{section}: {json.dumps(figures)[:400]}", flush=True)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
