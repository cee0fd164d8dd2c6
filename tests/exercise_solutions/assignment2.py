"""Reference solutions of assignment 2 (kept with the tests, never in the student's stub)."""

import numpy as np

from chaingrad import Tensor

ASSIGNMENT = 2


def gradient_descent_step(w, grad, lr):
    return w - lr * grad


class Momentum:
    def __init__(self, lr, alpha):
        self.lr = lr
        self.alpha = alpha
        self.delta = 0.0

    def step(self, w, grad):
        self.delta = -self.lr * grad + self.alpha * self.delta
        return w + self.delta


def mse_and_gradient(prediction, target):
    n = len(prediction)
    error = prediction - target
    return np.sum(error ** 2) / n, 2 * error / n


def bce_and_gradient(p, y):
    n = len(p)
    loss = -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)) / n
    return loss, (p - y) / (p * (1 - p)) / n


def training_step(model, loss_fn, X, y, lr):
    model.zero_grad()
    loss = loss_fn(model(Tensor(X)), y)
    loss.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    return loss.item()


def train(model, loss_fn, X, y, epochs, lr):
    return [training_step(model, loss_fn, X, y, lr) for _ in range(epochs)]


def split_data(X, y, fractions=(0.6, 0.2, 0.2), seed=0):
    n = len(X)
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_val = round(fractions[0] * n), round(fractions[1] * n)
    parts = np.split(order, [n_train, n_train + n_val])
    return tuple((X[part], y[part]) for part in parts)


class EarlyStopping:
    def __init__(self, patience):
        self.patience = patience
        self.best_loss = float("inf")
        self.best_epoch = None

    def update(self, epoch, val_loss):
        if val_loss < self.best_loss:
            self.best_loss, self.best_epoch = val_loss, epoch
        return epoch - self.best_epoch >= self.patience
