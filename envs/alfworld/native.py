"""A pure-Python twin of ALFWorld's engine: ``alfred.pddl`` dynamics with ``alfred.twl2`` text.

The real engine grounds PDDL operators with fast-downward and renders text with TextWorld's
context-sensitive grammar; this module computes the same results directly, so a step costs tens of
microseconds instead of tens of milliseconds. What "the same" means is fixed by the differential test
(``tests/envs/test_alfworld_differential.py`` and ``benchmarks/bench_alfworld.py``): identical
observations, admissible commands (same order), score and ``won`` on random walks.

Facts of the real engine this twin reproduces, quirks included:

* names come from ALFWorld's demangler: class prefix (``+basin`` for sink/bathtub basins), numbered over
  the *sorted* lower-cased ids from the highest number down;
* grammar lists follow the sorted order of the facts they enumerate; ``, and`` precedes the last item
  even for two; the article is always ``a``;
* TextWorld keeps negated effect atoms as ``not_*`` facts; ``look`` lists an object "next to" a
  receptacle when it sits at the location with a ``not_inreceptacle`` fact for a receptacle there
  (an object moved between receptacles sharing a location), once per such receptacle;
* an un-toggled lamp examines as "nothing special" (no ``not_istoggled`` fact ever exists);
* ``go to`` a receptacle at the agent's own location is not applicable (``Nothing happens.``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from agentsearch.envs.alfworld.pddl import ParsedProblem, SExpr

__all__ = ["HELP_TEXT", "NativeGame", "State", "World", "demangle_names"]

NOTHING_HAPPENS = "Nothing happens."

HELP_TEXT = (
    "Available commands:\n"
    "  look:                             look around your current location\n"
    "  inventory:                        check your current inventory\n"
    "  go to (receptacle):               move to a receptacle\n"
    "  open (receptacle):                open a receptacle\n"
    "  close (receptacle):               close a receptacle\n"
    "  take (object) from (receptacle):  take an object from a receptacle\n"
    "  move (object) to (receptacle):  place an object in or on a receptacle\n"
    "  examine (something):              examine a receptacle or an object\n"
    "  use (object):                     use an object\n"
    "  heat (object) with (receptacle):  heat an object using a receptacle\n"
    "  clean (object) with (receptacle): clean an object using a receptacle\n"
    "  cool (object) with (receptacle):  cool an object using a receptacle\n"
    "  slice (object) with (object):     slice an object using a sharp object\n"
)


def demangle_names(ids: Sequence[str]) -> dict[str, str]:
    """Display names of PDDL ids exactly as ``alfworld.agents.utils.misc.Demangler`` assigns them."""
    ordered = sorted(ids)
    counts: dict[str, int] = {}
    for id_ in ordered:
        parts = id_.split("_bar_", 1)
        if len(parts) > 1:
            name = parts[0] + ("basin" if "basin" in id_ else "")
            counts[name] = counts.get(name, 0) + 1
    remaining = {name: count for name, count in counts.items()}
    names: dict[str, str] = {}
    for id_ in ordered:
        text = id_.replace("_bar_", "|").replace("_minus_", "-").replace("_plus_", "+").replace("_dot_", ".")
        text = text.replace("_comma_", ",")
        parts = text.split("|", 1)
        if len(parts) == 1:
            names[id_] = f"{text} "
        else:
            name = parts[0] + ("basin" if "basin" in id_ else "")
            names[id_] = f"{name} {remaining[name]}"
            remaining[name] -= 1
    return names


def _listing(items: Sequence[str]) -> str:
    """TextWorld's list rendering: ``nothing`` / ``a x`` / ``a x, a y, and a z``."""
    if not items:
        return "nothing"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + ", and " + items[-1]


@dataclass(frozen=True)
class State:
    """The dynamic part of a game, as immutable values (a snapshot is this object itself).

    Indices refer to :class:`World` tables. ``not_in`` holds the ``not_inreceptacle`` facts TextWorld
    accumulates from pick-up effects (see the module docstring).
    """

    location: int
    held: frozenset[int]
    inside: frozenset[tuple[int, int]]
    not_in: frozenset[tuple[int, int]]
    at: frozenset[tuple[int, int]]
    opened: frozenset[int]
    hot: frozenset[int]
    cool: frozenset[int]
    clean: frozenset[int]
    toggled: frozenset[int]
    on: frozenset[int]
    sliced: frozenset[int]


