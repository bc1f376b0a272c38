"""Shipped math problems, their generator, and the GSM8K/MATH loaders."""

from __future__ import annotations

import doctest
import json
from collections import Counter
from fractions import Fraction

import pytest

from agentsearch.envs.math import expr, verify
from agentsearch.envs.math import problems as problems_module
from agentsearch.envs.math.generate import SPLIT_SIZES, generate_splits
from agentsearch.envs.math.problems import (
    MathProblem,
    load_gsm8k,
    load_math,
    load_problems,
    read_problems,
    shipped_problems,
    split_solution,
    write_problems,
)
from agentsearch.errors import DataFileError

TOPICS = {"money", "items", "fractions", "percentages", "rates", "distance", "time", "ages"}


def evaluate(tree) -> Fraction:
    """Recompute an answer from the generator's expression tree, independently of the generator."""
    if isinstance(tree, str):
        return Fraction(tree)
    op, left, right = tree
    a, b = evaluate(left), evaluate(right)
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]


@pytest.mark.parametrize("split", ["train", "eval", "test"])
def test_shipped_split_sizes_and_grading(split):
    problems = shipped_problems(split)
    assert len(problems) == SPLIT_SIZES[split]
    assert SPLIT_SIZES["train"] >= 5000 and SPLIT_SIZES["test"] >= 1000
    assert len({p.id for p in problems}) == len(problems)
    levels = Counter(p.level for p in problems)
    assert set(levels) == set(range(2, 9))
    assert min(levels.values()) >= len(problems) // 7 - 1  # equal shares of every difficulty
    assert {p.topic for p in problems} == TOPICS


@pytest.mark.parametrize("split", ["train", "eval", "test"])
def test_gold_answers_recomputed_from_the_expression_tree(split):
    for problem in shipped_problems(split):
        value = evaluate(problem.expr)
        assert Fraction(problem.answer) == value, problem.id
        assert value > 0
        assert len(problem.steps) == problem.level
        assert problem.steps[-1].endswith(f"The answer is {problem.answer}.")
        assert all("answer is" not in step for step in problem.steps[:-1])


def test_no_question_is_shared_between_splits():
    questions = [p.question for split in ("train", "eval", "test") for p in shipped_problems(split)]
    assert len(set(questions)) == len(questions)


def test_generator_reproduces_the_shipped_files(tmp_path):
    regenerated = generate_splits(seed=0)
    for split, problems in regenerated.items():
        assert tuple(problems) == shipped_problems(split)
        assert [p.expr for p in problems] == [p.expr for p in shipped_problems(split)]
    assert (
        generate_splits(seed=1, sizes={"train": 5, "eval": 5, "test": 5})["test"] != regenerated["test"][:5]
    )


def test_write_and_read_round_trip(tmp_path):
    problems = list(shipped_problems("eval")[:20])
    path = tmp_path / "p.jsonl.gz"
    write_problems(problems, path)
    assert read_problems(path) == problems
    assert load_problems(path) == problems


# ---------------------------------------------------------------------------- loaders
def test_load_gsm8k(tmp_path):
    path = tmp_path / "test.jsonl"
    records = [
        {
            "question": "Q1?",
            "answer": "Half of 48 is 48/2 = <<48/2=24>>24.\nThen 24 + 48 = <<24+48=72>>72\n#### 72",
        },
        {"question": "Q2?", "answer": "It costs 1,000 + 200 = 1,200\n#### 1,200"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    problems = load_gsm8k(path)
    assert [p.answer for p in problems] == ["72", "1200"]
    assert problems[0].steps == ("Half of 48 is 48/2 = 24.", "Then 24 + 48 = 72", "The answer is 72.")
    assert load_problems(path) == problems


def test_load_math_file_list_and_directory(tmp_path):
    record = {
        "problem": "What is $\\frac{1}{2} + \\frac{1}{4}$?",
        "solution": "We add: $\\frac{2}{4} + \\frac{1}{4}$.\nSo the sum is $\\boxed{\\frac{3}{4}}$.",
        "level": "Level 2",
        "type": "Prealgebra",
    }
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "7.json").write_text(json.dumps(record))
    (tmp_path / "one" / "8.json").write_text(json.dumps({**record, "level": "Level 5"}))
    problems = load_math(tmp_path / "one")
    assert [p.level for p in problems] == [2, 5]
    assert problems[0].answer == "\\frac{3}{4}" and problems[0].topic == "Prealgebra"
    assert problems[0].steps[-1] == "So the sum is $\\boxed{\\frac{3}{4}}$."
    assert problems[0].id == "math-prealgebra-0"
    (tmp_path / "list.json").write_text(json.dumps([record, record]))
    assert len(load_problems(tmp_path / "list.json")) == 2


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        ('{"question": "Q", "answer": "#### 1"}\n{"question": "Q"\n', 2, "invalid JSON"),
        ('{"question": "Q", "answer": "#### 1"}\n{"question": "Q"}\n', 2, "missing field 'answer'"),
        ('{"question": "Q", "answer": "no marker"}\n', 1, "####"),
        ('{"question": 3, "answer": "#### 1"}\n', 1, "should be str"),
        ("[1, 2]\n", 1, "expected a JSON object"),
    ],
)
def test_malformed_gsm8k_names_file_and_line(tmp_path, content, line, reason):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DataFileError, match=reason) as err:
        load_gsm8k(path)
    assert err.value.path == str(path) and err.value.line == line
    assert f"{path}:{line}" in str(err.value)


def test_malformed_math_names_file_and_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "problem": "P",\n  "solution": \n}')
    with pytest.raises(DataFileError, match="invalid JSON") as err:
        load_math(path)
    assert err.value.line == 4
    path.write_text(json.dumps({"problem": "P", "solution": "no box here"}))
    with pytest.raises(DataFileError, match="boxed"):
        load_math(path)
    path.write_text(json.dumps({"problem": "P", "solution": "\\boxed{1"}))
    with pytest.raises(DataFileError, match="boxed"):
        load_math(path)


def test_malformed_agentsearch_file(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = MathProblem("a", "Q", "1", ("The answer is 1.",)).to_json()
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "steps": []}) + "\n")
    with pytest.raises(DataFileError, match="steps") as err:
        read_problems(path)
    assert err.value.line == 2


@pytest.mark.parametrize(
    ("solution", "steps"),
    [
        ("We have $x = 2.5$. So $2x = 5$.", ("We have $x = 2.5$.", "So $2x = 5$.")),
        ("Note $$a = 3. b$$ Hence 3. Done!", ("Note $$a = 3. b$$ Hence 3.", "Done!")),
        ("By \\[x = 1.5. \\] we get $\\boxed{1.5}$", ("By \\[x = 1.5. \\] we get $\\boxed{1.5}$",)),
        ("First line\nSecond line", ("First line", "Second line")),
        ("It costs 3.50 dollars.", ("It costs 3.50 dollars.",)),
    ],
)
def test_split_solution_keeps_math_together(solution, steps):
    assert split_solution(solution) == steps


@pytest.mark.parametrize("module", [expr, problems_module, verify])
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0
