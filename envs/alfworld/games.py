"""Where ALFWorld games come from: the shipped generated specs, or ALFWorld's official game files.

* **Shipped** (default): ``data/alfworld/{train,eval,test}.jsonl.gz`` (one compact game spec per line, see
  :mod:`~agentsearch.envs.alfworld.generate`, which writes them uncompressed; a plain ``<split>.jsonl``
  is read when there is one) and ``vocab.json``; the PDDL problem is rendered on demand.
* **Official**: with ``$ALFWORLD_DATA`` (or ``data_dir=``) pointing at a folder that holds
  ``json_2.1.x/{train,valid_seen,valid_unseen}`` (``alfworld-download``), the games of those folders,
  filtered as ``AlfredTWEnv.collect_game_files`` does (six task types, no movable/sliced variants,
  ``"solvable": true``). Split mapping: ``train`` -> train, ``valid_seen`` -> ``eval``,
  ``valid_unseen`` -> ``test``.

Both give :class:`GameRecord` values; :func:`tw_pddl` writes the standard ``.tw-pddl`` dict either way.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from agentsearch.envs.alfworld.native import World
from agentsearch.envs.alfworld.pddl import TASK_TYPES, Vocabulary, parse_problem, render_problem
from agentsearch.errors import ConfigError, DataFileError
from agentsearch.files import open_maybe_gzipped
from agentsearch.paths import data_dir

logger = logging.getLogger(__name__)

__all__ = [
    "GameCatalog",
    "GameRecord",
    "WORDINGS",
    "grammar_text",
    "reword",
    "tw_pddl",
    "write_game_folder",
]

WORDINGS = ("0.4", "0.3")
#: The wording of the shipped games' walkthroughs (the generator plans on the 0.4 engine).
SHIPPED_WALKTHROUGH_WORDING = "0.4"
# The one command the two wordings spell differently: 0.4's "move X to Y" is 0.3's "put X in/on Y".
_PLACE = {"0.4": re.compile(r"move (.+?) to (.+)"), "0.3": re.compile(r"put (.+?) in/on (.+)")}
_PLACE_TEMPLATE = {"0.4": "move {} to {}", "0.3": "put {} in/on {}"}
OFFICIAL_SPLITS = {"train": "train", "eval": "valid_seen", "test": "valid_unseen"}


@dataclass(frozen=True)
class GameRecord:
    """One game: its task, its PDDL problem (rendered lazily for shipped specs) and its walkthrough.

    Attributes:
        task_id: ``train-0042`` for shipped games; the trial folder (``valid_unseen/<task>/trial_...``)
            for official ones.
        goal: the task sentence without the final period (``put a hot apple in fridge``).
        task_type: one of :data:`~agentsearch.envs.alfworld.pddl.TASK_TYPES`' values.
        params: ALFRED ``pddl_params`` (``object_target``, ``parent_target``, ``toggle_target`` ...).
        walkthrough: the stored winning command list (``None`` when the game file has none).
        source: the file it came from (for error messages).
        grammar: the game file's own grammar (official games); ``None`` means the packaged one.
    """

    task_id: str
    goal: str
    task_type: str
    params: Mapping[str, Any]
    walkthrough: tuple[str, ...] | None
    source: str
    spec: Mapping[str, Any] | None = field(default=None, repr=False)
    problem_text: str | None = field(default=None, repr=False)
    grammar: str | None = field(default=None, repr=False)

    def walkthrough_in(self, wording: str) -> list[str] | None:
        """The walkthrough in the commands of the game as played in ``wording``.

        An official game file plays in its own grammar, which its walkthrough already speaks; a shipped
        game plays in ``wording`` and its walkthrough is reworded from the generator's.
        """
        if self.walkthrough is None:
            return None
        if self.grammar is not None:
            return list(self.walkthrough)
        return [reword(command, SHIPPED_WALKTHROUGH_WORDING, wording) for command in self.walkthrough]

    def problem(self, vocab: Vocabulary | None) -> str:
        if self.problem_text is not None:
            return self.problem_text
        assert self.spec is not None and vocab is not None
        return render_problem(self.spec, vocab)


def native_world(record: GameRecord, vocab: Vocabulary | None) -> World | None:
    """The game's world for the native engine; ``None`` for a stored problem only textworld parses.

    Raises:
        DataFileError: a game generated from a spec whose problem does not parse (a bad data file).
    """
    try:
        return World.from_problem(parse_problem(record.problem(vocab)))
    except ValueError as exc:
        if record.problem_text is None:
            raise DataFileError(record.source, None, f"game {record.task_id}: {exc}") from exc
        logger.info("%s: the native engine cannot parse it (%s); using textworld", record.task_id, exc)
        return None


@functools.cache
def _packaged_text(name: str) -> str:
    return (resources.files("alfworld") / "data" / name).read_text()


def grammar_text(goal: str, wording: str = "0.4") -> str:
    """ALFWorld's ``alfred.twl2`` with the task sentence filled in, in the chosen wording.

    ``"0.3"`` turns the 0.4.x grammar into the wording of the game files older releases shipped and
    published ReAct/ETO prompts use: ``put X in/on Y`` (``You put the X in/on the Y.``), and ``go to``
    answers with the receptacle view alone (0.3.x printed ``You arrive at loc N.`` first, which those
    prompts strip).
    """
    if wording not in WORDINGS:
        raise ConfigError(f"Unknown ALFWorld wording {wording!r}; expected one of {WORDINGS}.")
    text = _packaged_text("alfred.twl2").replace("UNKNOWN GOAL", goal)
    if wording == "0.3":
        text = text.replace('template :: "move {o} to {r}";', 'template :: "put {o} in/on {r}";')
        text = text.replace(
            '"rhs": "You move the {o.name} to the {r.name}."',
            '"rhs": "You put the {o.name} in/on the {r.name}."',
        )
        text = text.replace(
            '"rhs": "You arrive at {r.name}. #examineReceptacle.feedback#"',
            '"rhs": "#examineReceptacle.feedback#"',
        )
        text = text.replace("move (object) to (receptacle):  place", "put (object) in/on (receptacle): place")
    return text


def reword(command: str, source: str, target: str) -> str:
    """``command`` written in wording ``source``, as wording ``target`` spells it (others unchanged).

    >>> reword("move cd 1 to garbagecan 1", "0.4", "0.3")
    'put cd 1 in/on garbagecan 1'
    """
    match = _PLACE[source].fullmatch(command)
    return _PLACE_TEMPLATE[target].format(*match.groups()) if match else command


def domain_text() -> str:
    """ALFWorld's ``alfred.pddl`` as shipped in the ``alfworld`` wheel."""
    return _packaged_text("alfred.pddl")