@dataclass
class World:
    """The static part of a game compiled from a parsed PDDL problem.

    Receptacles, objects and locations are indexed in the sorted order of their PDDL ids, which is the
    order TextWorld's grammar enumerates them in.
    """

    receptacles: list[str]
    objects: list[str]
    locations: list[str]
    rname: list[str]
    oname: list[str]
    rtype: list[str]
    otype: list[str]
    rloc: list[int]
    openable: frozenset[int]
    pickupable: frozenset[int]
    heatable: frozenset[int]
    coolable: frozenset[int]
    cleanable: frozenset[int]
    toggleable: frozenset[int]
    sliceable: frozenset[int]
    receptacle_object: frozenset[int]
    knives: frozenset[int]
    can_contain: frozenset[tuple[str, str]]
    goal: SExpr
    initial: State
    agent: str
    #: location -> receptacles there, in id order
    at_location: dict[int, list[int]] = field(default_factory=dict)
    _indices: dict[int, dict[str, int]] = field(default_factory=dict, repr=False)
    #: per (goal sub-formula, variable, bound names): candidate values and forward checks
    goal_plans: dict[Any, tuple[Sequence[str], list[SExpr]]] = field(default_factory=dict, repr=False)

    def index(self, names: list[str]) -> dict[str, int]:
        """Name -> position for one of the id lists (``receptacles``, ``objects``, ``locations``)."""
        found = self._indices.get(id(names))
        if found is None:
            found = self._indices[id(names)] = {n: i for i, n in enumerate(names)}
        return found

    @classmethod
    def from_problem(cls, problem: ParsedProblem) -> World:
        """Compile ``problem``; raises ``ValueError`` for problems outside ALFWorld's single-agent shape."""
        objects_by_type: dict[str, list[str]] = {}
        for name, type_ in problem.objects.items():
            objects_by_type.setdefault(type_, []).append(name)
        agents = objects_by_type.get("agent", [])
        if len(agents) != 1:
            raise ValueError(f"expected one agent, found {len(agents)}")
        facts: dict[str, list[tuple[str, ...]]] = {}
        for atom in problem.init:
            facts.setdefault(atom[0], []).append(atom[1:])
        entity_ids = {arg for atom in problem.init for arg in atom[1:]}
        names = demangle_names(sorted(entity_ids))
        receptacles = sorted(objects_by_type.get("receptacle", []))
        objects = sorted(objects_by_type.get("object", []))
        locations = sorted(objects_by_type.get("location", []))
        r_index = {r: i for i, r in enumerate(receptacles)}
        o_index = {o: i for i, o in enumerate(objects)}
        l_index = {loc: i for i, loc in enumerate(locations)}

        def single(pred: str, index: dict[str, int]) -> dict[int, str]:
            out: dict[int, str] = {}
            for args in facts.get(pred, []):
                if args[0] in index:
                    if index[args[0]] in out:
                        raise ValueError(f"{args[0]} has two {pred} facts")
                    out[index[args[0]]] = args[1]
            return out

        rtype_of = single("receptacletype", r_index)
        otype_of = single("objecttype", o_index)
        rloc_of = single("receptacleatlocation", r_index)
        if len(rloc_of) != len(receptacles) or len(rtype_of) != len(receptacles):
            raise ValueError("every receptacle needs one receptacleType and one receptacleAtLocation")
        agent_at = [args[1] for args in facts.get("atlocation", []) if args[0] == agents[0]]
        if len(agent_at) != 1:
            raise ValueError("the agent needs exactly one atLocation")

        def flags(pred: str, index: dict[str, int]) -> frozenset[int]:
            return frozenset(index[a[0]] for a in facts.get(pred, []) if a[0] in index)

        def pairs(pred: str, first: dict[str, int], second: dict[str, int]) -> frozenset[tuple[int, int]]:
            return frozenset(
                (first[a[0]], second[a[1]]) for a in facts.get(pred, []) if a[0] in first and a[1] in second
            )

        initial = State(
            location=l_index[agent_at[0]],
            held=frozenset(o_index[a[1]] for a in facts.get("holds", []) if a[1] in o_index),
            inside=pairs("inreceptacle", o_index, r_index),
            not_in=frozenset(),
            at=pairs("objectatlocation", o_index, l_index),
            opened=flags("opened", r_index),
            hot=flags("ishot", o_index),
            cool=flags("iscool", o_index),
            clean=flags("isclean", o_index),
            toggled=flags("istoggled", o_index),
            on=flags("ison", o_index),
            sliced=flags("issliced", o_index),
        )
        rloc = [l_index[rloc_of[i]] for i in range(len(receptacles))]
        at_location: dict[int, list[int]] = {}
        for i, loc in enumerate(rloc):
            at_location.setdefault(loc, []).append(i)
        otype = [otype_of.get(i, "") for i in range(len(objects))]
        return cls(
            receptacles=receptacles,
            objects=objects,
            locations=locations,
            rname=[names[r] for r in receptacles],
            oname=[names.get(o, o) for o in objects],
            rtype=[rtype_of[i] for i in range(len(receptacles))],
            otype=otype,
            rloc=rloc,
            openable=flags("openable", r_index),
            pickupable=flags("pickupable", o_index),
            heatable=flags("heatable", o_index),
            coolable=flags("coolable", o_index),
            cleanable=flags("cleanable", o_index),
            toggleable=flags("toggleable", o_index),
            sliceable=flags("sliceable", o_index),
            receptacle_object=flags("isreceptacleobject", o_index),
            knives=frozenset(i for i, t in enumerate(otype) if t in ("knifetype", "butterknifetype")),
            can_contain=frozenset((a[0], a[1]) for a in facts.get("cancontain", [])),
            goal=problem.goal,
            initial=initial,
            agent=agents[0],
            at_location=at_location,
        )


