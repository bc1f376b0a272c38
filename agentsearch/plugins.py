"""Environment plug-ins: one record per environment, holding everything agentsearch needs beyond the env.

An :class:`EnvPlugin` names the gymnasium id (and, for an env registered nowhere else, its entry point),
the agent prompt, the action parser, the shipped search defaults and the few-shot examples. One call
registers it, in the module that defines those things::

    from agentsearch.plugins import EnvPlugin, register_env_plugin

    class ToyEnv(TextEnv): ...

    register_env_plugin(EnvPlugin("mypkg/Toy-v0", entry_point=ToyEnv, description="a toy"))

Everything else reads this registry: the CLI's ``--env`` help, ``make_agent``/``make_prompt``,
``parse_action``, ``collect``'s default configs, and the contract test run over every registered env.
The built-in records sit beside their prompts in ``agentsearch/agents/<env>.py`` and load on first use.
A gymnasium id with no record gets a default one: the generic prompt (``agentsearch.agents.generic``)
and the ``Action:`` line parser.

Dependencies point one way: this module imports ``agentsearch.envs`` and nothing above it; prompts are
built lazily by the callables a record holds.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from agentsearch.envs import env_id as resolve_env_id
from agentsearch.envs import short_name
from agentsearch.errors import ConfigError, did_you_mean

__all__ = [
    "SHIPPED_CONFIGS",
    "EnvPlugin",
    "env_plugins",
    "get_env_plugin",
    "import_plugins",
    "register_env_plugin",
    "short_name",
]

#: Folder of the built-in environments' ``collect`` defaults (``<name>.yaml``).
SHIPPED_CONFIGS = Path(__file__).with_name("search") / "configs"

#: Modules whose import registers the built-in plug-ins (each calls :func:`register_env_plugin`).
BUILTIN_MODULES: tuple[str, ...] = (
    "agentsearch.agents.webshop",
    "agentsearch.agents.alfworld",
    "agentsearch.agents.math",
    "agentsearch.agents.scienceworld",
)


@dataclass(frozen=True)
class EnvPlugin:
    """What agentsearch needs to search, train and evaluate on one environment.

    Attributes:
        env_id: the gymnasium id (``"agentsearch/WebShop-v0"``); its :func:`short_name` is the
            plug-in's ``name`` on the command line.
        entry_point: the env class, a factory, or ``"module:Class"``; registers ``env_id`` with gymnasium
            when given (``None``: the id is registered elsewhere, as by the env's own package).
        prompt: builds the agent's :class:`~agentsearch.agents.prompts.EnvPrompt` (``None``: the generic
            prompt built from the env's instruction and observations).
        parser: model text -> action string (``None``: the text of the ``Action:`` line).
        configs: YAML of the env's ``collect`` defaults (``agentsearch/search/configs/webshop.yaml``).
        examples: JSON of few-shot examples (records with this plug-in's ``name`` as ``env_name``).
        env_kwargs: constructor keyword arguments registered with the id.
        max_episode_steps: passed to ``gym.register`` for plain envs (TextEnvs count steps themselves).
        requires: import names the env needs (``("scienceworld",)``); :attr:`available` checks them.
        extra: the pip extra that installs them (``"scienceworld"`` for ``agentsearch[scienceworld]``).
        description: one line for ``agentsearch envs list``.
    """

    env_id: str
    entry_point: str | Callable[..., gym.Env] | None = None
    prompt: Callable[[], Any] | None = None
    parser: Callable[[str], str] | None = None
    configs: Path | None = None
    examples: Path | None = None
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    max_episode_steps: int | None = None
    requires: tuple[str, ...] = ()
    extra: str | None = None
    description: str = ""

    @property
    def name(self) -> str:
        return short_name(self.env_id)

    @property
    def available(self) -> bool:
        """Whether every module in ``requires`` can be imported here."""
        return all(importlib.util.find_spec(module) is not None for module in self.requires)

    def make_prompt(self) -> Any:
        """The agent prompt of this environment."""
        if self.prompt is not None:
            return self.prompt()
        from agentsearch.agents.generic import make_generic_prompt

        return make_generic_prompt(self)

    def parse(self, text: str) -> str:
        """Parse model ``text`` into an action with this environment's parser."""
        if self.parser is not None:
            return self.parser(text)
        from agentsearch.agents.parsing import parse_generic_action

        return parse_generic_action(text)

    def load_examples(self) -> tuple[Any, ...]:
        """This environment's few-shot examples from ``examples`` (none without a file)."""
        if self.examples is None:
            return ()
        from agentsearch.agents.prompts import load_examples

        return tuple(e for e in load_examples(self.examples) if e.env_name == self.name)


_PLUGINS: dict[str, EnvPlugin] = {}
_builtins_loaded = False


def register_env_plugin(plugin: EnvPlugin) -> EnvPlugin:
    """Register ``plugin`` (and its gymnasium id, when it has an entry point); returns it.

    Registering the same id again replaces the record (a module reloaded in a notebook).
    """
    if not isinstance(plugin, EnvPlugin):
        raise ConfigError(f"Expected an EnvPlugin, got {type(plugin).__name__}.")
    other = _PLUGINS.get(plugin.name)
    if other is not None and other.env_id != plugin.env_id:
        raise ConfigError(
            f"Environment short name {plugin.name!r} is taken by {other.env_id!r}; cannot register "
            f"{plugin.env_id!r} under it."
        )
    if plugin.entry_point is not None and plugin.env_id not in gym.registry:
        gym.register(
            id=plugin.env_id,
            entry_point=plugin.entry_point,
            kwargs=dict(plugin.env_kwargs),
            max_episode_steps=plugin.max_episode_steps,
        )
    _PLUGINS[plugin.name] = plugin
    return plugin


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for module in BUILTIN_MODULES:
            importlib.import_module(module)


def env_plugins() -> dict[str, EnvPlugin]:
    """Every registered plug-in by short name (built-ins first, then in registration order)."""
    _load_builtins()
    return dict(_PLUGINS)


def get_env_plugin(env: str) -> EnvPlugin:
    """The plug-in of ``env`` (a short name, a gymnasium id, or ``module:Id``).

    A gymnasium id without a record gets a default one (generic prompt, ``Action:`` line parser).
    """
    plugins = env_plugins()
    name = short_name(env)
    if name in plugins and (env == name or plugins[name].env_id == env.rsplit(":", 1)[-1]):
        return plugins[name]
    try:
        resolved = resolve_env_id(env)
    except ConfigError:
        if ":" in env:  # the module failed to import or registered nothing: that message says why
            raise
        raise ConfigError(
            f"Unknown environment {env!r}; registered: {sorted(plugins)}, or a gymnasium id (import the "
            f"package that registers it: --import PKG, or write `module:Id`).{did_you_mean(env, plugins)}"
        ) from None
    entry_point = gym.registry[resolved].entry_point
    for plugin in plugins.values():
        spec = gym.registry.get(plugin.env_id)
        if plugin.env_id == resolved or (spec is not None and spec.entry_point == entry_point):
            return plugin
    return EnvPlugin(env_id=resolved)


def import_plugins(modules: list[str] | tuple[str, ...]) -> None:
    """Import ``modules`` so the environments and plug-ins they register are known (``--import``)."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ConfigError(f"Cannot import plug-in module {module!r}: {err}") from err
