"""Turn model text into the action string an environment executes.

Model output is hostile text: it may lack the ``Action:`` marker, wrap the action in a code fence or
markdown, continue with invented observations, or be 100 kB of garbage. Parsing here is tolerant and
bounded: only the first :data:`MAX_PARSE_CHARS` characters are read, every regex is linear (no nested
quantifiers), and malformed text never raises. It becomes an action string the environment rejects
with an invalid-action observation, so the step is counted as invalid instead of crashing a search.

One parser per environment, beside its prompt (``agents/webshop.py`` ...) and named by its plug-in record
(``agentsearch.plugins``); this module holds what they share. Each is built from two steps:

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
    "ACTION_MARKER",
    "MAX_PARSE_CHARS",
    "MAX_ACTION_CHARS",
    "SPACES",
    "THOUGHT_PREFIX",
    "WRAPPERS",
    "action_text",
    "bound_action",
    "clean_text",
    "first_meaningful_line",
    "format_response",
    "match_valid_action",
    "parse_action",
    "parse_generic_action",
    "strip_wrappers",
    "text_lines",
]

#: Characters of a response that parsing reads; sampled responses are a few hundred tokens at most.
MAX_PARSE_CHARS = 16_384
#: Longest action string returned; longer text is cut (the environment rejects it either way).
MAX_ACTION_CHARS = 512

# "Action:", "Action 2:", "ACTION :". Written without adjacent `\s*` runs, which backtrack
# quadratically on long whitespace.
ACTION_MARKER = re.compile(r"\baction(?:\s*\d+)?\s*:", re.IGNORECASE)
THOUGHT_PREFIX = re.compile(r"^\s*thought(?:\s*\d+)?\s*:", re.IGNORECASE)
SPACES = re.compile(r"\s+")
# Characters that wrap an action in chat-model output: quotes, backticks, markdown emphasis.
WRAPPERS = "`'\"*_ "

def clean_text(text: str) -> str:
    """Bound the text, unify newlines and drop markdown bold (``**Action:**`` is common)."""
    return text[:MAX_PARSE_CHARS].replace("\r\n", "\n").replace("\r", "\n").replace("**", "")


def text_lines(text: str) -> list[str]:
    """Non-empty lines, without code-fence lines (```` ``` ```` or ```` ```text ````)."""
    return [line for line in (raw.strip() for raw in text.split("\n")) if line and not line.startswith("```")]


def bound_action(action: str) -> str:
    return action[:MAX_ACTION_CHARS]


def action_text(text: str) -> str | None:
    """The line the model wrote as its action: what follows the first ``Action:`` marker.

    The action may sit on the marker's line (``Action: click[x]``) or on the next non-empty line
    (``Action:\\nclick[x]``, also inside a code fence). Returns ``None`` without a marker.
    """
    text = clean_text(text)
    marker = ACTION_MARKER.search(text)
    if marker is None:
        return None
    lines = text_lines(text[marker.end() :])
    return lines[0] if lines else ""


def strip_wrappers(line: str) -> str:
    line = line.strip().strip(WRAPPERS)
    if line.startswith(">"):  # ReAct's prompt marker echoed by the model
        line = line[1:].strip()
    return line


def first_meaningful_line(text: str) -> str:
    """Fallback action for text with nothing recognisable: its first non-thought line, bounded."""
    lines = text_lines(clean_text(text))
    for line in lines:
        if not THOUGHT_PREFIX.match(line):
            return bound_action(strip_wrappers(line))
    return bound_action(strip_wrappers(lines[0])) if lines else ""


# ---------------------------------------------------------------------------- shared
def parse_generic_action(text: str) -> str:
    """The action of an environment without its own parser: the ``Action:`` line, else the first line."""
    line = action_text(text)
    return bound_action(strip_wrappers(line)) if line else first_meaningful_line(text)


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
    return SPACES.sub(" ", action.strip().lower())


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


#: A slot of an action template, e.g. ``<query>`` in WebShop's ``search[<query>]``.
_PLACEHOLDER = re.compile(r"<[^<>\s]+>")


def is_admissible(action: str, valid_actions: Sequence[str]) -> bool:
    """Whether ``action`` is one of ``valid_actions`` (:func:`match_valid_action`) or fills a template."""
    if match_valid_action(action, valid_actions) is not None:
        return True
    wanted = _normalise(action[:MAX_ACTION_CHARS])
    for valid in valid_actions:
        parts = _PLACEHOLDER.split(_normalise(valid))
        if len(parts) > 1 and re.fullmatch(".+".join(map(re.escape, parts)), wanted, flags=re.DOTALL):
            return True
    return False


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
