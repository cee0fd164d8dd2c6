"""Homework: three assignments of exercises, checked with pictures, and their grader.

Students: ``chaingrad exercises`` lists them, ``chaingrad exercises start 1`` writes
``homework/assignment1.py``, ``chaingrad check homework/assignment1.py --pictures pictures/``
grades it. Instructors: ``chaingrad check submissions/*.py --report grades.csv``, and
exercises of their own with :func:`exercise` (see :mod:`.api`).
"""

from .api import (
    ASSIGNMENTS,
    Assignment,
    Exercise,
    Wrong,
    cases,
    close,
    exercise,
    expect,
    expect_close,
    number,
)
from .grader import Result, builtin_assignments, grade_file, grade_files, run_checks

__all__ = [
    "ASSIGNMENTS",
    "Assignment",
    "Exercise",
    "Result",
    "Wrong",
    "builtin_assignments",
    "cases",
    "close",
    "exercise",
    "expect",
    "expect_close",
    "grade_file",
    "grade_files",
    "number",
    "run_checks",
]
