""""Show code": the Python script that rebuilds the page's set-up and trains it.

The script does what ``Session.train_epoch`` does, with the same seeds, the same
initialisation and the same changes of live settings at the same epochs, so it reaches
the loss the page shows. What a script cannot replay (a network loaded from a file, points
added after training began) is said at its top.
"""

from __future__ import annotations

from typing import Any

TEMPLATE = '''\
"""Made by the chaingrad playground: {summary}.
{note}
Run it with: python playground_network.py
"""

import numpy as np

from chaingrad import nn
from chaingrad.autograd import Tensor, no_grad
from chaingrad.lessons.playground.data import dataset, features

FEATURES = {features!r}
EPOCHS = {epochs}

# The points: {dataset}, noise {noise}, {train_percent}% of them for training.
train_points, train_labels, test_points, test_labels = dataset(
    {dataset!r}, n={n_points}, noise={noise}, train_share={train_share}, seed={data_seed})
{extra}X_train, X_test = features(train_points, FEATURES), features(test_points, FEATURES)
y_train, y_test = train_labels[:, None], test_labels[:, None]

# The network: {n_features} inputs, hidden layers {hidden}, one output ({output}).
model = nn.MLP({n_features}, {sizes}, activation={activation},
               output_activation={output_name}, seed={seed})
# TensorFlow Playground's initialisation: weights uniform in [-0.5, 0.5], biases 0.1
generator = np.random.default_rng({seed})
weights = [layer.weight for layer in model if isinstance(layer, nn.Linear)]
for layer in model:
    if isinstance(layer, nn.Linear):
        layer.weight.data = generator.uniform(-0.5, 0.5, layer.weight.shape)
        layer.bias.data = np.full(layer.bias.shape, 0.1)
shuffle = np.random.default_rng({shuffle_seed})

settings = {settings!r}
{changes}optimizer = nn.optim.SGD(model, lr=settings["learning_rate"])


def loss_of(prediction, target):
    """TensorFlow Playground's loss: the mean of 1/2 (prediction - target)**2."""
    return 0.5 * nn.losses.mse(prediction, target)


def penalty():
    """The regularization term added to the loss (0 for none)."""
    if settings["regularization"] == "L1":
        return nn.losses.l1_penalty(weights, lam=settings["regularization_rate"])
    if settings["regularization"] == "L2":
        return nn.losses.l2_penalty(weights, lam=settings["regularization_rate"])
    return 0.0


def losses():
    """The loss on the training points and on the test points."""
    model.eval()  # evaluation mode: no random slopes, nothing drawn
    with no_grad():
        train = loss_of(model(Tensor(X_train)), y_train).item()
        test = loss_of(model(Tensor(X_test)), y_test).item()
    model.train()
    return train, test


for epoch in range(1, EPOCHS + 1):
{apply_changes}    optimizer.lr = settings["learning_rate"]
    order = shuffle.permutation(len(X_train))
    for start in range(0, len(order), settings["batch_size"]):
        batch = order[start:start + settings["batch_size"]]
        optimizer.zero_grad()
        loss = loss_of(model(Tensor(X_train[batch])), y_train[batch])
        if settings["regularization"] != "none" and settings["regularization_rate"] > 0:
            loss = loss + penalty()
        loss.backward()
        optimizer.step()
    if epoch % max(1, EPOCHS // 10) == 0 or epoch == EPOCHS:
        train_loss, test_loss = losses()
        print(f"epoch {{epoch:4d}}  training loss {{train_loss:.4f}}  test loss {{test_loss:.4f}}")
'''


def script(setup, extra_points: list[tuple[float, float, float]], epochs: int,
           start: dict[str, Any] | None = None,
           schedule: list[tuple[int, dict[str, Any]]] | None = None,
           note: str | None = None) -> str:
    """The script's text for a Setup, the points added by clicking, a number of epochs,
    the live settings the run began with and the ones changed (from which epoch) since."""
    classification = setup.problem == "classification"
    extra = ""
    if extra_points:
        rows = ", ".join(f"[{x1!r}, {x2!r}, {label!r}]" for x1, x2, label in extra_points)
        extra = ("added = np.array([" + rows + "])  # the points you added by clicking\n"
                 "train_points = np.vstack([train_points, added[:, :2]])\n"
                 "train_labels = np.concatenate([train_labels, added[:, 2]])\n")
    activation = repr(setup.activation)
    if setup.activation == "rrelu":  # seeded, as the playground seeds it
        activation = f"nn.activations.RReLU(seed={setup.seed})"
    summary = (f"{setup.dataset} {setup.problem}, features {', '.join(setup.features)}, "
               f"hidden layers {setup.hidden}, {setup.activation}")
    settings = start or {key: getattr(setup, key) for key in
                         ("learning_rate", "regularization", "regularization_rate",
                          "batch_size")}
    changes = apply_changes = ""
    if schedule:
        table = {epoch: changed for epoch, changed in schedule if epoch <= epochs}
        changes = ("# the settings you changed on the page while it trained, by the epoch\n"
                   f"CHANGES = {table!r}\n")
        apply_changes = "    settings.update(CHANGES.get(epoch, {}))\n"
    return TEMPLATE.format(
        summary=summary, note=f"\nNote: {note}.\n" if note else "", features=list(setup.features),
        epochs=epochs, dataset=setup.dataset, noise=setup.noise,
        train_percent=round(setup.train_share * 100), n_points=setup.n_points,
        train_share=setup.train_share, data_seed=setup.data_seed, extra=extra,
        n_features=len(setup.features), hidden=list(setup.hidden),
        output="tanh, labels -1 and +1" if classification else "linear",
        sizes=[*setup.hidden, 1], activation=activation,
        output_name="'tanh'" if classification else None, seed=setup.seed,
        shuffle_seed=setup.seed + 1000, settings=dict(settings), changes=changes,
        apply_changes=apply_changes)
