"""BM25 product search, the offline stand-in for WebShop's Pyserini/Lucene index.

Each product is indexed as the original ``contents`` string
(``search_engine/convert_product_file_format.py``)::

    lower(Title + " " + Description + " " + BulletPoints[0] + " " + "name: v1, v2, and name2: w1, w2")

and analysed the way Lucene's ``EnglishAnalyzer`` does: possessive ``'s`` dropped, word tokens, Lucene's 33
English stopwords removed, Porter stemming (PyStemmer's ``porter``). Ranking is bm25s with Pyserini's
defaults (``k1=0.9``, ``b=0.4``, Lucene idf); ties go to the earlier product. A query returns at most 50 hits
(``SEARCH_RETURN_N``); products that share no term with the query are not hits. Rankings are close to, not
identical with, Lucene's.

Results are cached per query (LRU), so the branches of a search tree never search twice. The original's
debug prefixes (``<r>``, ``<a>``, ``<c>``, ``<q>`` as the first keyword) are not supported: they are searched
as text.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence

import bm25s
import numpy as np
import Stemmer

from agentsearch.envs.webshop.catalog import Product

__all__ = ["SEARCH_RETURN_N", "SearchEngine", "product_contents", "analyze"]

logger = logging.getLogger(__name__)

SEARCH_RETURN_N = 50
K1 = 0.9
B = 0.4

#: Lucene's ``EnglishAnalyzer.ENGLISH_STOP_WORDS_SET``.
LUCENE_STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these "
    "they this to was will with".split()
)
_POSSESSIVE = re.compile(r"['’]s\b")
_WORD = re.compile(r"\w+")


def product_contents(product: Product) -> str:
    """The text the original indexes for ``product``."""
    option_text = ", and ".join(f"{name}: {', '.join(values)}" for name, values in product.options.items())
    first_bullet = product.bullet_points[0] if product.bullet_points else ""
    return " ".join([product.title, product.description, first_bullet, option_text]).lower()


class _Analyzer:
    """Lower-case, drop possessives, split into words, remove stopwords, Porter-stem (with a stem cache)."""

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("porter")
        self._stem = functools.lru_cache(maxsize=1 << 18)(self._stemmer.stemWord)

    def __call__(self, text: str) -> list[str]:
        words = _WORD.findall(_POSSESSIVE.sub("", text.lower()))
        stem = self._stem
        return [stem(w) for w in words if w not in LUCENE_STOPWORDS]


analyze = _Analyzer()


class SearchEngine:
    """BM25 over product ``contents``; :meth:`search` returns indices into ``products``.

    Args:
        products: the catalog, in the order that breaks score ties.
        cache_size: queries whose results are kept.
    """

    def __init__(self, products: Sequence[Product], *, cache_size: int = 4096) -> None:
        self.size = len(products)
        corpus = [analyze(product_contents(p)) for p in products]
        self._bm25 = bm25s.BM25(k1=K1, b=B, method="lucene")
        self._bm25.index(corpus, show_progress=False)
        self._vocab = self._bm25.vocab_dict
        self.search = functools.lru_cache(maxsize=cache_size)(self._search)  # type: ignore[method-assign]
        logger.info("Indexed %d products (%d terms)", self.size, len(self._vocab))

    def query_tokens(self, query: str) -> list[str]:
        """Analysed query terms that occur in the index."""
        return [t for t in analyze(query) if t in self._vocab and t != ""]

    def _search(self, query: str) -> tuple[int, ...]:
        """Indices of the top products for ``query`` (at most ``SEARCH_RETURN_N``), best first."""
        tokens = self.query_tokens(query)
        if not tokens or self.size == 0:
            return ()
        scores = self._bm25.get_scores(tokens)
        k = min(SEARCH_RETURN_N, self.size)
        # The k-th best score splits the hits; ties at that score go to the earlier products, as in Lucene.
        kth = np.partition(scores, self.size - k)[self.size - k]
        above = np.flatnonzero(scores > kth)
        tied = np.flatnonzero(scores == kth)[: k - len(above)]
        top = np.concatenate([above, tied])
        top = top[np.lexsort((top, -scores[top]))]
        return tuple(int(i) for i in top if scores[i] > 0)
