"""Assignment 5: your own tensors (the backward passes of the tensor ops, in numpy).

The gradient of a broadcast, the matmul backward, softmax with cross-entropy, a
convolution as im2col + matmul with its backward, and max-pool's backward. Every answer
is a numpy array; each check asks chaingrad's own ops (chaingrad.nn.functional,
chaingrad.nn.convolution) for the same gradient, on the worked shapes and on random ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chaingrad import Tensor
from chaingrad.nn import functional as F

from .api import assignment, cases, close, exercise, expect, expect_close, number

assignment(5, "Your own tensors", intro="""
    Lesson 10 shows chaingrad's tensors: numpy arrays that remember their graph. Here you
    write, in plain numpy, the backward passes chaingrad runs for them: the gradient of a
    broadcast, of a matrix product, of softmax with cross-entropy, of a convolution (as
    im2col and one matrix product) and of max-pooling. Each check compares your arrays with
    chaingrad's on the worked shapes and on random ones.
""", imports="""
    import numpy as np
""")


def _shape(array: Any) -> str:
    return str(tuple(np.shape(array)))


def _gradients(function, *arrays: np.ndarray, grad: np.ndarray | None = None) -> list:
    """chaingrad's gradients of function(*tensors) (seeded with ``grad``) for each array."""
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    out = function(*tensors)
    out.backward(grad)
    return [t.grad for t in tensors]


def _pair(got: Any, what: str, count: int) -> tuple:
    expect(isinstance(got, (tuple, list)) and len(got) == count,
           f"{what} returned {type(got).__name__} {got!r:.60}; expected a tuple of {count}.")
    return tuple(got)


# ------------------------------------------------------------------ 5.1 broadcasting


def _broadcast_case(rng: np.random.Generator) -> tuple:
    ndim = int(rng.integers(1, 4))
    big = tuple(int(s) for s in rng.integers(2, 5, ndim))
    small = [1 if rng.random() < 0.5 else s for s in big][int(rng.integers(0, ndim)):]
    return tuple(small), big


@exercise(points=1, forbid=("Tensor", "backward"), stub='''
def unbroadcast(grad, shape):
    """Task: numpy broadcast an input of `shape` to grad.shape in the forward pass (a bias
    (3,) added to every row of a (4, 3) batch); its gradient must have the input's shape.
    Every copy received a share, so add them up: sum grad over the leading axes the input
    did not have, then (keepdims=True) over each axis where the input's size is 1.
    Return an array of exactly `shape`.
    Formula: for y = x + z with x broadcast, dL/dx = Σ over the broadcast axes of dL/dy.
    Worked number: grad = [[1, 2, 3], [4, 5, 6]] and shape (3,) give [5, 7, 9];
    shape (2, 1) gives [[6], [15]]; shape (1, 3) gives [[5, 7, 9]].
    """
    raise NotImplementedError
''')
def unbroadcast(student):
    """The gradient of a broadcast"""
    public = [((3,), (2, 3)), ((2, 1), (2, 3)), ((1, 3), (2, 3)), ((4, 1, 3), (2, 4, 5, 3)),
              ((), (2, 2))]
    for shape, big in cases(public, hidden={"random shapes": _broadcast_case}, count=2):
        grad = np.random.default_rng(len(big)).normal(size=big).round(2)
        want = _gradients(lambda x, y: x + y, np.zeros(shape), np.zeros(big), grad=grad)[0]
        got = student.unbroadcast(grad.copy(), shape)
        hint = None
        if np.shape(got) != tuple(shape) and np.size(got) == np.size(want):
            hint = ("Right numbers, wrong shape: keep the size-1 axes with keepdims=True "
                    f"(the input's shape is {shape}).")
        expect(np.shape(got) == tuple(shape), f"your unbroadcast(grad of shape {big}, "
               f"{shape}) has shape {_shape(got)}; expected {shape}. {hint or ''}".strip())
        expect_close(got, want, f"your unbroadcast(grad of shape {big}, {shape})",
                     "grad summed over the broadcast axes")


