""""Show code": the Python script that rebuilds the page's set-up and trains it.

The script does what ``Session.train_epoch`` does, with the same seeds, so it reaches the
loss the page shows (exactly, when the settings were not changed during training).
"""

from __future__ import annotations

TEMPLATE = '''\
"""Made by the chaingrad playground: {summary}.

Run it with: python playground_network.py
"""

import numpy as np

from chaingrad import nn
from chaingrad.autograd import Tensor, no_grad
from chaingrad.lessons.playground.data import dataset, features

FEATURES = {features!r}
EPOCHS = {epochs}
BATCH_SIZE = {batch_size}

# The points: {dataset}, noise {noise}, {train_percent}% of them for training.
train_points, train_labels, test_points, test_labels = dataset(
    {dataset!r}, n={n_points}, noise={noise}, train_share={train_share}, seed={data_seed})
{extra}X_train, X_test = features(train_points, FEATURES), features(test_points, FEATURES)
y_train, y_test = train_labels[:, None], test_labels[:, None]

# The network: {n_features} inputs, hidden layers {hidden}, one output ({output}).
model = nn.MLP({n_features}, {sizes}, activation={activation},
               output_activation={output_name}, seed={seed})
optimizer = nn.optim.SGD(model, lr={learning_rate})
weights = [layer.weight for layer in model if isinstance(layer, nn.Linear)]
shuffle = np.random.default_rng({shuffle_seed})


def losses():
    """Mean squared error on the training points and on the test points."""
    model.eval()  # evaluation mode: no random slopes, nothing drawn
    with no_grad():
        train = nn.losses.mse(model(Tensor(X_train)), y_train).item()
        test = nn.losses.mse(model(Tensor(X_test)), y_test).item()
    model.train()
    return train, test


for epoch in range(1, EPOCHS + 1):
    order = shuffle.permutation(len(X_train))
    for start in range(0, len(order), BATCH_SIZE):
        batch = order[start:start + BATCH_SIZE]
        optimizer.zero_grad()
        loss = nn.losses.mse(model(Tensor(X_train[batch])), y_train[batch]){penalty}
        loss.backward()
        optimizer.step()
    if epoch % max(1, EPOCHS // 10) == 0 or epoch == EPOCHS:
        train_loss, test_loss = losses()
        print(f"epoch {{epoch:4d}}  training loss {{train_loss:.4f}}  test loss {{test_loss:.4f}}")
'''


def script(setup, extra_points: list[tuple[float, float, float]], epochs: int) -> str:
    """The script's text for a Setup, the points added by clicking, and a number of epochs."""
    classification = setup.problem == "classification"
    penalty = ""
    if setup.regularization != "none" and setup.regularization_rate > 0:
        function = "l1_penalty" if setup.regularization == "L1" else "l2_penalty"
        penalty = f" + nn.losses.{function}(weights, lam={setup.regularization_rate})"
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
    return TEMPLATE.format(
        summary=summary, features=list(setup.features), epochs=epochs,
        batch_size=setup.batch_size, dataset=setup.dataset, noise=setup.noise,
        train_percent=round(setup.train_share * 100), n_points=setup.n_points,
        train_share=setup.train_share, data_seed=setup.data_seed, extra=extra,
        n_features=len(setup.features), hidden=list(setup.hidden),
        output="tanh, labels -1 and +1" if classification else "linear",
        sizes=[*setup.hidden, 1], activation=activation,
        output_name="'tanh'" if classification else None, seed=setup.seed,
        learning_rate=setup.learning_rate, shuffle_seed=setup.seed + 1000, penalty=penalty)
