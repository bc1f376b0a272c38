"""ALFWorld: native vs real engine step time, snapshots vs replay, generator throughput, differential run.

Usage::

    python benchmarks/bench_alfworld.py                      # speed figures (needs the alfworld extra)
    python benchmarks/bench_alfworld.py --differential 200   # + the full native-vs-real differential check

Figures (printed next to the issue's targets, ratios measured side by side in this run):

* step time of ``ALFWorldEnv.step`` on shipped houses with 30+ receptacles, native vs textworld, on the
  same seeded walks (random admissible commands, biased to object interactions, plus invalid ones);
* ``snapshot()`` + ``restore()`` at depth 10 for both engines, vs replaying the 10 commands from reset;
* generator throughput in planner-solved games per minute, with and without the real engine's replay;
* ``--differential N``: N shipped games (spread over the splits) x ``--diff-steps`` commands compared
  step by step (observation, admissible list, reward, done); prints the mismatch count.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from importlib import resources

from agentsearch.envs.alfworld import ALFWorldEnv
from agentsearch.envs.alfworld.differential import INVALID_COMMANDS, DiffReport, compare_games
from agentsearch.envs.alfworld.games import GameCatalog, GameRecord
from agentsearch.envs.alfworld.generate import GenerationStats, generate_game


def _walk(env: ALFWorldEnv, rng: random.Random, steps: int) -> list[str]:
    commands = []
    for _ in range(steps):
        valid = env.info["valid_actions"]
        if rng.random() < 0.1:
            command = rng.choice(INVALID_COMMANDS)
        else:
            non_go = [a for a in valid if not a.startswith("go to")]
            command = rng.choice(non_go if non_go and rng.random() < 0.5 else valid)
        commands.append(command)
        if env.step(command)[2]:
            break
    return commands


def step_times(
    engine: str, task_ids: list[str], steps: int, seed: int
) -> tuple[list[float], dict[str, list[str]]]:
    env = ALFWorldEnv(engine=engine, split="test", max_steps=10_000)
    times: list[float] = []
    walks: dict[str, list[str]] = {}
    for task_id in task_ids:
        env.reset(options={"task_id": task_id})
        walks[task_id] = _walk(env, random.Random(f"{seed}-{task_id}"), steps)
        env.reset(options={"task_id": task_id})
        for command in walks[task_id]:
            t0 = time.perf_counter()
            env.step(command)
            times.append(time.perf_counter() - t0)
    return times, walks


def branching(
    engine: str, task_ids: list[str], walks: dict[str, list[str]], depth: int
) -> tuple[float, float]:
    """Median seconds of snapshot()+restore() and of reset()+replay of ``depth`` commands."""
    env = ALFWorldEnv(engine=engine, split="test", max_steps=10_000)
    snap_restore, replay = [], []
    for task_id in task_ids:
        prefix = walks[task_id][:depth]
        env.reset(options={"task_id": task_id})
        for command in prefix:
            env.step(command)
        for _ in range(20):
            t0 = time.perf_counter()
            snapshot = env.snapshot()
            env.restore(snapshot)
            snap_restore.append(time.perf_counter() - t0)
        for _ in range(3):
            t0 = time.perf_counter()
            env.reset(options={"task_id": task_id})
            for command in prefix:
                env.step(command)
            replay.append(time.perf_counter() - t0)
    return statistics.median(snap_restore), statistics.median(replay)


def generator_throughput(games: int, verify: bool) -> GenerationStats:
    from agentsearch.envs.alfworld.pddl import Vocabulary

    vocab = Vocabulary.from_alfworld()
    data = resources.files("alfworld") / "data"
    domain, grammar = (data / "alfred.pddl").read_text(), (data / "alfred.twl2").read_text()
    stats = GenerationStats()
    start = time.perf_counter()
    for index in range(games):
        # seed=1: fresh draws, not the shipped games (seed 0).
        generate_game("train", index, vocab, domain, grammar, seed=1, verify=verify, stats=stats)
        stats.games += 1
    stats.seconds = time.perf_counter() - start
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=8, help="houses with 30+ receptacles to time steps on")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--gen-games", type=int, default=12)
    parser.add_argument("--differential", type=int, default=0, help="games for the differential check")
    parser.add_argument("--diff-steps", type=int, default=30)
    parser.add_argument("--diff-start", type=int, default=0, help="skip this many games (to split a run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-speed", action="store_true", help="only the differential check")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()

    catalog = GameCatalog()
    all_ids = [t for split in ("test", "eval", "train") for t in catalog.task_ids(split)]
    big = [t for t in all_ids if len(catalog.get(t).spec["receptacles"]) >= 30][: args.games]
    receptacles = [len(catalog.get(t).spec["receptacles"]) for t in big]
    objects = [len(catalog.get(t).spec["objects"]) for t in big]
    print(
        f"houses: {len(big)} with {min(receptacles)}-{max(receptacles)} receptacles, "
        f"{min(objects)}-{max(objects)} objects"
    )
    figures: dict[str, float] = {}
    if not args.no_speed:
        speed_figures(big, args, figures)
    if args.differential:
        differential(catalog, args, figures)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=1)


def speed_figures(big: list[str], args: argparse.Namespace, figures: dict[str, float]) -> None:
    native, walks = step_times("native", big, args.steps, args.seed)
    real, _ = step_times("textworld", big, args.steps, args.seed)
    figures["native_step_median_ms"] = 1e3 * statistics.median(native)
    figures["native_step_p95_ms"] = 1e3 * statistics.quantiles(native, n=20)[-1]
    figures["textworld_step_median_ms"] = 1e3 * statistics.median(real)
    figures["step_speedup"] = statistics.median(real) / statistics.median(native)
    print(
        f"step median: native {figures['native_step_median_ms']:.3f} ms "
        f"(p95 {figures['native_step_p95_ms']:.3f}) [target <= 0.5 ms], "
        f"textworld {figures['textworld_step_median_ms']:.1f} ms, "
        f"native is {figures['step_speedup']:.0f}x faster ({len(native)} steps each)"
    )

    for engine in ("native", "textworld"):
        snap, replay = branching(engine, big[:4], walks, args.depth)
        figures[f"{engine}_snapshot_restore_ms"] = 1e3 * snap
        figures[f"{engine}_replay_depth{args.depth}_ms"] = 1e3 * replay
        figures[f"{engine}_replay_over_snapshot"] = replay / snap
        print(
            f"{engine}: snapshot+restore {1e3 * snap:.3f} ms, reset+replay of {args.depth} commands "
            f"{1e3 * replay:.1f} ms = {replay / snap:.0f}x"
        )

    for verify in (False, True):
        stats = generator_throughput(args.gen_games, verify)
        key = "generator_games_per_min" + ("_verified" if verify else "")
        figures[key] = stats.games_per_minute
        print(
            f"generator: {stats.games_per_minute:.1f} planner-solved games/min "
            f"({'with' if verify else 'without'} the real engine's replay; {stats.rejected} rejected draws)"
        )


def differential(catalog: GameCatalog, args: argparse.Namespace, figures: dict[str, float]) -> None:
    if args.differential:
        per_split = {s: catalog.task_ids(s) for s in ("test", "eval", "train")}
        ids = [t for group in zip(*per_split.values(), strict=False) for t in group]
        ids = ids[args.diff_start : args.diff_start + args.differential]
        t0 = time.perf_counter()

        def progress(record: GameRecord, report: DiffReport) -> None:
            print(
                f"  {report.games}/{len(ids)} games, {report.steps} steps, "
                f"{len(report.mismatches)} mismatches",
                flush=True,
            )

        report = compare_games(
            [catalog.get(t) for t in ids], catalog.vocab, args.diff_steps, seed=args.seed, on_game=progress
        )
        figures.update(
            differential_games=report.games,
            differential_steps=report.steps,
            differential_invalid=report.invalid_commands,
            differential_wins=report.wins,
            differential_mismatches=len(report.mismatches),
        )
        print(
            f"differential: {report.games} games, {report.steps} steps ({report.invalid_commands} invalid "
            f"commands, {report.wins} games won), {len(report.mismatches)} mismatches "
            f"[target 0] in {time.perf_counter() - t0:.0f} s"
        )
        for mismatch in report.mismatches[:5]:
            print(f"  {mismatch}")


if __name__ == "__main__":
    main()