def tw_pddl(record: GameRecord, vocab: Vocabulary | None, wording: str = "0.4") -> dict[str, Any]:
    """The standard ``.tw-pddl`` dict of a game (what ``PddlEnv.load`` and ``AlfredTWEnv`` read)."""
    grammar = record.grammar if record.grammar is not None else grammar_text(record.goal, wording)
    return {
        "pddl_domain": domain_text(),
        "grammar": grammar,
        "pddl_problem": record.problem(vocab),
        "solvable": True,
        "walkthrough": list(record.walkthrough) if record.walkthrough is not None else None,
    }


def write_game_folder(record: GameRecord, vocab: Vocabulary | None, folder: str | Path) -> Path:
    """Write ``game.tw-pddl`` + ``traj_data.json`` + ``initial_state.pddl`` as ALFWorld's loader expects.

    The folder is named like ALFWorld's (``<task_type>-<Obj>-None-<Recep>-<scene>/trial_<id>``).
    """
    p = record.params
    scene = record.spec.get("floor_plan", 0) if record.spec else 0
    target = p.get("parent_target", "") or p.get("toggle_target", "")
    name = f"{record.task_type}-{p.get('object_target', '')}-None-{target}-{scene}"
    trial = Path(folder) / name / f"trial_{record.task_id}"
    trial.mkdir(parents=True, exist_ok=True)
    game = tw_pddl(record, vocab)
    (trial / "game.tw-pddl").write_text(json.dumps(game))
    (trial / "initial_state.pddl").write_text(game["pddl_problem"])
    traj = {
        "task_type": record.task_type,
        "pddl_params": {
            "object_target": p.get("object_target", ""),
            "parent_target": p.get("parent_target", ""),
            "toggle_target": p.get("toggle_target", ""),
            "mrecep_target": p.get("mrecep_target", ""),
            "object_sliced": bool(p.get("object_sliced", False)),
        },
        "scene": {"floor_plan": f"FloorPlan{scene}"},
        "task_id": record.task_id,
    }
    (trial / "traj_data.json").write_text(json.dumps(traj))
    return trial


# ------------------------------------------------------------------------------------------ catalogs
def official_root(explicit: str | Path | None = None) -> Path | None:
    """The ``json_2.1.x`` folder under ``explicit`` or ``$ALFWORLD_DATA``, if it holds game splits."""
    base = explicit if explicit is not None else os.environ.get("ALFWORLD_DATA")
    if not base:
        return None
    base = Path(base)
    candidates = [base] if (base / "valid_unseen").is_dir() else sorted(base.glob("json_2.1.*"), reverse=True)
    for candidate in candidates:
        if any((candidate / split).is_dir() for split in OFFICIAL_SPLITS.values()):
            return candidate
    return None


_TASK_RULE = re.compile(r'"rhs":\s*"Your task is to: (.*?)\.?"\s*}')


