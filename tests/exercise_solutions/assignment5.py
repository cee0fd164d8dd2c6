"""Reference solutions of assignment 5 (kept with the tests, never in the student's stub)."""

import numpy as np

ASSIGNMENT = 5


def unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def matmul_backward(A, B, grad):
    return grad @ B.T, A.T @ grad


def softmax_cross_entropy(logits, labels):
    n = len(labels)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    p = np.exp(log_p)
    loss = -np.mean(log_p[np.arange(n), labels])
    onehot = np.zeros_like(p)
    onehot[np.arange(n), labels] = 1.0
    return float(loss), (p - onehot) / n


def im2col(x, kh, kw, stride=1):
    n, c, h, w = x.shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    cols = np.empty((n, c * kh * kw, oh * ow))
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            cols[:, :, i * ow + j] = window.reshape(n, -1)
    return cols


def conv2d_forward(x, w, b, stride=1):
    n, _, h, width = x.shape
    f, _, kh, kw = w.shape
    oh, ow = (h - kh) // stride + 1, (width - kw) // stride + 1
    out = w.reshape(f, -1) @ im2col(x, kh, kw, stride) + b[:, None]
    return out.reshape(n, f, oh, ow)


def conv2d_backward(x, w, grad, stride=1):
    n, c, h, width = x.shape
    f, _, kh, kw = w.shape
    oh, ow = grad.shape[2:]
    g = grad.reshape(n, f, oh * ow)
    cols = im2col(x, kh, kw, stride)
    dw = np.einsum("nfl,nkl->fk", g, cols).reshape(w.shape)
    db = grad.sum(axis=(0, 2, 3))
    dcols = np.einsum("fk,nfl->nkl", w.reshape(f, -1), g)
    dx = np.zeros_like(x)
    for i in range(oh):
        for j in range(ow):
            dx[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += \
                dcols[:, :, i * ow + j].reshape(n, c, kh, kw)
    return dx, dw, db


def maxpool_backward(x, grad_out, size):
    dx = np.zeros_like(x)
    n, c, oh, ow = grad_out.shape
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * size:(i + 1) * size, j * size:(j + 1) * size]
            flat = window.reshape(n, c, -1).argmax(axis=2)
            r, s = np.unravel_index(flat, (size, size))
            for a in range(n):
                for b in range(c):
                    dx[a, b, i * size + r[a, b], j * size + s[a, b]] += grad_out[a, b, i, j]
    return dx
