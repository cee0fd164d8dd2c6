"""Graphs that several test files draw."""

from chaingrad.autograd import Value


def course_example():
    """f = (x + y) * z at x = -2, y = 5, z = -4, the course's first graph, backpropagated."""
    x, y, z = Value(-2.0, name="x"), Value(5.0, name="y"), Value(-4.0, name="z")
    q = x + y
    q.name = "q"
    f = q * z
    f.name = "f"
    f.backward()
    return f, (x, y, z, q)
