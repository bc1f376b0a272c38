"""PDDL problems of the ALFRED domain: render them from compact game specs, and parse them back.

A *game spec* is the compact record shipped in ``data/alfworld/*.jsonl`` (one line per game): the
receptacles and objects of one scene with their THOR-style ids, their interaction locations, the task and
its walkthrough. :func:`render_problem` turns it into the ``initial_state.pddl`` text ALFWorld's engine
reads, using the per-class properties of :class:`Vocabulary` (``alfworld.gen.constants``), so the
repository never ships hundreds of copies of PDDL text. :func:`parse_problem` reads any ALFRED problem
(ours or the official ``json_2.1.x`` ones) into plain Python values for the native simulator.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "GOAL_PDDL",
    "TASK_TYPES",
    "ParsedProblem",
    "Vocabulary",
    "goal_pddl",
    "mangle",
    "parse_problem",
    "parse_sexpr",
    "render_problem",
]

#: ALFWorld's six task types (``alfworld/agents/environment/alfred_tw_env.py::TASK_TYPES``), by id.
TASK_TYPES: dict[int, str] = {
    1: "pick_and_place_simple",
    2: "look_at_obj_in_light",
    3: "pick_clean_then_place_in_recep",
    4: "pick_heat_then_place_in_recep",
    5: "pick_cool_then_place_in_recep",
    6: "pick_two_obj_and_place",
}

# The goal blocks of ``alfworld/gen/goal_library.py`` (after its ``#`` -> ``-`` fix-up), written out so
# rendering needs no alfworld import; tests compare them with the installed library.
_PLACE = """(:goal
    (and
        (exists (?r - receptacle)
            (exists (?o - object)
                (and
                    {extra}(objectType ?o {obj}Type)
                    (receptacleType ?r {recep}Type)
                    {state}(inReceptacle ?o ?r)
                )
            )
        )
    )
)"""
GOAL_PDDL: dict[str, str] = {
    "pick_and_place_simple": """(:goal
    (and
        (exists (?r - receptacle)
            (exists (?o - object)
                (and
                    (inReceptacle ?o ?r)
                    (objectType ?o {obj}Type)
                    (receptacleType ?r {recep}Type)
                )
            )
        )
    )
)""",
    "pick_clean_then_place_in_recep": _PLACE.replace(
        "{extra}", "(cleanable ?o)\n                    "
    ).replace("{state}", "(isClean ?o)\n                    "),
    "pick_heat_then_place_in_recep": _PLACE.replace("{extra}", "(heatable ?o)\n                    ").replace(
        "{state}", "(isHot ?o)\n                    "
    ),
    "pick_cool_then_place_in_recep": _PLACE.replace("{extra}", "(coolable ?o)\n                    ").replace(
        "{state}", "(isCool ?o)\n                    "
    ),
    "look_at_obj_in_light": """(:goal
    (and
        (exists (?ot - object ?r - receptacle ?a - agent ?l - location)
            (and
                (objectType ?ot {toggle}Type)
                (toggleable ?ot)
                (isToggled ?ot)
                (receptacleAtLocation ?r ?l)
                (atLocation ?a ?l)
                (inReceptacle ?ot ?r)
            )
        )
        (exists (?o - object ?a - agent)
            (and
                (objectType ?o {obj}Type)
                (holds ?a ?o)
            )
        )
    )
)""",
    "pick_two_obj_and_place": """(:goal
    (and
        (exists (?r - receptacle)
            (exists (?o1 - object)
                (and
                    (objectType ?o1 {obj}Type)
                    (receptacleType ?r {recep}Type)
                    (inReceptacle ?o1 ?r)
                    (exists (?o2 - object)
                        (and
                            (not (= ?o1 ?o2))
                            (objectType ?o2 {obj}Type)
                            (receptacleType ?r {recep}Type)
                            (inReceptacle ?o2 ?r)
                        )
                    )
                )
            )
        )
    )
)""",
}

_MANGLE = {"-": "_minus_", "|": "_bar_", "+": "_plus_", ".": "_dot_", ",": "_comma_"}
_MANGLE_RE = re.compile("|".join(re.escape(k) for k in _MANGLE))


def mangle(thor_id: str) -> str:
    """THOR id -> PDDL name, as ALFRED does (``Apple|+01.00|-00.50`` -> ``Apple_bar__plus_01_dot_00...``)."""
    return _MANGLE_RE.sub(lambda m: _MANGLE[m.group(0)], thor_id)


def location_name(loc: Sequence[int]) -> str:
    """``[x, z, rotation, horizon]`` grid pose -> PDDL location name (``loc|x|z|r|h``, mangled)."""
    x, z, rotation, horizon = (int(v) for v in loc)
    return mangle(f"loc|{x}|{z}|{rotation}|{horizon}")


def thor_class(thor_id: str) -> str:
    """The ALFRED class of a THOR id; sinks and bathtubs are served by their basins."""
    parts = thor_id.split("|")
    if parts[-1] in ("SinkBasin", "BathtubBasin"):
        return parts[-1]
    return parts[0]


_CLASS_SETS = (
    "openable", "heatable", "coolable", "cleanable", "toggleable", "sliceable", "receptacle_objects")


@dataclass(frozen=True)
class Vocabulary:
    """Per-class properties from ``alfworld.gen.constants`` that the problem text spells out as facts.

    Attributes:
        can_contain: receptacle class -> object classes it accepts (``VAL_RECEPTACLE_OBJECTS``).
        openable: receptacle classes that open and close.
        heatable, coolable, cleanable, toggleable, sliceable: object classes (``VAL_ACTION_OBJECTS``).
        receptacle_objects: movable receptacles (Mug, Bowl ...), which ALFRED flags ``isReceptacleObject``.
    """

    can_contain: Mapping[str, frozenset[str]]
    openable: frozenset[str]
    heatable: frozenset[str]
    coolable: frozenset[str]
    cleanable: frozenset[str]
    toggleable: frozenset[str]
    sliceable: frozenset[str]
    receptacle_objects: frozenset[str]

    @classmethod
    def from_alfworld(cls) -> Vocabulary:
        """Read the vocabulary from the installed ``alfworld`` package (the generator's source)."""
        from alfworld.gen import constants as c

        actions = c.VAL_ACTION_OBJECTS
        return cls(
            can_contain={
                r: frozenset(o for o in objs if "Sliced" not in o)
                for r, objs in c.VAL_RECEPTACLE_OBJECTS.items()
            },
            openable=frozenset(c.OPENABLE_CLASS_LIST),
            heatable=frozenset(o for o in actions["Heatable"] if "Sliced" not in o),
            coolable=frozenset(o for o in actions["Coolable"] if "Sliced" not in o),
            cleanable=frozenset(o for o in actions["Cleanable"] if "Sliced" not in o),
            toggleable=frozenset(actions["Toggleable"]),
            sliceable=frozenset(actions["Sliceable"]),
            receptacle_objects=frozenset(c.MOVABLE_RECEPTACLES),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "can_contain": {r: sorted(objs) for r, objs in sorted(self.can_contain.items())},
            **{name: sorted(getattr(self, name)) for name in _CLASS_SETS},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Vocabulary:
        return cls(
            can_contain={r: frozenset(objs) for r, objs in data["can_contain"].items()},
            **{name: frozenset(data[name]) for name in _CLASS_SETS},
        )

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        from agentsearch.errors import DataFileError

        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DataFileError(path, None, f"not an ALFWorld vocabulary file ({exc!r})") from exc


def goal_pddl(task_type: str, params: Mapping[str, Any]) -> str:
    """The goal block of ``task_type`` filled with ``pddl_params`` (``object_target`` ...)."""
    return GOAL_PDDL[task_type].format(
        obj=params.get("object_target", ""),
        recep=params.get("parent_target", ""),
        toggle=params.get("toggle_target", ""),
    )


def render_problem(spec: Mapping[str, Any], vocab: Vocabulary) -> str:
    """The PDDL problem text of a game spec (see the module docstring for the spec's fields)."""
    locations = [location_name(loc) for loc in spec["locations"]]
    start = location_name(spec["start"])
    receptacles = [(mangle(rid), thor_class(rid), locations[li]) for rid, li in spec["receptacles"]]
    objects = [(mangle(oid), thor_class(oid), receptacles[ri]) for oid, ri in spec["objects"]]

    rtypes = sorted({cls for _, cls, _ in receptacles})
    otypes = sorted({cls for _, cls, _ in objects})
    lines = [
        f"(define (problem plan_{spec['id']})",
        "    (:domain alfred)",
        "    (:objects",
        "        agent1 - agent",
    ]
    lines += [f"        {name} - location" for name in sorted({*locations, start})]
    lines += [f"        {name} - receptacle" for name, _, _ in receptacles]
    lines += [f"        {name} - object" for name, _, _ in objects]
    lines += [f"        {cls}Type - rtype" for cls in rtypes]
    lines += [f"        {cls}Type - otype" for cls in otypes]
    lines += ["    )", "    (:init", f"        (atLocation agent1 {start})"]
    for name, cls, loc in receptacles:
        lines.append(f"        (receptacleType {name} {cls}Type)")
        lines.append(f"        (receptacleAtLocation {name} {loc})")
        if cls in vocab.openable:
            lines.append(f"        (openable {name})")
    for name, cls, (rname, _, rloc) in objects:
        lines.append(f"        (objectType {name} {cls}Type)")
        lines.append(f"        (inReceptacle {name} {rname})")
        lines.append(f"        (objectAtLocation {name} {rloc})")
        if cls in vocab.toggleable:
            lines.append(f"        (toggleable {name})")
            continue
        lines.append(f"        (pickupable {name})")
        for prop in ("heatable", "coolable", "cleanable", "sliceable"):
            if cls in getattr(vocab, prop):
                lines.append(f"        ({prop} {name})")
        if cls in vocab.receptacle_objects:
            lines.append(f"        (isReceptacleObject {name})")
    for rtype in rtypes:
        for otype in otypes:
            if otype in vocab.can_contain.get(rtype, ()):
                lines.append(f"        (canContain {rtype}Type {otype}Type)")
    lines.append("    )")
    lines.append(goal_pddl(spec["task_type"], spec["params"]))
    lines.append(")")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ parsing
SExpr = str | list["SExpr"]
_TOKEN_RE = re.compile(r"\(|\)|[^\s()]+")


def parse_sexpr(text: str) -> SExpr:
    """Parse one s-expression (PDDL, ``;`` comments allowed); atoms are lower-cased like fast-downward."""
    text = re.sub(r";[^\n]*", "", text)
    stack: list[list[SExpr]] = [[]]
    for token in _TOKEN_RE.findall(text):
        if token == "(":
            stack.append([])
        elif token == ")":
            if len(stack) == 1:
                raise ValueError("unbalanced ')'")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token.lower())
    if len(stack) != 1:
        raise ValueError("unbalanced '('")
    if len(stack[0]) != 1:
        raise ValueError(f"expected one expression, found {len(stack[0])}")
    return stack[0][0]


@dataclass(frozen=True)
class ParsedProblem:
    """An ALFRED PDDL problem as plain values (names lower-cased).

    Attributes:
        name: the problem name.
        objects: PDDL name -> type (``agent``, ``location``, ``receptacle``, ``object``, ``rtype`` ...).
        init: the initial atoms as tuples ``(predicate, *args)``; numeric fluents are dropped.
        goal: the goal formula as an s-expression.
    """

    name: str
    objects: dict[str, str]
    init: frozenset[tuple[str, ...]]
    goal: SExpr


def _typed_list(items: Sequence[SExpr]) -> Iterator[tuple[str, str]]:
    pending: list[str] = []
    it = iter(items)
    for item in it:
        if item == "-":
            type_ = next(it)
            if not isinstance(type_, str):
                raise ValueError("bad type in :objects")
            yield from ((name, type_) for name in pending)
            pending = []
        elif isinstance(item, str):
            pending.append(item)
        else:
            raise ValueError("nested list in :objects")
    yield from ((name, "object") for name in pending)


def parse_problem(text: str) -> ParsedProblem:
    """Parse an ALFRED problem; raises ``ValueError`` on anything it does not understand."""
    tree = parse_sexpr(text)
    if not isinstance(tree, list) or not tree or tree[0] != "define":
        raise ValueError("not a (define ...) form")
    name, objects, init, goal = "", {}, set(), None
    for part in tree[1:]:
        if not isinstance(part, list) or not part:
            raise ValueError(f"unexpected {part!r}")
        head = part[0]
        if head == "problem":
            name = str(part[1])
        elif head == ":objects":
            for obj, type_ in _typed_list(part[1:]):
                if obj in objects:
                    raise ValueError(f"object {obj!r} declared twice")
                objects[obj] = type_
        elif head == ":init":
            for atom in part[1:]:
                if not isinstance(atom, list) or not atom or atom[0] == "=":
                    continue  # numeric fluents (distances, costs) do not shape the text game
                if not all(isinstance(a, str) for a in atom):
                    raise ValueError(f"unexpected init atom {atom!r}")
                init.add(tuple(atom))
        elif head == ":goal":
            goal = part[1] if len(part) > 1 else ["and"]
    if goal is None:
        raise ValueError("no :goal")
    for atom in init:
        for arg in atom[1:]:
            if arg not in objects:
                raise ValueError(f"undeclared object {arg!r} in init atom {atom!r}")
    return ParsedProblem(name=name, objects=objects, init=frozenset(init), goal=goal)