# An applicable grounded action: (command, kind, args). Kinds mirror the PDDL operators.
Action = tuple[str, str, tuple[int, ...]]


class NativeGame:
    """One game on the native engine; mirrors :class:`~agentsearch.envs.alfworld.real.RealGame`.

    Args:
        world: the compiled game.
        goal_text: the task sentence (``put a hot apple in fridge``).
        wording: ``"0.4"`` (the engine's current text) or ``"0.3"`` (``put X in/on Y`` and the receptacle
            view alone after ``go to``, as ReAct/ETO prompts expect).
    """

    def __init__(self, world: World, goal_text: str, *, wording: str = "0.4") -> None:
        self.world = world
        self.goal_text = goal_text
        self.wording = wording
        self.state = world.initial
        self._actions: dict[str, Action] | None = None

    # -------------------------------------------------------------------------------- public API
    def reset(self) -> str:
        self.state = self.world.initial
        self._actions = None
        w = self.world
        listing = _listing([f"a {w.rname[r]}" for r in range(len(w.receptacles))])
        look = f"You are in the middle of a room. Looking quickly around you, you see {listing}."
        if self.state.location in w.at_location:
            look = self._look()
        return f"-= Welcome to TextWorld, ALFRED! =-\n\n{look}\n\nYour task is to: {self.goal_text}."

    def admissible_commands(self) -> list[str]:
        return sorted(self._applicable())

    def step(self, command: str) -> tuple[str, bool]:
        """Apply ``command`` (exact match after stripping); returns ``(feedback, valid)``."""
        action = self._applicable().get(command.strip())
        if action is None:
            return NOTHING_HAPPENS, False
        feedback = self._apply(action)
        self._actions = None
        return feedback, True

    def won(self) -> bool:
        return bool(self._eval(self.world.goal, {}))

    def set_state(self, state: State) -> None:
        self.state = state
        self._actions = None

    # -------------------------------------------------------------------------------- dynamics
    def _applicable(self) -> dict[str, Action]:
        if self._actions is not None:
            return self._actions
        w, s = self.world, self.state
        acts: dict[str, Action] = {}

        def add(command: str, kind: str, *args: int) -> None:
            # TextWorld executes the first operator rendering to a command; ties render the same text.
            acts.setdefault(command, (command, kind, args))

        here = w.at_location.get(s.location, [])
        for r in range(len(w.receptacles)):
            if w.rloc[r] != s.location:
                add(f"go to {w.rname[r]}", "goto", r)
        holding = bool(s.held)
        accessible = [r for r in here if r not in w.openable or r in s.opened]
        for r in here:
            add(f"examine {w.rname[r]}", "examine_r", r)
            if r in w.openable:
                if r in s.opened:
                    add(f"close {w.rname[r]}", "close", r)
                else:
                    add(f"open {w.rname[r]}", "open", r)
        for o, r in s.inside:
            if w.rloc[r] != s.location:
                continue
            if o in w.toggleable:
                add(f"use {w.oname[o]}", "toggle", o, r)
            if not holding and o in w.pickupable and (r not in w.openable or r in s.opened):
                add(f"take {w.oname[o]} from {w.rname[r]}", "take", o, r)
        for o in s.held:
            add(f"examine {w.oname[o]}", "examine_o", o)
            for r in accessible:
                if (w.rtype[r], w.otype[o]) in w.can_contain:
                    if self.wording == "0.3":
                        add(f"put {w.oname[o]} in/on {w.rname[r]}", "put", o, r)
                    else:
                        add(f"move {w.oname[o]} to {w.rname[r]}", "put", o, r)
            for r in here:
                rt = w.rtype[r]
                if rt == "sinkbasintype" and o in w.cleanable:
                    add(f"clean {w.oname[o]} with {w.rname[r]}", "clean", o, r)
                if rt == "microwavetype" and o in w.heatable:
                    add(f"heat {w.oname[o]} with {w.rname[r]}", "heat", o, r)
                if rt == "fridgetype" and o in w.coolable:
                    add(f"cool {w.oname[o]} with {w.rname[r]}", "cool", o, r)
            if o in w.knives:
                for co, loc in s.at:
                    if loc == s.location and co in w.sliceable and co != o:
                        add(f"slice {w.oname[co]} with {w.oname[o]}", "slice", co, o)
        add("inventory", "inventory")
        add("look", "look")
        add("help", "help")
        self._actions = acts
        return acts

    def _apply(self, action: Action) -> str:
        _, kind, args = action
        w, s = self.world, self.state
        if kind == "goto":
            (r,) = args
            self.state = replace(s, location=w.rloc[r])
            view = self._receptacle_view(r)
            if self.wording == "0.3":
                return view
            return f"You arrive at {w.rname[r]}. {view}"
        if kind == "open":
            (r,) = args
            self.state = replace(s, opened=s.opened | {r})
            return f"You open the {w.rname[r]}. {self._receptacle_view(r)}"
        if kind == "close":
            (r,) = args
            self.state = replace(s, opened=s.opened - {r})
            return f"You close the {w.rname[r]}."
        if kind == "take":
            o, r = args
            self.state = replace(
                s,
                inside=s.inside - {(o, r)},
                not_in=s.not_in | {(o, r)},
                held=s.held | {o},
                at=s.at - {(o, s.location)},
            )
            return f"You pick up the {w.oname[o]} from the {w.rname[r]}."
        if kind == "put":
            o, r = args
            self.state = replace(
                s,
                inside=s.inside | {(o, r)},
                not_in=s.not_in - {(o, r)},
                held=s.held - {o},
                at=s.at | {(o, s.location)},
            )
            if self.wording == "0.3":
                return f"You put the {w.oname[o]} in/on the {w.rname[r]}."
            return f"You move the {w.oname[o]} to the {w.rname[r]}."
        if kind in ("heat", "cool", "clean"):
            o, r = args
            if kind == "heat":
                self.state = replace(s, hot=s.hot | {o}, cool=s.cool - {o})
            elif kind == "cool":
                self.state = replace(s, cool=s.cool | {o}, hot=s.hot - {o})
            else:
                self.state = replace(s, clean=s.clean | {o})
            return f"You {kind} the {w.oname[o]} using the {w.rname[r]}."
        if kind == "toggle":
            o, _ = args
            self.state = replace(s, toggled=s.toggled | {o}, on=s.on ^ {o})
            return f"You turn on the {w.oname[o]}."
        if kind == "slice":
            co, ko = args
            self.state = replace(s, sliced=s.sliced | {co})
            return f"You sliced the {w.oname[co]} with the {w.oname[ko]}."
        if kind == "examine_r":
            return self._receptacle_view(args[0])
        if kind == "examine_o":
            return self._object_view(args[0])
        if kind == "inventory":
            if s.held:
                return "You are carrying: " + _listing([f"a {w.oname[o]}" for o in sorted(s.held)]) + "."
            return "You are not carrying anything."
        if kind == "look":
            return self._look()
        if kind == "help":
            if self.wording == "0.3":
                return HELP_TEXT.replace(
                    "move (object) to (receptacle):  place", "put (object) in/on (receptacle): place"
                )
            return HELP_TEXT
        raise AssertionError(kind)

    # -------------------------------------------------------------------------------- text
    def _contents(self, r: int) -> list[str]:
        w = self.world
        return [f"a {w.oname[o]}" for o in sorted(o for o, r2 in self.state.inside if r2 == r)]

    def _receptacle_view(self, r: int) -> str:
        w, s = self.world, self.state
        name = w.rname[r]
        if r in w.openable:
            if r in s.opened:
                return f"The {name} is open. In it, you see {_listing(self._contents(r))}."
            return f"The {name} is closed."
        return f"On the {name}, you see {_listing(self._contents(r))}."

    def _object_view(self, o: int) -> str:
        w, s = self.world, self.state
        name = w.oname[o]
        if o in w.receptacle_object:
            return f"This is a normal {name}. In it, you see nothing."
        clean, hot, cool, sliced = o in s.clean, o in s.hot, o in s.cool, o in s.sliced
        if sliced:
            if clean and hot:
                return f"This is a hot and clean sliced {name}."
            if clean and cool:
                return f"This is a cool and clean sliced {name}."
            if clean:
                return f"This is a clean sliced {name}."
            if hot:
                return f"This is a hot sliced {name}."
            if cool:
                return f"This is a cool sliced {name}."
        if clean and hot:
            return f"This is a hot and clean {name}."
        if clean and cool:
            return f"This is a cool and clean {name}."
        if hot:
            return f"This is a hot {name}."
        if clean:
            return f"This is a clean {name}."
        if cool:
            return f"This is a cold {name}."
        if o in w.toggleable and o in s.toggled:
            return f"This {name} is on."
        if o in w.sliceable and sliced:
            return f"This is a sliced {name}."
        return f"There's nothing special about {name}."

    def _look(self) -> str:
        w, s = self.world, self.state
        here = w.at_location.get(s.location, [])
        if not here:
            return "You are in the middle of a room. Looking quickly around you, you see nothing."
        facing = _listing([w.rname[r] for r in here])
        floor = [
            f"a {w.oname[o]}"
            for o in sorted(o for o, loc in s.at if loc == s.location)
            for r in here
            if (o, r) in s.not_in
        ]
        return f"You are facing the {facing}. Next to it, you see {_listing(floor)}."

    # -------------------------------------------------------------------------------- goal
    def _eval(self, expr: SExpr, env: Mapping[str, str]) -> bool:
        """Evaluate a PDDL goal formula (``and``/``or``/``not``/``exists``/``=``/atoms) on the state."""
        if isinstance(expr, str) or not expr:
            raise ValueError(f"bad goal formula {expr!r}")
        head = expr[0]
        if head == "and":
            return all(self._eval(e, env) for e in expr[1:])
        if head == "or":
            return any(self._eval(e, env) for e in expr[1:])
        if head == "not":
            return not self._eval(expr[1], env)
        if head in ("exists", "forall"):
            variables = list(_typed_vars(expr[1]))
            return self._quantify(head, variables, expr[2], dict(env))
        if head == "=":
            a, b = (env.get(x, x) for x in expr[1:3])
            return a == b
        args = tuple(env.get(x, x) for x in expr[1:])
        return self._holds(str(head), args)

    def _quantify(
        self, head: str, variables: list[tuple[str, str]], body: SExpr, env: dict[str, str]
    ) -> bool:
        if not variables:
            return self._eval(body, env)
        (var, type_), rest = variables[0], variables[1:]
        if head == "forall":
            return all(
                self._quantify(head, rest, body, {**env, var: value}) for value in self._domain(type_, None)
            )
        domain, checks = self._plan_exists(body, var, type_, env)
        for value in domain:
            bound = {**env, var: value}
            # Forward checking: conjuncts whose variables all became bound with `var` decide this branch.
            if all(self._eval(atom, bound) for atom in checks) and self._quantify(head, rest, body, bound):
                return True
        return False

    def _plan_exists(
        self, body: SExpr, var: str, type_: str, env: Mapping[str, str]
    ) -> tuple[Sequence[str], list[SExpr]]:
        """Candidates for ``var`` and the conjuncts to check once it is bound (static per goal; cached)."""
        key = (id(body), var, frozenset(env))
        cache = self.world.goal_plans
        if key not in cache:
            bound = {**dict.fromkeys(env, ""), var: ""}
            checks = [atom for atom in _bound_conjuncts(body, bound) if var in atom[1:]]
            cache[key] = (self._domain(type_, _required_types(body, var)), checks)
        return cache[key]

    def _domain(self, type_: str, required: str | None) -> Sequence[str]:
        w = self.world
        if required is not None and type_ == "object":
            return [o for o, t in zip(w.objects, w.otype, strict=True) if t == required]
        if required is not None and type_ == "receptacle":
            return [r for r, t in zip(w.receptacles, w.rtype, strict=True) if t == required]
        return {
            "receptacle": w.receptacles,
            "object": w.objects,
            "location": w.locations,
            "agent": [w.agent],
        }.get(type_, [])

    def _holds(self, pred: str, args: tuple[str, ...]) -> bool:
        w, s = self.world, self.state
        ri, oi, li = w.index(w.receptacles), w.index(w.objects), w.index(w.locations)
        if pred == "inreceptacle":
            return (oi.get(args[0]), ri.get(args[1])) in s.inside
        if pred == "objecttype":
            return args[0] in oi and w.otype[oi[args[0]]] == args[1]
        if pred == "receptacletype":
            return args[0] in ri and w.rtype[ri[args[0]]] == args[1]
        if pred == "receptacleatlocation":
            return args[0] in ri and li.get(args[1]) == w.rloc[ri[args[0]]]
        if pred == "atlocation":
            return args[0] == w.agent and li.get(args[1]) == s.location
        if pred == "holds":
            return args[0] == w.agent and oi.get(args[1]) in s.held
        if pred == "objectatlocation":
            return (oi.get(args[0]), li.get(args[1])) in s.at
        if pred == "opened":
            return ri.get(args[0]) in s.opened
        if pred == "openable":
            return ri.get(args[0]) in w.openable
        flags = {
            "ishot": s.hot,
            "iscool": s.cool,
            "isclean": s.clean,
            "istoggled": s.toggled,
            "ison": s.on,
            "issliced": s.sliced,
            "heatable": w.heatable,
            "coolable": w.coolable,
            "cleanable": w.cleanable,
            "toggleable": w.toggleable,
            "sliceable": w.sliceable,
            "pickupable": w.pickupable,
            "isreceptacleobject": w.receptacle_object,
        }
        if pred in flags:
            return oi.get(args[0]) in flags[pred]
        if pred == "holdsany":
            return args[0] == w.agent and bool(s.held)
        if pred == "cancontain":
            return (args[0], args[1]) in w.can_contain
        raise ValueError(f"unsupported goal predicate {pred!r}")



