"""Turn model text into the action string an environment executes.

Model output is hostile text: it may lack the ``Action:`` marker, wrap the action in a code fence or
markdown, continue with invented observations, or be 100 kB of garbage. Parsing here is tolerant and
bounded: only the first :data:`MAX_PARSE_CHARS` characters are read, every regex is linear (no nested
quantifiers), and malformed text never raises. It becomes an action string the environment rejects
with an invalid-action observation, so the step is counted as invalid instead of crashing a search.

One parser per environment (named by its plug-in record, ``agentsearch.plugins``), all built from two
steps:

1. :func:`action_text` finds what the model meant as its action: the first line after the first
   ``Action:`` marker (ETO's format; AgentGym also puts the action on the next line), else ``None``.
2. An environment rule turns that line (or, without a marker, the whole response) into a
   canonical command: ``search[...]``/``click[...]`` for WebShop, a lower-cased command for ALFWorld,
   the step text for math.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "MAX_PARSE_CHARS",
    "MAX_ACTION_CHARS",
    "action_text",
    "format_response",
    "match_valid_action",
    "parse_action",
    "parse_alfworld_action",
    "parse_generic_action",
    "parse_math_action",
    "parse_webshop_action",
]

#: Characters of a response that parsing reads; sampled responses are a few hundred tokens at most.
MAX_PARSE_CHARS = 16_384
#: Longest action string returned; longer text is cut (the environment rejects it either way).
MAX_ACTION_CHARS = 512

# "Action:", "Action 2:", "ACTION :". Written without adjacent `\s*` runs, which backtrack
# quadratically on long whitespace.
_ACTION_MARKER = re.compile(r"\baction(?:\s*\d+)?\s*:", re.IGNORECASE)
_THOUGHT_PREFIX = re.compile(r"^\s*thought(?:\s*\d+)?\s*:", re.IGNORECASE)
_WEBSHOP_VERB = re.compile(r"\b(search|click)\s*\[", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
# Characters that wrap an action in chat-model output: quotes, backticks, markdown emphasis.
_WRAPPERS = "`'\"*_ "

#: First words of ALFWorld commands (``think:`` is ReAct's reasoning action).
ALFWORLD_VERBS = frozenset(
    {
        "go",
        "open",
        "close",
        "take",
        "put",
        "move",
        "use",
        "heat",
        "cool",
        "clean",
        "slice",
        "examine",
        "look",
        "inventory",
        "help",
        "think:",
    }
)


def _clean(text: str) -> str:
    """Bound the text, unify newlines and drop markdown bold (``**Action:**`` is common)."""
    return text[:MAX_PARSE_CHARS].replace("\r\n", "\n").replace("\r", "\n").replace("**", "")


def _lines(text: str) -> list[str]:
    """Non-empty lines, without code-fence lines (```` ``` ```` or ```` ```text ````)."""
    return [line for line in (raw.strip() for raw in text.split("\n")) if line and not line.startswith("```")]


def _bound(action: str) -> str:
    return action[:MAX_ACTION_CHARS]


def action_text(text: str) -> str | None:
    """The line the model wrote as its action: what follows the first ``Action:`` marker.

    The action may sit on the marker's line (``Action: click[x]``) or on the next non-empty line
    (``Action:\\nclick[x]``, also inside a code fence). Returns ``None`` without a marker.
    """
    text = _clean(text)
    marker = _ACTION_MARKER.search(text)
    if marker is None:
        return None
    lines = _lines(text[marker.end() :])
    return lines[0] if lines else ""


def _strip_wrappers(line: str) -> str:
    line = line.strip().strip(_WRAPPERS)
    if line.startswith(">"):  # ReAct's prompt marker echoed by the model
        line = line[1:].strip()
    return line


def _first_meaningful_line(text: str) -> str:
    """Fallback action for text with nothing recognisable: its first non-thought line, bounded."""
    lines = _lines(_clean(text))
    for line in lines:
        if not _THOUGHT_PREFIX.match(line):
            return _bound(_strip_wrappers(line))
    return _bound(_strip_wrappers(lines[0])) if lines else ""


# ---------------------------------------------------------------------------- WebShop
def _webshop_command(line: str) -> str | None:
    """``search[...]``/``click[...]`` in ``line``, keyword lower-cased, argument up to the last ``]``.

    WebShop parses actions with the greedy ``(.+)\\[(.+)\\]``, so the last ``]`` closes the
    argument; an unclosed bracket (the sample hit its token limit) is closed at the end of the line.
    """
    verb = _WEBSHOP_VERB.search(line)
    if verb is None:
        return None
    start = verb.end()
    end = line.rfind("]")
    argument = line[start:end] if end >= start else line[start:].rstrip(_WRAPPERS + ".")
    return _bound(f"{verb.group(1).lower()}[{argument.strip()}]")


def parse_webshop_action(text: str) -> str:
    """WebShop action in ``text``: ``search[keywords]`` or ``click[value]``.

    Looks on the ``Action:`` line first, then anywhere in the response (a model that forgot the
    marker); without either, returns the first non-thought line, which the environment rejects.
    """
    line = action_text(text)
    if line is not None:
        command = _webshop_command(line)
        if command is not None:
            return command
    for candidate in _lines(_clean(text)):
        command = _webshop_command(candidate)
        if command is not None:
            return command
    return _strip_wrappers(line) if line else _first_meaningful_line(text)


# ---------------------------------------------------------------------------- ALFWorld
def _alfworld_command(line: str) -> str:
    line = _strip_wrappers(line)
    if line.lower().startswith("think:"):  # keep the thought's own case; only the verb is a keyword
        return _bound("think:" + line[len("think:") :])
    return _bound(_SPACES.sub(" ", line).lower().rstrip(".!").strip(_WRAPPERS))


def _is_alfworld_command(line: str) -> bool:
    words = _strip_wrappers(line).lower().split(maxsplit=1)
    return bool(words) and (words[0] in ALFWORLD_VERBS or words[0].startswith("think:"))


def parse_alfworld_action(text: str) -> str:
    """ALFWorld command in ``text`` (``go to cabinet 1``, ``take apple 1 from countertop 1`` ...).

    Uses the ``Action:`` line; without one, the first line that starts with a command verb (ReAct's
    act-only answers are bare commands). Commands are lower-cased with single spaces and no final
    period, as ALFWorld's admissible commands are written.
    """
    line = action_text(text)
    if line:
        return _alfworld_command(line)
    for candidate in _lines(_clean(text)):
        if _is_alfworld_command(candidate):
            return _alfworld_command(candidate)
    return _alfworld_command(_first_meaningful_line(text))


# ---------------------------------------------------------------------------- math
def parse_math_action(text: str) -> str:
    """One reasoning step: the response without any ``Thought:``/``Action:`` labels or code fences.

    A math step is free text, so everything the model wrote after an ``Action:`` marker (or the whole
    response without one) is the step, joined into one line per line of text.
    """
    text = _clean(text)
    marker = _ACTION_MARKER.search(text)
    if marker is not None:
        text = text[marker.end() :]
    lines = [line for line in _lines(text) if not _THOUGHT_PREFIX.match(line)]
    return _bound("\n".join(lines).strip())


# ---------------------------------------------------------------------------- shared
def parse_generic_action(text: str) -> str:
    """The action of an environment without its own parser: the ``Action:`` line, else the first line."""
    line = action_text(text)
    return _bound(_strip_wrappers(line)) if line else _first_meaningful_line(text)


def parse_action(text: str, env_name: str) -> str:
    """Parse ``text`` with the parser of ``env_name``'s plug-in; never raises (a non-string gives ``""``).

    An environment agentsearch does not know uses :func:`parse_generic_action`.
    """
    if not isinstance(text, str):
        return ""
    from agentsearch.errors import ConfigError
    from agentsearch.plugins import get_env_plugin

    try:
        plugin = get_env_plugin(env_name)
    except ConfigError:
        return parse_generic_action(text)
    return plugin.parse(text)


def _normalise(action: str) -> str:
    return _SPACES.sub(" ", action.strip().lower())


def match_valid_action(action: str, valid_actions: Sequence[str]) -> str | None:
    """The valid action ``action`` means, ignoring case and spacing, or ``None``.

    Also maps the two ALFWorld wordings of a placement onto each other (``put X in Y``,
    ``put X on Y``, ``put X in/on Y`` and ``move X to Y``), since prompts written for one version of
    the game files meet environments speaking the other.
    """
    wanted = _normalise(action[:MAX_ACTION_CHARS])
    by_key = {_normalise(valid): valid for valid in valid_actions}
    if wanted in by_key:
        return by_key[wanted]
    placement = _placement_key(wanted)
    if placement is not None:
        for key, valid in by_key.items():
            if _placement_key(key) == placement:
                return valid
    return None


_PLACEMENT = re.compile(r"^(?:put (.+?) (?:in/on|in|on) (.+)|move (.+?) to (.+))$")


def _placement_key(action: str) -> tuple[str, str] | None:
    match = _PLACEMENT.match(action)
    if match is None:
        return None
    obj, recep = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    return obj, recep


def format_response(action: str, thought: str | None = None) -> str:
    """The assistant turn for ``action``: ``Thought: ...\\nAction: ...``, or ``Action: ...`` act-only."""
    if thought is None:
        return f"Action: {action}"
    return f"Thought: {thought}\nAction: {action}"
