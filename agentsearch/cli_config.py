"""Command-line flags generated from config dataclasses, ``--config YAML``, and deprecated spellings.

The CLI's options are the config dataclasses' fields, so the two cannot drift: :class:`ConfigFlags` adds
one flag per field (its type, its default in the help, the help text from the class docstring's
``Attributes:`` section) and builds the config back from the parsed namespace. The trainer configs use
TRL's own ``HfArgumentParser`` instead (see ``cli.py``). :func:`apply_config_file` turns a YAML file's
keys into a parser's defaults, so flags given on the command line override the file; an unknown key is
an error naming the file and the key. :func:`add_alias` keeps an old spelling working with a warning.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import logging
import re
import types
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ConfigFlags",
    "DeprecatedAlias",
    "HelpFormatter",
    "KeyValues",
    "ListValues",
    "add_alias",
    "apply_config_file",
    "attribute_docs",
    "config_path",
    "config_keys",
]

logger = logging.getLogger("agentsearch.cli")

#: Actions that take no place in a YAML file.
_NOT_CONFIG = {"help", "config", argparse.SUPPRESS}


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``ArgumentDefaultsHelpFormatter``, less empty defaults and defaults the help already names."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default is None or action.default is False or "default" in text.lower():
            return text
        return super()._get_help_string(action)


def attribute_docs(cls: type) -> dict[str, str]:
    """Each field's text in the Google-style ``Attributes:`` section of ``cls``'s docstring, as plain text."""
    docs: dict[str, str] = {}
    name, indent, inside = None, None, False
    for line in (inspect.getdoc(cls) or "").splitlines():
        if line.strip() == "Attributes:":
            inside = True
            continue
        if not inside:
            continue
        if line and not line[0].isspace():
            break  # the next section
        match = re.match(r"^(\s+)(\w+)(?: \([^)]*\))?: (.*)$", line)
        if match and (indent is None or len(match.group(1)) == indent):
            indent, name = len(match.group(1)), match.group(2)
            docs[name] = match.group(3)
        elif name and line.strip():
            docs[name] += " " + line.strip()
    return {key: _plain(text) for key, text in docs.items()}


def _plain(text: str) -> str:
    """reST markup to terminal text: ``:func:`~a.b.f``` -> ``f``, ````x```` -> ``x``."""
    text = re.sub(r":\w+:`~?([\w.]+)`", lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return text.replace("``", "").replace("\\", "")


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items()) or "{}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def _kind(hint: Any) -> Any:
    """The flag kind of a type hint: ``bool``, ``list`` (with its item type), ``dict``, or a scalar type."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        hint = args[0]
    origin = typing.get_origin(hint) or hint
    if hint is bool:
        return bool
    if origin in (list, tuple, Sequence):
        item = (typing.get_args(hint) or (str,))[0]
        return list, item if item in (str, int, float) else str
    if origin in (dict, Mapping):
        return dict
    return hint if hint in (str, int, float) else _yaml_value


def _yaml_value(text: str) -> Any:
    from agentsearch.config_yaml import load_yaml

    return load_yaml(text)