# ------------------------------------------------------------------ 5.2 matmul


def _matmul_case(rng: np.random.Generator) -> tuple:
    n, k, m = (int(s) for s in rng.integers(1, 6, 3))
    return rng.normal(size=(n, k)).round(2), rng.normal(size=(k, m)).round(2)


@exercise(points=1, forbid=("Tensor", "backward"), stub='''
def matmul_backward(A, B, grad):
    """Task: for C = A @ B (A is n x k, B is k x m) and grad = dL/dC (n x m), return
    (dL/dA, dL/dB), each shaped like its input.
    Formula: dL/dA = grad @ B.T,   dL/dB = A.T @ grad   (the shapes tell you where the
    transposes go: n x m times m x k is n x k).
    Worked number: A = [[1, 2]], B = [[3], [4]], grad = [[1]] give dL/dA = [[3, 4]] and
    dL/dB = [[1], [2]].
    """
    raise NotImplementedError
''')
def matmul_backward(student):
    """The matmul backward"""
    public = [(np.array([[1.0, 2.0]]), np.array([[3.0], [4.0]])),
              (np.arange(6.0).reshape(2, 3) - 2, np.arange(12.0).reshape(3, 4) / 4)]
    for A, B in cases(public, hidden={"random shapes": _matmul_case}, count=2):
        grad = np.ones((A.shape[0], B.shape[1])) if A.shape == (1, 2) else \
            np.random.default_rng(A.size).normal(size=(A.shape[0], B.shape[1])).round(2)
        dA, dB = _gradients(lambda a, b: a @ b, A, B, grad=grad)
        what = f"your matmul_backward(A {A.shape}, B {B.shape}, grad {grad.shape})"
        got = _pair(student.matmul_backward(A.copy(), B.copy(), grad.copy()), what, 2)
        for name, mine, want in (("dL/dA", got[0], dA), ("dL/dB", got[1], dB)):
            hint = None
            if np.shape(mine) != want.shape:
                hint = f"{name} must have its input's shape {want.shape}: check the transposes."
            expect(hint is None, f"{what}: {name} has shape {_shape(mine)}. {hint}")
            expect_close(mine, want, f"{what}: {name}",
                         "grad @ B.T" if name == "dL/dA" else "A.T @ grad", verb="is")


# ------------------------------------------------------------------ 5.3 softmax + CE


def _ce_case(rng: np.random.Generator, scale: float = 3.0) -> tuple:
    n, c = int(rng.integers(1, 6)), int(rng.integers(2, 6))
    return rng.normal(scale=scale, size=(n, c)).round(2), rng.integers(0, c, n)


