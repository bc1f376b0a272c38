"""Seeded generator of ALFWorld games on ALFRED's own floor plans.

Each game is a household scene plus one task of the six ALFWorld types, kept only when it is solved:
its shortest plan (``planner.shortest_plan``, exact for ALFWorld's goal shapes, milliseconds where
fast-downward needs minutes and gigabytes on these houses) is stored as the walkthrough and replayed on
the real engine (``textworld`` ``PddlEnv``), which must report the win.

Scenes come from the receptacle layouts ALFRED ships in the ``alfworld`` wheel
(``alfworld/gen/layouts/FloorPlan*-openable.json``: each receptacle's THOR id and interaction pose, so
several receptacles share a location exactly where ALFRED's do), completed with the scene's other
receptacle classes (garbage can, stove burners, toaster ...) and filled with the scene's own object
classes (``FloorPlan*-objects.json``), 1-3 instances each, placed where ``canContain`` allows.

Splits mirror ALFWorld's: ``train`` and ``eval`` (ALFWorld's valid_seen: layouts seen in training) draw
from the same floor plans; ``test`` (valid_unseen) uses held-out floor plans only, among them ALFRED's
valid_unseen scenes 10, 219, 308 and 424.

Run it (resumable: finished games are kept and generation continues where it stopped)::

    python -m agentsearch.envs.alfworld.generate --out data/alfworld --train 600 --eval 140 --test 134
    gzip -n -9 data/alfworld/{train,eval,test}.jsonl   # shipped compressed
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentsearch.envs.alfworld.pddl import TASK_TYPES, Vocabulary, render_problem, thor_class

__all__ = ["GenerationStats", "SPLIT_SIZES", "TEST_FLOOR_PLANS", "generate_game", "generate_split", "main"]

logger = logging.getLogger(__name__)

ROOMS: dict[str, range] = {
    "kitchen": range(1, 31),
    "livingroom": range(201, 231),
    "bedroom": range(301, 331),
    "bathroom": range(401, 431),
}
#: Held-out layouts of the ``test`` split: ALFRED's valid_unseen scenes plus one more per room kind.
TEST_FLOOR_PLANS: frozenset[int] = frozenset({10, 219, 308, 424, 2, 203, 303, 403})

#: Room kinds where each task type can occur (``alfworld.gen.constants.GOALS_VALID``).
TASK_ROOMS: dict[str, tuple[str, ...]] = {
    "pick_and_place_simple": ("kitchen", "livingroom", "bathroom", "bedroom"),
    "pick_two_obj_and_place": ("kitchen", "livingroom", "bathroom", "bedroom"),
    "look_at_obj_in_light": ("livingroom", "bedroom"),
    "pick_clean_then_place_in_recep": ("kitchen", "bathroom"),
    "pick_heat_then_place_in_recep": ("kitchen",),
    "pick_cool_then_place_in_recep": ("kitchen",),
}

#: Games per task type and split; ``test`` follows ReAct's valid_unseen counts (134 games).
SPLIT_SIZES: dict[str, dict[str, int]] = {
    "train": {t: 100 for t in TASK_TYPES.values()},
    "eval": {
        "pick_and_place_simple": 25,
        "pick_clean_then_place_in_recep": 32,
        "pick_heat_then_place_in_recep": 24,
        "pick_cool_then_place_in_recep": 22,
        "look_at_obj_in_light": 19,
        "pick_two_obj_and_place": 18,
    },
    "test": {
        "pick_and_place_simple": 24,
        "pick_clean_then_place_in_recep": 31,
        "pick_heat_then_place_in_recep": 23,
        "pick_cool_then_place_in_recep": 21,
        "look_at_obj_in_light": 18,
        "pick_two_obj_and_place": 17,
    },
}

TEMPLATES: dict[str, tuple[str, str]] = {
    "pick_and_place_simple": ("put a {obj} in {recep}", "put some {obj} on {recep}"),
    "look_at_obj_in_light": ("look at {obj} under the {toggle}", "examine the {obj} with the {toggle}"),
    "pick_clean_then_place_in_recep": (
        "put a clean {obj} in {recep}",
        "clean some {obj} and put it in {recep}",
    ),
    "pick_heat_then_place_in_recep": ("put a hot {obj} in {recep}", "heat some {obj} and put it in {recep}"),
    "pick_cool_then_place_in_recep": ("put a cool {obj} in {recep}", "cool some {obj} and put it in {recep}"),
    "pick_two_obj_and_place": ("put two {obj} in {recep}", "find two {obj} and put them in {recep}"),
}

MAX_CLASSES = 16
LAMP_HOSTS = ("SideTable", "Desk", "Dresser", "Shelf", "CoffeeTable", "DiningTable", "TVStand")
#: Extra copies of receptacle classes ALFRED's layout files leave out (class -> (count, shared locations)).
EXTRA_RECEPTACLES: dict[str, tuple[int, int]] = {"StoveBurner": (4, 2)}


def _layouts_dir() -> Path:
    import alfworld.gen

    return Path(alfworld.gen.__file__).parent / "layouts"


@dataclass(frozen=True)
class Scene:
    """A floor plan's fixed furniture: receptacles (THOR id, location index) and their poses."""

    floor_plan: int
    room: str
    locations: tuple[tuple[int, int, int, int], ...]
    receptacles: tuple[tuple[str, int], ...]
    object_classes: tuple[str, ...]


