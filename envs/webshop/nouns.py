"""Title nouns for the reward's product-type gate.

The original tags product names with spaCy (``en_core_web_lg``, later ``en_core_web_sm``) and keeps the
lower-cased tokens whose POS is NOUN or PROPN. spaCy's English models are not on PyPI, so agentsearch
decides per product, in this order:

1. **generator metadata**: the shipped catalog stores each title's nouns (``title_nouns``) as the generator
   built them; this is exact by construction;
2. **spaCy**, when a model is installed (``$AGENTSEARCH_SPACY_MODEL``, else ``en_core_web_lg``, ``_md``,
   ``_sm``);
3. **a fallback heuristic**: word tokens that contain a letter and are not function words or common title
   adjectives. It keeps some adjectives spaCy would drop, so ``title_score`` (and through it ``r_type``) can
   differ from the original on original data; correct purchases (same product) still score 1.

:class:`NounTagger` caches results per string.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["NounTagger", "heuristic_nouns", "load_spacy_nouns"]

logger = logging.getLogger(__name__)

SPACY_MODELS = ("en_core_web_lg", "en_core_web_md", "en_core_web_sm")

# Words the heuristic never counts as nouns: determiners, prepositions, conjunctions, pronouns and the
# adjectives that most often open product titles.
_NON_NOUNS = frozenset(
    """a an the and or nor but for of in on at by to from with without into onto over under up down off out
    as per via vs x & + - this that these those it its your our my his her their you we he she they
    is are be new compatible listed ultra premium professional portable original natural organic large
    small medium mini big extra super high low long short heavy light soft hard best great perfect
    adjustable durable waterproof lightweight comfortable stainless multi full""".split()
)
_TOKEN = re.compile(r"[\w.'’-]+")


def heuristic_nouns(name: str) -> tuple[str, ...]:
    """Approximate NOUN/PROPN tokens of a product name without a tagger (see the module docstring)."""
    nouns = []
    for raw in _TOKEN.findall(name.lower()):
        for token in re.split(r"(?<=\w)-(?=\w)", raw.strip(".'’-")):
            if token and any(c.isalpha() for c in token) and token not in _NON_NOUNS:
                nouns.append(token)
    return tuple(nouns)


def load_spacy_nouns(model: str | None = None) -> Callable[[str], tuple[str, ...]] | None:
    """A spaCy-backed noun function, or ``None`` when spaCy or every candidate model is missing."""
    try:
        import spacy
    except ImportError:
        return None
    names = [model] if model else [os.environ.get("AGENTSEARCH_SPACY_MODEL", ""), *SPACY_MODELS]
    for name in filter(None, names):
        try:
            nlp = spacy.load(name, disable=["parser", "ner", "lemmatizer"])
        except (OSError, ImportError, ValueError):
            continue
        logger.info("Title nouns from spaCy model %s", name)
        return functools.partial(_spacy_nouns, nlp)
    return None


def _spacy_nouns(nlp: Any, text: str) -> tuple[str, ...]:
    return tuple(t.text.lower() for t in nlp(text) if t.pos_ in ("PNOUN", "NOUN", "PROPN"))


class NounTagger:
    """Title nouns with a per-string cache: known metadata first, then spaCy if installed, else the heuristic.

    Args:
        known: name -> nouns from generator metadata.
        use_spacy: try spaCy for names without metadata (loaded on first need).
    """

    def __init__(self, known: dict[str, Sequence[str]] | None = None, *, use_spacy: bool = True) -> None:
        self._known = {name: tuple(nouns) for name, nouns in (known or {}).items()}
        self._use_spacy = use_spacy
        self._tagger: Callable[[str], tuple[str, ...]] | None = None
        self.backend = "metadata"
        self._tag = functools.lru_cache(maxsize=65536)(self._tag_uncached)

    def _tag_uncached(self, name: str) -> tuple[str, ...]:
        if self._tagger is None:
            spacy_fn = load_spacy_nouns() if self._use_spacy else None
            if spacy_fn is None:
                logger.info("No spaCy English model installed; title nouns use the fallback heuristic")
            self._tagger = spacy_fn or heuristic_nouns
            self.backend = "spacy" if spacy_fn else "heuristic"
        return self._tagger(name)

    def __call__(self, name: str) -> tuple[str, ...]:
        known = self._known.get(name)
        return known if known is not None else self._tag(name)
