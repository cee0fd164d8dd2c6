"""Assignment 6 (lessons 18 and 19): the reference passes, the stub says "not written yet",
and each typical mistake gets its hint."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chaingrad.lessons.exercises import builtin_assignments, run_checks

SOLUTION = (Path(__file__).parent / "exercise_solutions" / "assignment6.py").read_text(
    encoding="utf-8")
ASSIGNMENTS = builtin_assignments()


def grade(tmp_path, text):
    path = tmp_path / "assignment6.py"
    path.write_text(text, encoding="utf-8")
    return {r.exercise: r for r in run_checks(path, {"6": ASSIGNMENTS["6"]})}


def test_assignment_six_is_listed_with_its_two_exercises():
    assert [e.label() for e in ASSIGNMENTS["6"].exercises] == ["6.1 noised",
                                                               "6.2 reinforce_gradient"]
    stub = ASSIGNMENTS["6"].stub_file()
    assert "ASSIGNMENT = 6" in stub and stub.count("Worked number") == 2


def test_the_reference_passes_and_the_stub_does_not(tmp_path):
    results = grade(tmp_path, SOLUTION)
    assert {label: r.message for label, r in results.items() if r.result != "pass"} == {}
    assert sum(r.points for r in results.values()) == ASSIGNMENTS["6"].points == 3
    for r in grade(tmp_path, ASSIGNMENTS["6"].stub_file()).values():
        assert r.points == 0 and "not written yet" in r.message


MISTAKES = [  # (the reference's line, what a student wrote instead, exercise, hint words)
    ("return np.sqrt(alpha_bar_t) * x0 + np.sqrt(1 - alpha_bar_t) * eps",
     "return alpha_bar_t * x0 + (1 - alpha_bar_t) * eps", "6.1 noised", "square roots"),
    ("return np.sqrt(alpha_bar_t) * x0 + np.sqrt(1 - alpha_bar_t) * eps",
     "return np.sqrt(1 - alpha_bar_t) * x0 + np.sqrt(alpha_bar_t) * eps", "6.1 noised",
     "swapped"),
    ("return -(reward - baseline) * (one_hot - pi)", "return -reward * (one_hot - pi)",
     "6.2 reinforce_gradient", "Subtract the baseline"),
    ("return -(reward - baseline) * (one_hot - pi)", "return -(reward - baseline) * one_hot",
     "6.2 reinforce_gradient", "e_arm − pi, not e_arm"),
    ("return -(reward - baseline) * (one_hot - pi)",
     "return (reward - baseline) * (one_hot - pi)", "6.2 reinforce_gradient", "negative"),
    ("shifted = np.exp(theta - theta.max())", "shifted = np.exp(theta)",
     "6.2 reinforce_gradient", "overflows"),
]


@pytest.mark.parametrize("right, wrong, label, words", MISTAKES)
def test_typical_mistakes_get_their_hint(right, wrong, label, words, tmp_path):
    assert right in SOLUTION
    results = grade(tmp_path, SOLUTION.replace(right, wrong))
    assert results[label].result == "fail", results[label].message
    assert words in results[label].message, results[label].message


def test_calling_backward_is_refused_in_the_by_hand_exercise(tmp_path):
    text = SOLUTION + '''

def reinforce_gradient(theta, arm, reward, baseline):
    from chaingrad import Tensor
    from chaingrad.nn import functional as F
    t = Tensor(theta, requires_grad=True)
    (-(reward - baseline) * F.log_softmax(t)[arm]).backward()
    return t.grad
'''
    result = grade(tmp_path, text)["6.2 reinforce_gradient"]
    assert result.points == 0 and re.search(r"backward", result.message), result.message