def _pose(values: Sequence[float]) -> tuple[int, int, int, int]:
    x, z, rotation, horizon = values
    return (round(x / 0.25), round(z / 0.25), int(rotation) // 90 % 4, int(horizon))


def _coord(rng: random.Random) -> str:
    return f"{rng.uniform(-3, 3):+06.2f}"


def load_scene(floor_plan: int, vocab: Vocabulary) -> Scene:
    """The receptacles of an ALFRED floor plan, completed deterministically (seeded by the plan)."""
    root = _layouts_dir()
    room = next(name for name, plans in ROOMS.items() if floor_plan in plans)
    openable = json.loads((root / f"FloorPlan{floor_plan}-openable.json").read_text())
    present = json.loads((root / f"FloorPlan{floor_plan}-objects.json").read_text())
    rng = random.Random(f"scene-{floor_plan}")
    locations: list[tuple[int, int, int, int]] = []
    receptacles: list[tuple[str, int]] = []

    def location_index(pose: tuple[int, int, int, int]) -> int:
        if pose not in locations:
            locations.append(pose)
        return locations.index(pose)

    for thor_id, values in sorted(openable.items()):
        if thor_class(thor_id) in vocab.can_contain and thor_class(thor_id) not in vocab.receptacle_objects:
            receptacles.append((thor_id, location_index(_pose(values))))
    have = {thor_class(rid) for rid, _ in receptacles}
    for cls in sorted(set(present)):
        if cls in have or cls not in vocab.can_contain or cls in vocab.receptacle_objects:
            continue
        if cls in ("SinkBasin", "BathtubBasin"):
            continue  # served by the Sink|...|SinkBasin ids of the layout
        count, shared = EXTRA_RECEPTACLES.get(cls, (1, 1))
        poses = [(rng.randint(-12, 12), rng.randint(-12, 12), rng.randint(0, 3), 30) for _ in range(shared)]
        for i in range(count):
            thor_id = f"{cls}|{_coord(rng)}|{_coord(rng)}|{_coord(rng)}"
            receptacles.append((thor_id, location_index(poses[i % shared])))
    if "Bathtub" in present and "BathtubBasin" in present and "BathtubBasin" not in have:
        thor_id = f"Bathtub|{_coord(rng)}|{_coord(rng)}|{_coord(rng)}|BathtubBasin"
        receptacles.append((thor_id, location_index((rng.randint(-12, 12), rng.randint(-12, 12), 0, 30))))
    pickable = {o for objs in vocab.can_contain.values() for o in objs}
    classes = sorted(
        c
        for c in set(present)
        if (c in pickable and (c not in vocab.can_contain or c in vocab.receptacle_objects))
        or c in vocab.toggleable
    )
    return Scene(floor_plan, room, tuple(locations), tuple(receptacles), tuple(classes))


def _place_objects(scene: Scene, vocab: Vocabulary, rng: random.Random) -> list[tuple[str, int]]:
    objects: list[tuple[str, int]] = []
    # ALFWorld scenes hold 20-45 objects; a random subset of the floor plan's classes keeps them there.
    classes = [
        c
        for c in scene.object_classes
        if c in vocab.toggleable or rng.random() < MAX_CLASSES / max(MAX_CLASSES, len(scene.object_classes))
    ]
    for cls in classes:
        if cls in vocab.toggleable:
            hosts = [i for i, (rid, _) in enumerate(scene.receptacles) if thor_class(rid) in LAMP_HOSTS]
            count = 1
        else:
            hosts = [
                i
                for i, (rid, _) in enumerate(scene.receptacles)
                if cls in vocab.can_contain.get(thor_class(rid), ())
            ]
            count = rng.choice((1, 1, 2, 3))
        for _ in range(count if hosts else 0):
            ri = rng.choice(hosts)
            rid = scene.receptacles[ri][0]
            base = rid.split("|")[1:4]
            coords = "|".join(f"{float(c) + rng.uniform(-0.3, 0.3):+06.2f}" for c in base)
            objects.append((f"{cls}|{coords}", ri))
    return objects


def _choose_task(
    task_type: str, scene: Scene, objects: list[tuple[str, int]], vocab: Vocabulary, rng: random.Random
) -> dict[str, Any] | None:
    obj_count: dict[str, int] = {}
    for oid, _ in objects:
        obj_count[thor_class(oid)] = obj_count.get(thor_class(oid), 0) + 1
    recep_classes = sorted({thor_class(rid) for rid, _ in scene.receptacles})
    need = {
        "pick_clean_then_place_in_recep": ("SinkBasin", vocab.cleanable),
        "pick_heat_then_place_in_recep": ("Microwave", vocab.heatable),
        "pick_cool_then_place_in_recep": ("Fridge", vocab.coolable),
    }
    if task_type == "look_at_obj_in_light":
        lamps = sorted(c for c in obj_count if c in vocab.toggleable)
        portable = sorted(c for c in obj_count if c not in vocab.toggleable)
        if not lamps or not portable:
            return None
        return {
            "object_target": rng.choice(portable),
            "parent_target": "",
            "toggle_target": rng.choice(lamps),
            "mrecep_target": "",
            "object_sliced": False,
        }
    candidates = []
    for obj, n in obj_count.items():
        if obj in vocab.toggleable or (task_type == "pick_two_obj_and_place" and n < 2):
            continue
        if task_type in need:
            appliance, able = need[task_type]
            if appliance not in recep_classes or obj not in able:
                continue
        for recep in recep_classes:
            if obj not in vocab.can_contain.get(recep, ()):
                continue
            if task_type in need and recep == need[task_type][0]:
                continue  # "put a cool apple in fridge" is trivially solved by the cooling step's location
            inside = sum(
                1
                for oid, ri in objects
                if thor_class(oid) == obj and thor_class(scene.receptacles[ri][0]) == recep
            )
            if task_type in ("pick_and_place_simple", "pick_two_obj_and_place") and inside:
                continue  # already (partly) solved at the start
            candidates.append((obj, recep))
    if not candidates:
        return None
    obj, recep = rng.choice(sorted(candidates))
    return {
        "object_target": obj,
        "parent_target": recep,
        "toggle_target": "",
        "mrecep_target": "",
        "object_sliced": False,
    }


def sample_spec(
    split: str, index: int, task_type: str, vocab: Vocabulary, *, seed: int = 0, attempt: int = 0
) -> dict[str, Any] | None:
    """Draw one game spec (without walkthrough) for ``split``; ``None`` when the draw has no valid task."""
    rng = random.Random(f"{seed}-{split}-{index}-{attempt}")
    rooms = TASK_ROOMS[task_type]
    plans = [p for room in rooms for p in ROOMS[room] if (p in TEST_FLOOR_PLANS) == (split == "test")]
    scene = load_scene(rng.choice(plans), vocab)
    objects = _place_objects(scene, vocab, rng)
    params = _choose_task(task_type, scene, objects, vocab, rng)
    if params is None:
        return None
    template = rng.choice(TEMPLATES[task_type])
    goal = template.format(
        obj=params["object_target"].lower(),
        recep=params["parent_target"].lower(),
        toggle=params["toggle_target"].lower(),
    )
    used = {pose for _, li in scene.receptacles for pose in [scene.locations[li]]}
    while True:
        start = (rng.randint(-12, 12), rng.randint(-12, 12), rng.randint(0, 3), 30)
        if start not in used:
            break
    return {
        "id": f"{split}-{index:04d}",
        "floor_plan": scene.floor_plan,
        "room": scene.room,
        "task_type": task_type,
        "params": params,
        "goal": goal,
        "start": list(start),
        "locations": [list(p) for p in scene.locations],
        "receptacles": [list(r) for r in scene.receptacles],
        "objects": [list(o) for o in objects],
    }


def task_type_schedule(split: str) -> list[str]:
    """The task type of each game index of ``split`` (interleaved, so any prefix is balanced)."""
    counts = dict(SPLIT_SIZES[split])
    order: list[str] = []
    while any(counts.values()):
        for task_type in TASK_TYPES.values():
            if counts[task_type]:
                order.append(task_type)
                counts[task_type] -= 1
    return order


@dataclass
class GenerationStats:
    games: int = 0
    rejected: int = 0
    seconds: float = 0.0

    @property
    def games_per_minute(self) -> float:
        return 60.0 * self.games / self.seconds if self.seconds else 0.0


def generate_game(
    split: str,
    index: int,
    vocab: Vocabulary,
    domain: str,
    grammar: str,
    *,
    seed: int = 0,
    max_attempts: int = 50,
    verify: bool = True,
    stats: GenerationStats | None = None,
) -> dict[str, Any]:
    """Draw specs for game ``index`` of ``split`` until one is solved; return it with its walkthrough.

    The walkthrough is the shortest plan (:func:`~agentsearch.envs.alfworld.planner.shortest_plan`);
    with ``verify`` the real engine replays it from reset and must report ``won``.
    """
    from agentsearch.envs.alfworld.native import NativeGame, World
    from agentsearch.envs.alfworld.pddl import parse_problem
    from agentsearch.envs.alfworld.planner import shortest_plan

    task_type = task_type_schedule(split)[index]
    for attempt in range(max_attempts):
        spec = sample_spec(split, index, task_type, vocab, seed=seed, attempt=attempt)
        plan = None
        if spec is not None:
            problem = render_problem(spec, vocab)
            native = NativeGame(World.from_problem(parse_problem(problem)), spec["goal"])
            plan = shortest_plan(native, task_type, spec["params"])
        if plan and verify:
            plan = plan if _real_engine_wins(domain, grammar, spec, problem, plan) else None
        if plan:
            spec["walkthrough"] = plan
            return spec
        if stats:
            stats.rejected += 1
    raise RuntimeError(f"no solvable game for {split} index {index} after {max_attempts} attempts")


def _real_engine_wins(domain: str, grammar: str, spec: dict[str, Any], problem: str, plan: list[str]) -> bool:
    from agentsearch.envs.alfworld.real import RealGame

    game = {
        "pddl_domain": domain,
        "grammar": grammar.replace("UNKNOWN GOAL", spec["goal"]),
        "pddl_problem": problem,
        "walkthrough": plan,
    }
    try:
        real = RealGame(game, fast_load=True)
        real.reset()
        won = False
        for command in plan:
            _, _, won = real.step(command)
    except Exception as exc:  # noqa: BLE001 - a game the engine cannot play is rejected
        logger.warning("real engine rejected %s: %r", spec["id"], exc)
        return False
    return bool(won)


def generate_split(
    out: Path, split: str, count: int, *, seed: int = 0, verify: bool = True, vocab: Vocabulary | None = None
) -> Iterator[GenerationStats]:
    """Append games to ``out/<split>.jsonl`` until it holds ``count``; yields running stats per game."""
    from importlib import resources

    vocab = vocab or Vocabulary.from_alfworld()
    data = resources.files("alfworld") / "data"
    domain = (data / "alfred.pddl").read_text()
    grammar = (data / "alfred.twl2").read_text()
    path = out / f"{split}.jsonl"
    done = sum(1 for line in path.read_text().splitlines() if line.strip()) if path.exists() else 0
    stats = GenerationStats()
    with path.open("a") as fh:
        for index in range(done, min(count, len(task_type_schedule(split)))):
            t0 = time.perf_counter()
            spec = generate_game(split, index, vocab, domain, grammar, seed=seed, verify=verify, stats=stats)
            fh.write(json.dumps(spec, separators=(",", ":")) + "\n")
            fh.flush()  # a killed run loses at most the game in progress
            stats.games += 1
            stats.seconds += time.perf_counter() - t0
            yield stats


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/alfworld"))
    parser.add_argument("--train", type=int, default=600)
    parser.add_argument("--eval", type=int, default=140)
    parser.add_argument("--test", type=int, default=134)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--splits", nargs="*", default=["test", "eval", "train"])
    parser.add_argument(
        "--no-verify", action="store_true", help="skip the real engine's replay of each walkthrough"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    vocab = Vocabulary.from_alfworld()
    (args.out / "vocab.json").write_text(json.dumps(vocab.to_json(), indent=1, sort_keys=True) + "\n")
    from tqdm import tqdm

    for split in args.splits:
        count = getattr(args, split)
        stats = None
        verify = not args.no_verify
        progress = generate_split(args.out, split, count, seed=args.seed, verify=verify, vocab=vocab)
        for running in tqdm(progress, desc=split):
            stats = running
        if stats:
            print(
                f"{split}: {stats.games} new games, {stats.rejected} rejected draws, "  # noqa: T201
                f"{stats.games_per_minute:.1f} games/min"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
