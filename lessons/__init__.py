"""The course, step by step: ``chaingrad lessons`` lists the lessons, ``chaingrad lessons 1``
runs the first (also ``python -m chaingrad.lessons 1``). How a lesson is written: see ``lessons/runner.py``."""
