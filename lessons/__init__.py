"""The course, step by step: ``python -m lessons`` lists the lessons, ``python -m lessons 1``
runs the first. How a lesson is written: see ``lessons/runner.py``."""
