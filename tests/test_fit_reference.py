"""fit computes exactly what the maths says: a fixed-seed run against the same training
written by hand in numpy (forward, backward and optimizer), loss history equal to 1e-12.

The speed work on the engine, the layers and the optimizers must never change a number;
this test is its guard. The reference shares nothing with chaingrad but the starting
weights and the shuffles (both drawn from the same seeds).
"""

import numpy as np
import pytest

from chaingrad import nn
from chaingrad.nn import data

X, Y = data.moons(200, noise=0.1, seed=5)
Y = Y.astype(float).reshape(-1, 1)
EPOCHS, BATCH, SEED = 15, 32, 11


def _sgd(lr):
    def update(params, grads, state):
        for p, g in zip(params, grads):
            p -= lr * g

    return update


def _adam(lr, beta1=0.9, beta2=0.999, eps=1e-8):
    def update(params, grads, state):
        state["t"] = t = state.get("t", 0) + 1
        for i, (p, g) in enumerate(zip(params, grads)):
            m = state[("m", i)] = beta1 * state.get(("m", i), 0.0) + (1 - beta1) * g
            v = state[("v", i)] = beta2 * state.get(("v", i), 0.0) + (1 - beta2) * g * g
            denominator = np.sqrt(v) / np.sqrt(1 - beta2**t) + eps
            p -= (lr / (1 - beta1**t)) * m / denominator

    return update


def _numpy_fit(weights, update):
    """2-16-16-1 tanh MLP, binary cross-entropy on the logit, mini-batches: by hand."""
    W1, b1, W2, b2, W3, b3 = params = [w.copy() for w in weights]
    generator = np.random.default_rng(SEED)  # fit's shuffles: one permutation per epoch
    state, history = {}, []
    for _ in range(EPOCHS):
        order, total = generator.permutation(len(X)), 0.0
        for start in range(0, len(X), BATCH):
            rows = order[start:start + BATCH]
            x, t = X[rows], Y[rows]
            h1 = np.tanh(x @ W1 + b1)
            h2 = np.tanh(h1 @ W2 + b2)
            z = h2 @ W3 + b3
            total += np.mean(np.logaddexp(0.0, z) - t * z) * len(rows)
            dz = (0.5 * (1 + np.tanh(0.5 * z)) - t) * (1.0 / z.size)
            d2 = (dz @ W3.T) * (1 - h2 * h2)
            d1 = (d2 @ W2.T) * (1 - h1 * h1)
            grads = [x.T @ d1, d1.sum(axis=0), h1.T @ d2, d2.sum(axis=0), h2.T @ dz,
                     dz.sum(axis=0)]
            update(params, grads, state)
        history.append(total / len(X))
    return history


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fit_gives_the_hand_written_loss_history(optimizer):
    model = nn.MLP(2, [16, 16, 1], activation="tanh", seed=3)
    lr = 0.1 if optimizer == "sgd" else 0.01
    weights = [p.data.copy() for p in model.parameters()]
    model.compile(loss="bce_with_logits", optimizer=optimizer, lr=lr)
    history = model.fit(X, Y, epochs=EPOCHS, batch_size=BATCH, verbose=0, seed=SEED)
    update = _sgd(lr) if optimizer == "sgd" else _adam(lr)
    expected = _numpy_fit(weights, update)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]  # it learned
    assert np.max(np.abs(np.subtract(history.history["loss"], expected))) <= 1e-12
