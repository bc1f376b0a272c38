"""YAML for options, read as a user means it: ``2e-4`` is a float.

PyYAML implements YAML 1.1, whose float pattern needs a dot, so ``learning_rate: 2e-4`` (or
``--train learning_rate=2e-4``) would load as the string ``"2e-4"`` and fail deep inside the optimizer.
:func:`load_yaml` is ``yaml.safe_load`` with YAML 1.2's float pattern added, so exponent forms without
a dot (``1e-5``, ``3E+2``) are floats; everything else loads as ``safe_load`` loads it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["load_yaml"]


class _OptionsLoader(yaml.SafeLoader):
    """``SafeLoader`` that also resolves YAML 1.2 floats."""


_FLOAT_12 = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
_OptionsLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789"))


def load_yaml(text: str) -> Any:
    """Parse ``text`` like ``yaml.safe_load``, with ``2e-4``-style exponents read as floats.

    Raises:
        yaml.YAMLError: ``text`` is not valid YAML.
    """
    return yaml.load(text, Loader=_OptionsLoader)  # noqa: S506 (a SafeLoader subclass: no arbitrary objects)