class GameCatalog:
    """The games of all splits, by task id; loads lazily and validates each file it reads.

    Args:
        root: a folder of shipped specs (default: the packaged ``data/alfworld``); ignored when
            ``official`` is given.
        official: a ``json_2.1.x`` folder of ALFWorld's own games (see :func:`official_root`).
    """

    def __init__(self, root: str | Path | None = None, official: Path | None = None) -> None:
        self.official = official
        self.root = Path(root) if root is not None else data_dir("alfworld")
        self._records: dict[str, GameRecord] = {}
        self._splits: dict[str, list[str]] = {}
        self._vocab: Vocabulary | None = None

    @property
    def vocab(self) -> Vocabulary | None:
        if self.official is not None:
            return None
        if self._vocab is None:
            self._vocab = Vocabulary.load(self.root / "vocab.json")
        return self._vocab

    def task_ids(self, split: str) -> list[str]:
        if split not in self._splits:
            if self.official is not None:
                self._splits[split] = self._load_official(split)
            else:
                self._splits[split] = self._load_shipped(split)
        return self._splits[split]

    def get(self, task_id: str) -> GameRecord:
        if task_id not in self._records:
            for split in OFFICIAL_SPLITS:
                self.task_ids(split)
        return self._records[task_id]

    def __contains__(self, task_id: str) -> bool:
        if task_id not in self._records:
            for split in OFFICIAL_SPLITS:
                self.task_ids(split)
        return task_id in self._records

    # ------------------------------------------------------------------ shipped specs
    def _load_shipped(self, split: str) -> list[str]:
        path = self.root / f"{split}.jsonl"
        if not path.exists():
            path = path.with_name(f"{split}.jsonl.gz")
        if not path.exists():
            return []
        ids = []
        with open_maybe_gzipped(path) as fh:
            for line_no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    spec = json.loads(line)
                    record = _record_from_spec(spec, str(path))
                except (ValueError, KeyError, TypeError) as exc:
                    raise DataFileError(path, line_no, f"not an ALFWorld game spec ({exc})") from exc
                self._records[record.task_id] = record
                ids.append(record.task_id)
        return ids

    # ------------------------------------------------------------------ official game files
    def _load_official(self, split: str) -> list[str]:
        assert self.official is not None
        folder = self.official / OFFICIAL_SPLITS[split]
        if not folder.is_dir():
            return []
        ids = []
        for root, _dirs, files in sorted(os.walk(folder)):
            if "traj_data.json" not in files or "game.tw-pddl" not in files:
                continue
            if "movable" in root or "Sliced" in root:
                continue
            record = load_game_file(
                Path(root) / "game.tw-pddl", task_id=str(Path(root).relative_to(self.official))
            )
            if record is None:
                continue
            self._records[record.task_id] = record
            ids.append(record.task_id)
        return ids


def _record_from_spec(spec: Mapping[str, Any], source: str) -> GameRecord:
    for key in ("id", "goal", "task_type", "params", "locations", "start", "receptacles", "objects"):
        if key not in spec:
            raise KeyError(f"missing field {key!r}")
    if spec["task_type"] not in TASK_TYPES.values():
        raise ValueError(f"unknown task_type {spec['task_type']!r}")
    walkthrough = spec.get("walkthrough")
    if walkthrough is not None and not (
        isinstance(walkthrough, list) and all(isinstance(c, str) for c in walkthrough)
    ):
        raise ValueError("walkthrough must be a list of strings")
    return GameRecord(
        task_id=str(spec["id"]),
        goal=str(spec["goal"]),
        task_type=spec["task_type"],
        params=dict(spec["params"]),
        walkthrough=tuple(walkthrough) if walkthrough else None,
        source=source,
        spec=spec,
    )


def load_game_file(path: Path, task_id: str | None = None) -> GameRecord | None:
    """Read an official ``game.tw-pddl`` (+ ``traj_data.json``); ``None`` for unsolvable/excluded games.

    Raises:
        DataFileError: the file is not valid JSON or lacks the fields every game file has.
    """
    try:
        game = json.loads(path.read_text())
        traj = json.loads((path.parent / "traj_data.json").read_text())
    except (OSError, ValueError) as exc:
        raise DataFileError(path, None, f"unreadable ALFWorld game ({exc})") from exc
    if not isinstance(game, dict) or not all(k in game for k in ("pddl_problem", "grammar")):
        raise DataFileError(path, None, "a game file needs 'pddl_problem' and 'grammar'")
    if not game.get("solvable", False) or traj.get("task_type") not in TASK_TYPES.values():
        return None
    match = _TASK_RULE.search(game["grammar"])
    goal = match.group(1) if match else ""
    walkthrough = game.get("walkthrough")
    return GameRecord(
        task_id=task_id or str(path.parent),
        goal=goal,
        task_type=traj["task_type"],
        params=dict(traj.get("pddl_params", {})),
        walkthrough=tuple(walkthrough) if walkthrough else None,
        source=str(path),
        problem_text=game["pddl_problem"],
        grammar=game["grammar"],
    )


def wording_of_grammar(grammar: str, goal: str) -> str | None:
    """Which of :data:`WORDINGS` a game file's grammar is (``None``: neither; play it on the real engine)."""
    for wording in WORDINGS:
        if grammar == grammar_text(goal, wording):
            return wording
    return None
