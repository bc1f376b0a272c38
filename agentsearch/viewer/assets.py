"""The HTML shell, styles and scripts of the viewer pages, and the one way data enters a page.

Every page is one self-contained file: styles and scripts inline, data as JSON inside
``<script type="application/json">``. Model text is hostile, so it reaches the page only through
:func:`script_json` (which escapes ``<``, ``>``, ``&`` and the JavaScript line separators, so no string
can close the data block) and is put on screen only with ``textContent``; the scripts never use
``innerHTML``. A strict Content-Security-Policy backs this up: scripts run only if their SHA-256 is
listed, and nothing is fetched (``default-src 'none'``), so even a slip in escaping could neither run
script nor load a URL.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

__all__ = ["asset", "content_security_policy", "page", "script_json"]

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def asset(name: str) -> str:
    """The text of a file shipped in ``agentsearch/viewer/static/`` (styles and scripts)."""
    return resources.files("agentsearch.viewer").joinpath("static", name).read_text(encoding="utf-8")


def script_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script type="application/json">`` element.

    Non-finite floats are refused (``allow_nan=False``): the browser's ``JSON.parse`` would reject them.
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return "".join(_ESCAPES.get(ch, ch) for ch in text) if any(ch in text for ch in _ESCAPES) else text


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode() + "'"


def content_security_policy(scripts: Sequence[str]) -> str:
    """No fetches of any kind; only the given inline scripts (by hash) run; inline styles allowed."""
    script_src = " ".join(_sha256(s) for s in scripts) or "'none'"
    return (
        f"default-src 'none'; script-src {script_src}; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


def page(
    title: str,
    body: str,
    *,
    styles: Sequence[str] = ("base.css",),
    scripts: Sequence[str] = (),
    data: Mapping[str, Any] | None = None,
) -> str:
    """A complete HTML document.

    Args:
        title: plain text (escaped here).
        body: trusted HTML built by the viewer with every piece of data already escaped.
        styles: names of stylesheets in ``static/``.
        scripts: names of scripts in ``static/``, run in order after the data blocks.
        data: id -> value of JSON data blocks the scripts read.
    """
    script_texts = [asset(name) for name in scripts]
    blocks = "".join(
        f'<script type="application/json" id="{html.escape(key)}">{script_json(value)}</script>\n'
        for key, value in (data or {}).items()
    )
    css = "\n".join(asset(name) for name in styles)
    code = "".join(f"<script>{text}</script>\n" for text in script_texts)
    # The policy holds single quotes only, so the double-quoted attribute needs no quote escaping.
    csp = html.escape(content_security_policy(script_texts), quote=False)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{css}</style></head>\n"
        f"<body>\n{body}\n{blocks}{code}</body></html>\n"
    )