@exercise(points=2, forbid=("Tensor", "backward", "cross_entropy", "softmax", "log_softmax"),
          stub='''
def softmax_cross_entropy(logits, labels):
    """Task: the mean cross-entropy of softmax(logits) against integer labels, and its
    gradient. logits is (N, C); labels holds N class indices. Return (loss, dlogits):
    loss a float, dlogits an (N, C) array.
        log p = (z - max z) - log Σ exp(z - max z)   row by row (log softmax; taking
            the row's max off changes nothing but keeps exp from overflowing at z = 1000,
            and log p of a tiny p stays finite where log(p) of p = 0 would not)
        p = exp(log p)
        loss = -(1/N) Σ_n log p[n, labels[n]]
        dlogits = (p - onehot(labels)) / N      <- the one-line gradient
    Worked number: logits [[0, 0]], labels [1]: p = [0.5, 0.5], loss = log 2 = 0.6931,
    dlogits = [[0.5, -0.5]].
    """
    raise NotImplementedError
''')
def softmax_cross_entropy(student):
    """Softmax with cross-entropy and its one-line gradient"""
    public = [(np.array([[0.0, 0.0]]), np.array([1])),
              (np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), np.array([0, 2])),
              (np.array([[1000.0, 0.0], [0.0, -1000.0]]), np.array([1, 0]))]
    hidden = {"random logits": _ce_case,
              "large logits": lambda rng: _ce_case(rng, scale=500.0)}
    for logits, labels in cases(public, hidden=hidden):
        tensor = Tensor(logits, requires_grad=True)
        loss = F.cross_entropy(tensor, labels)
        loss.backward()
        what = f"your softmax_cross_entropy(logits {number(logits)}, labels {labels.tolist()})"
        got_loss, got_grad = _pair(student.softmax_cross_entropy(logits.copy(), labels.copy()),
                                   what, 2)
        unstable = np.abs(logits).max() > 100
        hint = ("It is not finite: take each row's max off before exp (exp(1000) overflows), "
                "and compute log p as (z − max z) − log Σ exp(z − max z), not log(p)."
                if unstable and not np.all(np.isfinite(np.asarray(got_loss, dtype=float)))
                else None)
        expect_close(got_loss, loss.item(), f"{what}: the loss", "−(1/N) Σ log p[label]",
                     hint=hint, verb="is")
        want = tensor.grad
        if close(got_grad, want * len(labels)) and len(labels) > 1:
            hint = "Divide by N: the loss is a mean over the batch."
        expect_close(got_grad, want, f"{what}: dlogits", "(p − onehot(labels)) / N",
                     hint=hint, verb="is")


# ------------------------------------------------------------------ 5.4-5.6 convolution


def _conv_case(rng: np.random.Generator) -> tuple:
    n, c, f = (int(s) for s in rng.integers(1, 4, 3))
    kh, kw = (int(s) for s in rng.integers(1, 4, 2))
    stride = int(rng.integers(1, 3))
    h, w = kh + int(rng.integers(0, 5)), kw + int(rng.integers(0, 5))
    x = rng.normal(size=(n, c, h, w)).round(2)
    weight = rng.normal(size=(f, c, kh, kw)).round(2)
    return x, weight, rng.normal(size=f).round(2), stride


CONV_PUBLIC = [
    (np.arange(16.0).reshape(1, 1, 4, 4), np.array([[[[1.0, 0.0], [0.0, -1.0]]]]),
     np.array([0.5]), 1),
    (np.arange(2 * 2 * 5 * 5, dtype=float).reshape(2, 2, 5, 5) / 10,
     np.linspace(-1, 1, 3 * 2 * 3 * 3).reshape(3, 2, 3, 3), np.array([0.0, 1.0, -1.0]), 2),
]


@exercise(points=1, forbid=("Tensor", "im2col", "unfold"), stub='''
def im2col(x, kh, kw, stride=1):
    """Task: cut images x (N, C, H, W) into the windows a kh x kw kernel sees, one window
    per column: return an array (N, C*kh*kw, L). The window at output position (i, j)
    (row i, column j; L = OH*OW positions, row by row, OH = (H - kh) // stride + 1 and
    likewise OW) is x[:, :, i*stride : i*stride+kh, j*stride : j*stride+kw], flattened
    (channel, then kernel row, then kernel column) into column i*OW + j.
    Worked number: x = 0..15 as (1, 1, 4, 4), a 2 x 2 kernel, stride 2: 4 columns, the
    first [0, 1, 4, 5], the last [10, 11, 14, 15].
    """
    raise NotImplementedError
''')
def im2col(student):
    """im2col: the windows as columns"""
    public = [(np.arange(16.0).reshape(1, 1, 4, 4), 2, 2, 2), (CONV_PUBLIC[1][0], 3, 2, 1)]
    for x, kh, kw, stride in cases(public, hidden={"random shapes": lambda rng: (
            (lambda case: (case[0], *case[1].shape[2:], case[3]))(_conv_case(rng)))}):
        want = F.im2col(Tensor(x), (kh, kw), stride=stride).data
        got = student.im2col(x.copy(), kh, kw, stride)
        what = f"your im2col(x of shape {x.shape}, {kh}, {kw}, stride={stride})"
        expect(np.shape(got) == want.shape, f"{what} has shape {_shape(got)}; expected "
               f"{want.shape} = (N, C·kh·kw, OH·OW).")
        expect_close(got, want, what, "one window per column", verb="is")