def _bound_conjuncts(body: SExpr, env: Mapping[str, str]) -> Iterator[SExpr]:
    """Atoms ``body`` conjunctively requires whose ``?variables`` are all bound in ``env``."""
    if isinstance(body, str) or not body:
        return
    head = body[0]
    if head == "and":
        for part in body[1:]:
            yield from _bound_conjuncts(part, env)
    elif head == "exists" and len(body) == 3:
        inner = {v for v, _ in _typed_vars(body[1])}
        yield from (atom for atom in _bound_conjuncts(body[2], env) if not any(a in inner for a in atom[1:]))
    elif head not in ("or", "not", "forall", "=") and all(
        not a.startswith("?") or a in env for a in body[1:] if isinstance(a, str)
    ):
        yield body


def _required_types(body: SExpr, var: str) -> str | None:
    """The type ``objectType``/``receptacleType`` atoms that ``body`` conjunctively requires of ``var``.

    Narrowing an ``exists`` to those candidates gives the same truth value and avoids enumerating
    every receptacle-object pair of a big house on each step.
    """
    if isinstance(body, str) or not body:
        return None
    head = body[0]
    if head in ("objecttype", "receptacletype") and len(body) == 3 and body[1] == var:
        return str(body[2])
    if head == "and":
        for part in body[1:]:
            found = _required_types(part, var)
            if found is not None:
                return found
    if head == "exists" and len(body) == 3 and var not in [v for v, _ in _typed_vars(body[1])]:
        return _required_types(body[2], var)
    return None


def _typed_vars(items: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pending: list[str] = []
    it = iter(items)
    for item in it:
        if item == "-":
            type_ = next(it)
            out += [(v, type_) for v in pending]
            pending = []
        else:
            pending.append(item)
    out += [(v, "object") for v in pending]
    return out
