"""Step-level math reasoning (GSM8K/MATH style), registered as ``agentsearch/Math-v0``.

* :class:`MathEnv`: one reasoning step per action; reward 1.0 for a correct final answer.
* :mod:`.verify`: answer extraction and a safe, time-bounded equivalence check.
* :mod:`.problems`: the shipped generated problems and loaders for GSM8K and MATH files.
* :mod:`.generate`: the seeded generator of the shipped problems.
* :class:`ReferenceExpert`: replays gold solutions.
"""

from agentsearch.envs.math.env import STEP_FORMATS, MathEnv, format_steps
from agentsearch.envs.math.expert import ReferenceExpert
from agentsearch.envs.math.problems import (
    MathProblem,
    load_gsm8k,
    load_math,
    load_problems,
    read_problems,
    shipped_problems,
    write_problems,
)
from agentsearch.envs.math.verify import (
    DEFAULT_TIMEOUT,
    extract_answer,
    final_answer,
    has_final_answer,
    is_equivalent,
    normalize_answer,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "STEP_FORMATS",
    "MathEnv",
    "MathProblem",
    "ReferenceExpert",
    "extract_answer",
    "final_answer",
    "format_steps",
    "has_final_answer",
    "is_equivalent",
    "load_gsm8k",
    "load_math",
    "load_problems",
    "normalize_answer",
    "read_problems",
    "shipped_problems",
    "write_problems",
]