@exercise(points=1, forbid=("Tensor", "conv2d", "im2col"), stub='''
def conv2d_forward(x, w, b, stride=1):
    """Task: the convolution of x (N, C, H, W) by w (F, C, kh, kw) plus a bias b (F,), as
    one matrix product: w.reshape(F, -1) @ im2col(x, kh, kw, stride) gives (N, F, L);
    add b to each filter's row and reshape to (N, F, OH, OW).
    Formula: out[n, f, i, j] = b[f] + Σ_c,u,v w[f, c, u, v] x[n, c, i*s + u, j*s + v].
    Worked number: x = 0..15 as (1, 1, 4, 4), w = [[[[1, 0], [0, -1]]]], b = [0.5],
    stride 1: every output is x[i, j] - x[i+1, j+1] + 0.5 = -5 + 0.5 = -4.5.
    """
    raise NotImplementedError
''')
def conv2d_forward(student):
    """A convolution as im2col + matmul"""
    for x, weight, bias, stride in cases(CONV_PUBLIC, hidden={"random shapes": _conv_case}):
        want = F.conv2d(Tensor(x), Tensor(weight), Tensor(bias), stride=stride).data
        got = student.conv2d_forward(x.copy(), weight.copy(), bias.copy(), stride)
        what = (f"your conv2d_forward(x {x.shape}, w {weight.shape}, b {bias.shape}, "
                f"stride={stride})")
        expect(np.shape(got) == want.shape, f"{what} has shape {_shape(got)}; expected "
               f"{want.shape} = (N, F, OH, OW).")
        expect_close(got, want, what, "b + w.reshape(F, -1) @ im2col(x)", verb="is")


@exercise(points=2, forbid=("Tensor", "backward", "conv2d", "im2col", "col2im"), stub='''
def conv2d_backward(x, w, grad, stride=1):
    """Task: for out = conv2d_forward(x, w, b, stride) and grad = dL/dout (N, F, OH, OW),
    return (dx, dw, db) shaped like x, w and b. With cols = im2col(x, kh, kw, stride) and
    g = grad.reshape(N, F, L), the matmul backward (exercise 5.2) gives
        dw = Σ_n g[n] @ cols[n].T   (then reshape to w's shape)
        db = grad summed over N, OH and OW
        dcols[n] = w.reshape(F, -1).T @ g[n]
    and dx puts each column of dcols back where its window came from (col2im). Windows
    overlap, so ADD (+=) into dx: a pixel seen by several windows gets every share.
    Worked number: x (1, 1, 3, 3), w = [[[[1, 1], [1, 1]]]], grad all ones (1, 1, 2, 2):
    dx = [[1, 2, 1], [2, 4, 2], [1, 2, 1]] (the centre is in all 4 windows), db = [4].
    """
    raise NotImplementedError
''')
def conv2d_backward(student):
    """The convolution's backward"""
    public = [(np.arange(9.0).reshape(1, 1, 3, 3), np.ones((1, 1, 2, 2)), np.zeros(1), 1),
              *CONV_PUBLIC]
    for x, weight, bias, stride in cases(public, hidden={"random shapes": _conv_case}):
        out = F.conv2d(Tensor(x), Tensor(weight), Tensor(bias), stride=stride)
        rng = np.random.default_rng(x.size)
        grad = np.ones(out.shape) if x.shape == (1, 1, 3, 3) else \
            rng.normal(size=out.shape).round(2)
        dx, dw, db = _gradients(lambda a, b, c, s=stride: F.conv2d(a, b, c, stride=s), x, weight,
                                bias, grad=grad)
        what = f"your conv2d_backward(x {x.shape}, w {weight.shape}, grad {grad.shape}, " \
               f"stride={stride})"
        got = _pair(student.conv2d_backward(x.copy(), weight.copy(), grad.copy(), stride),
                    what, 3)
        for name, mine, want, formula in (("dw", got[1], dw, "Σ_n g[n] @ cols[n].T"),
                                          ("db", got[2], db, "grad summed over N, OH, OW"),
                                          ("dx", got[0], dx, "col2im(wᵀ g), overlaps added")):
            expect(np.shape(mine) == want.shape, f"{what}: {name} has shape {_shape(mine)}; "
                   f"expected {want.shape}.")
            hint = None
            if name == "dx" and not close(mine, want) and stride < weight.shape[2]:
                hint = ("Where windows overlap a pixel gets the sum of every window's share: "
                        "add (+=) into dx, do not assign.")
            expect_close(mine, want, f"{what}: {name}", formula, hint=hint, verb="is")


