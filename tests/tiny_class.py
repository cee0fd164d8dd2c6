"""A tiny assignment (three exercises, 6 points) and two honest students, for the tests that
grade whole classes through ``chaingrad check`` (fast: a few requests per file)."""

EXERCISES = '''
from chaingrad import Value
from chaingrad.lessons.exercises.api import cases, exercise, expect_close


@exercise(points=2, stub="""
def double(x):
    "Return 2 x. Worked number: double(1.5) == 3.0"
    raise NotImplementedError
""")
def double(student):
    "Twice a number"
    for x in cases([1.5, -2.0], hidden={"a large x": lambda rng: float(rng.uniform(100, 900))}):
        expect_close(student.double(x), 2 * x, f"your double({x})", formula="2 x")


@exercise(points=3, stub="""
def mul_gradients(x, y):
    "(df/dx, df/dy) of f = x y. Worked number: mul_gradients(2.0, 3.0) == (3.0, 2.0)"
    raise NotImplementedError
""")
def mul_gradients(student):
    "The gradients of a product"
    for x, y in cases([(2.0, 3.0), (-1.0, 4.0)], hidden={
            "two negative numbers": lambda rng: (float(-rng.uniform(1, 5)),
                                                 float(-rng.uniform(1, 5)))}):
        got = student.mul_gradients(x, y)
        vx, vy = Value(x, name="x"), Value(y, name="y")
        f = vx * vy
        f.name = "f"
        f.backward()
        try:
            vx.grad, vy.grad = (float(g) for g in got)
        except Exception:
            pass
        expect_close(got, (y, x), f"your mul_gradients({x}, {y})", formula="(y, x)",
                     graph=f)


@exercise(points=1, stub="""
def mean(xs):
    "The mean of a list of numbers. Worked number: mean([1.0, 2.0, 6.0]) == 3.0"
    raise NotImplementedError
""")
def mean(student):
    "The mean"
    for xs in cases([[1.0, 2.0, 6.0]], hidden={
            "a list of 5": lambda rng: [float(v) for v in rng.normal(size=5)]}):
        expect_close(student.mean(xs), sum(xs) / len(xs), f"your mean({xs})",
                     formula="sum(xs) / len(xs)")
'''

LABELS = ["double", "mul_gradients", "mean"]
MAX_POINTS = 6.0

PERFECT = '''
def double(x):
    return 2 * x


def mul_gradients(x, y):
    return y, x


def mean(xs):
    return sum(xs) / len(xs)
'''

PARTIAL = '''
def double(x):
    return 2 * x


def mul_gradients(x, y):
    return x, y


def mean(xs):
    raise NotImplementedError
'''