class KeyValues(argparse.Action):
    """``--agent react=false --agent icl=true`` (or ``--agent react=false icl=true``) -> one mapping.

    Values are YAML scalars; each use merges into the mapping so far (a ``--config`` file's included).
    ``bare``: the dest a value without ``=`` goes to, as a deprecated spelling (``eval --agent MODEL``).
    """

    def __init__(self, option_strings: Sequence[str], dest: str, *, bare: str | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("nargs", "*")
        kwargs.setdefault("metavar", "KEY=VALUE")
        super().__init__(option_strings, dest, **kwargs)
        self.bare = bare
        self.warned = False

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        merged = dict(getattr(namespace, self.dest, None) or {})
        for item in values:
            key, sep, value = item.partition("=")
            if not sep and self.bare is not None:
                if not self.warned:
                    self.warned = True
                    logger.warning("`%s MODEL` is deprecated; use `--%s MODEL` (`%s` now takes KEY=VALUE "
                                   "agent options).", option_string, self.bare, option_string)
                setattr(namespace, self.bare, item)
                continue
            if not sep or not key:
                raise argparse.ArgumentError(self, f"expected KEY=VALUE, got {item!r}")
            merged[key.strip().replace("-", "_")] = _yaml_value(value)
        if merged or not values:
            setattr(namespace, self.dest, merged)


class ListValues(argparse.Action):
    """``--task-ids 1,2 3`` -> ``["1", "2", "3"]`` (commas split unless ``split=False``, e.g. for paths)."""

    def __init__(self, option_strings: Sequence[str], dest: str, *, split: bool = True, item: Any = str,
                 **kwargs: Any) -> None:
        kwargs.setdefault("nargs", "+")
        super().__init__(option_strings, dest, **kwargs)
        self.split, self.item = split, item

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        parts = [p for v in values for p in (v.split(",") if self.split else [v]) if p]
        try:
            setattr(namespace, self.dest, [self.item(p) for p in parts])
        except ValueError as err:
            raise argparse.ArgumentError(self, str(err)) from err


@dataclass(frozen=True)
class ConfigFlags:
    """The flags of one config dataclass: ``add`` them to a parser, ``build`` the config from its namespace.

    Flags default to "not given" (``argparse.SUPPRESS``): a config is built from the dataclass defaults
    (or ``base``), then a ``--config`` file's values, then the flags given, so the library's defaults are
    the only defaults. Mapping fields merge key by key over ``base``'s. A field whose metadata holds
    ``choices`` (``field(metadata={"choices": ("local", "ray")})``) gets a flag that accepts only those,
    so a wrong value fails at parse time, as a hand-written ``choices=`` flag does.

    Attributes:
        cls: the config dataclass.
        flags: flag names that differ from ``--field-name`` (``{"agent": "--model"}``).
        exclude: fields without a flag.
        keep_commas: list fields whose values are not split at commas (paths).
    """

    cls: type
    flags: Mapping[str, str] = field(default_factory=dict)
    exclude: Collection[str] = ()
    keep_commas: Collection[str] = ()

    def _fields(self) -> list[tuple[dataclasses.Field, str, str]]:
        """``(field, flag, dest)`` per flagged field."""
        rows = []
        for f in dataclasses.fields(self.cls):
            if f.init and f.name not in self.exclude:
                flag = self.flags.get(f.name, "--" + f.name.replace("_", "-"))
                rows.append((f, flag, flag.lstrip("-").replace("-", "_")))
        return rows

    def add(self, parser: argparse.ArgumentParser, base: Any = None, *,
            helps: Mapping[str, str] | None = None, bare: Mapping[str, str] | None = None) -> None:
        """One flag per field; the help shows ``base``'s value (default: the dataclass default).

        ``helps``: help texts in place of the docstring's. ``bare``: per mapping field, the dest of a value
        without ``=`` (see :class:`KeyValues`).
        """
        hints = typing.get_type_hints(self.cls)
        docs = attribute_docs(self.cls)
        group = parser.add_argument_group(f"{self.cls.__name__} options")
        for f, flag, dest in self._fields():
            default = getattr(base, f.name) if base is not None else _field_default(f)
            text = (helps or {}).get(f.name) or docs.get(f.name, "")
            if "default" not in text.lower():
                text += f" (default: {_show(default)})"
            kwargs: dict[str, Any] = {"dest": dest, "default": argparse.SUPPRESS,
                                      "help": text.replace("%", "%%")}
            kind = _kind(hints[f.name])
            if kind is bool:
                group.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
            elif kind is dict:
                group.add_argument(flag, action=KeyValues, bare=(bare or {}).get(f.name), **kwargs)
            elif isinstance(kind, tuple):
                group.add_argument(flag, action=ListValues, split=f.name not in self.keep_commas,
                                   item=kind[1], metavar=dest.upper(), **kwargs)
            elif "choices" in f.metadata:  # no metavar: the help and usage list the choices
                group.add_argument(flag, type=kind, choices=f.metadata["choices"], **kwargs)
            else:
                group.add_argument(flag, type=kind, metavar=dest.upper(), **kwargs)

    def values(self, args: argparse.Namespace) -> dict[str, Any]:
        """The fields given (by flag or ``--config`` file), by field name."""
        return {f.name: getattr(args, dest) for f, _, dest in self._fields() if hasattr(args, dest)}

    def build(self, args: argparse.Namespace, base: Any = None) -> Any:
        """The config: ``base`` (default: the dataclass defaults) with the fields given."""
        values = self.values(args)
        if base is None:
            return self.cls(**values)
        for name, value in values.items():
            if isinstance(value, dict) and isinstance(getattr(base, name), dict):
                values[name] = {**getattr(base, name), **value}
        return dataclasses.replace(base, **values)


def _field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


# ---------------------------------------------------------------------------- deprecated spellings
class DeprecatedAlias(argparse.Action):
    """An old option spelling: warns once per parser, then acts as ``target`` (or calls ``store``)."""

    def __init__(self, option_strings: Sequence[str], dest: str, *, replacement: str,
                 target: argparse.Action | None = None,
                 store: Callable[[argparse.Namespace, Any], None] | None = None, **kwargs: Any) -> None:
        if target is not None:
            kwargs.update(nargs=target.nargs, type=target.type, choices=target.choices,
                          metavar=target.metavar)
            dest = target.dest
        super().__init__(option_strings, dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kwargs)
        self.replacement, self.target, self.store = replacement, target, store
        self.warned = False

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        if not self.warned:
            self.warned = True
            logger.warning("`%s` is deprecated; use `%s`.", option_string, self.replacement)
        if self.store is not None:
            self.store(namespace, values)
        elif self.target is not None:
            self.target(parser, namespace, values, option_string)


def add_alias(parser: argparse.ArgumentParser, old: str, new: str, *,
              store: Callable[[argparse.Namespace, Any], None] | None = None, **kwargs: Any) -> None:
    """Accept ``old`` as a deprecated spelling of the option ``new`` (or of what ``store`` does).

    With ``store``, ``new`` is only the replacement shown in the warning and ``kwargs`` (``nargs``,
    ``type``) describe the old option's values.
    """
    if store is None:
        kwargs["target"] = parser._option_string_actions[new.split()[0]]  # argparse has no public lookup
    parser.add_argument(old, action=DeprecatedAlias, replacement=new, store=store, **kwargs)


# ---------------------------------------------------------------------------- --config YAML
def config_path(argv: Sequence[str]) -> str | None:
    """The value of ``--config PATH`` (or ``--config=PATH``) in ``argv``, if any."""
    for i, item in enumerate(argv):
        if item == "--config" and i + 1 < len(argv):
            return argv[i + 1]
        if item.startswith("--config="):
            return item.partition("=")[2]
    return None


def config_keys(parser: argparse.ArgumentParser) -> dict[str, list[argparse.Action]]:
    """The keys a ``--config`` file of ``parser`` may hold (its options' dests), with their actions."""
    keys: dict[str, list[argparse.Action]] = {}
    for action in parser._actions:  # argparse has no public list of a parser's actions
        skipped = isinstance(action, (DeprecatedAlias, argparse._SubParsersAction))
        if action.dest not in _NOT_CONFIG and not skipped:
            keys.setdefault(action.dest, []).append(action)
    return keys


def apply_config_file(parser: argparse.ArgumentParser, path: str | Path) -> dict[str, Any]:
    """Make the YAML mapping at ``path`` the defaults of ``parser``: flags given still override it.

    Keys are the options' names with ``_`` (``max_steps``; ``-`` is accepted); an option the file sets is
    no longer required on the command line.

    Raises:
        ConfigError: the file is missing, not a YAML mapping, or holds a key ``parser`` does not know.
    """
    from agentsearch.errors import ConfigError, did_you_mean
    from agentsearch.search.collect import _read_yaml  # the one YAML-mapping reader, with its errors

    if not Path(path).is_file():
        raise ConfigError(f"{path}: no such config file.")
    data = {str(key).replace("-", "_"): value for key, value in _read_yaml(path).items()}
    known = config_keys(parser)
    for key in data:
        if key not in known:
            raise ConfigError(f"{path}: unknown key `{key}` for `{parser.prog}`.{did_you_mean(key, known)} "
                              f"Known keys: {', '.join(sorted(known))}.")
    for key in data:
        for action in known[key]:
            action.required = False
    parser.set_defaults(**data)
    return data