# ------------------------------------------------------------------ 5.7 max-pool


def _pool_case(rng: np.random.Generator) -> tuple:
    n, c = (int(s) for s in rng.integers(1, 3, 2))
    size = int(rng.integers(2, 4))
    oh, ow = (int(s) for s in rng.integers(1, 4, 2))
    return rng.permutation(n * c * oh * size * ow * size).reshape(
        n, c, oh * size, ow * size) / 10.0 - 1.0, size  # distinct values: one argmax each


@exercise(points=2, forbid=("Tensor", "backward", "max_pool2d"), stub='''
def maxpool_backward(x, grad_out, size):
    """Task: max-pooling takes the largest value of each size x size window of x
    (N, C, H, W), stride = size, giving (N, C, H/size, W/size). Its backward sends each
    window's gradient grad_out[n, c, i, j] to the ONE element that was the maximum (the
    argmax of the window) and 0 to the others. Return dx, shaped like x.
    Formula: dx[n, c, i*size + r, j*size + s] = grad_out[n, c, i, j] where (r, s) is the
    argmax of that window (np.argmax of the flattened window, then np.unravel_index).
    Worked number: x = [[1, 3], [2, 0]] as (1, 1, 2, 2), size 2, grad_out [[[[5]]]]:
    dx = [[0, 5], [0, 0]].
    """
    raise NotImplementedError
''')
def maxpool_backward(student):
    """Max-pool's backward: the gradient goes to the argmax"""
    public = [(np.array([[[[1.0, 3.0], [2.0, 0.0]]]]), 2),
              (np.arange(32.0).reshape(2, 1, 4, 4)[:, :, ::-1, :] % 7 + np.arange(16).reshape(
                  4, 4) / 100, 2)]
    for x, size in cases(public, hidden={"random shapes": _pool_case}, count=2):
        x = np.ascontiguousarray(x)
        out = F.max_pool2d(Tensor(x), size)
        grad = np.full(out.shape, 5.0) if x.shape == (1, 1, 2, 2) else \
            np.random.default_rng(x.size).normal(size=out.shape).round(2)
        want = _gradients(lambda a, k=size: F.max_pool2d(a, k), x, grad=grad)[0]
        what = f"your maxpool_backward(x of shape {x.shape}, grad_out {grad.shape}, {size})"
        got = student.maxpool_backward(x.copy(), grad.copy(), size)
        expect(np.shape(got) == x.shape, f"{what} has shape {_shape(got)}; expected x's "
               f"shape {x.shape}.")
        hint = None
        spread = np.kron(grad, np.ones((size, size)))
        if close(got, spread) or close(got, spread / size ** 2):
            hint = ("That spreads the gradient over the whole window (average-pooling); "
                    "max-pooling sends it to the argmax only.")
        expect_close(got, want, what, "grad_out at each window's argmax, 0 elsewhere",
                     hint=hint, verb="is")
