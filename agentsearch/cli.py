"""The ``agentsearch`` command: a thin layer of argparse over library calls.

Every subcommand parses its options and calls one library function; nothing here is unavailable from
Python. Only this module prints.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

__all__ = ["main", "build_parser"]

Handler = Callable[[argparse.Namespace], int]


# ---------------------------------------------------------------------------- envs
def _add_envs(sub: argparse._SubParsersAction) -> None:
    envs = sub.add_parser("envs", help="list or play environments")
    envs_sub = envs.add_subparsers(dest="envs_command", required=True)
    envs_sub.add_parser("list", help="list registered environments").set_defaults(handler=_envs_list)
    play = envs_sub.add_parser("play", help="play an environment in the terminal")
    play.add_argument("env", help="short name (webshop, alfworld, math) or gymnasium id")
    play.add_argument("--task", default=None, help="task id (default: a random task of --split)")
    play.add_argument("--split", default="test", choices=["train", "eval", "test"])
    play.add_argument("--seed", type=int, default=None)
    play.set_defaults(handler=_envs_play)


def _envs_list(args: argparse.Namespace) -> int:
    from agentsearch.envs import ENVS, NAMESPACE

    for short, (name, entry_point) in ENVS.items():
        print(f"{short:10s} {NAMESPACE}/{name:14s} {entry_point}")
    return 0


def _envs_play(args: argparse.Namespace) -> int:
    from agentsearch.envs import make

    env = make(args.env, split=args.split)
    options = {"task_id": args.task} if args.task is not None else None
    observation, info = env.reset(seed=args.seed, options=options)
    print(f"task {info['task_id']}: {info['instruction']}")
    print("Type an action, `:actions` to list valid actions, `:quit` to leave.\n")
    total = 0.0
    while True:
        print(observation)
        if info.get("valid_actions") is not None:
            print(f"\n[valid actions: {len(info['valid_actions'])}; `:actions` lists them]")
        try:
            action = input("> ")
        except EOFError:
            print()
            return 0
        if action.strip() == ":quit":
            return 0
        if action.strip() == ":actions":
            for valid in info.get("valid_actions") or []:
                print(f"  {valid}")
            continue
        observation, reward, terminated, truncated, info = env.step(action)
        total += reward
        flags = " (invalid action)" if info["invalid_action"] else ""
        print(f"\nreward {reward:.3f}  total {total:.3f}  step {info['step']}{flags}")
        if terminated or truncated:
            print(observation)
            print(f"\nepisode over: {'won' if info['won'] else 'not won'}, "
                  f"{'terminated' if terminated else 'truncated'}, total reward {total:.3f}")
            return 0


# ---------------------------------------------------------------------------- main
#: Each entry adds one subcommand group to the parser.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_envs]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentsearch", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    handler: Handler = args.handler
    from agentsearch.errors import AgentSearchError

    try:
        return handler(args)
    except AgentSearchError as err:
        print(f"agentsearch: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
