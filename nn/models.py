"""Small ready-made models of the course: a linear softmax classifier, a CNN for the 8x8
digits, a dense autoencoder and a recurrent network with a read-out.

Each is an ordinary Module built from the layers of ``nn``, so ``model.summary()``,
``compile``/``fit`` and ``save``/``load`` work on it::

    X, y = nn.data.digits("train")
    cnn = nn.models.DigitsCNN(seed=0)
    cnn.compile(loss="cross_entropy", optimizer="adam", lr=0.002, metrics=["accuracy"])
    cnn.fit(X, y, epochs=20, batch_size=32)     # about 2% test error
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from .activations import ReLU, Sigmoid, Tanh
from .conv import Conv2d, MaxPool2d, Reshape
from .layers import Flatten, Linear, Sequential, as_tensor
from .module import Module, rng

Seed = int | np.random.Generator | None


class LinearClassifier(Sequential):
    """Softmax regression: logits z = x W + b, one score per class (the course's "linear").

    Train with the cross-entropy loss, which applies the softmax; the predicted class is
    the largest logit. Images of any shape are flattened first.
    """

    def __init__(self, n_in: int = 64, n_classes: int = 10, seed: Seed = None) -> None:
        super().__init__(Flatten(), Linear(n_in, n_classes, seed=seed))


class DigitsCNN(Sequential):
    """A small convolutional network for 8x8 one-channel images (the digits), giving logits.

    (N, 8, 8) -> conv 3x3, ``channels[0]`` maps, relu -> max-pool 2 -> (c0, 4, 4)
              -> conv 3x3, ``channels[1]`` maps, relu -> max-pool 2 -> (c1, 2, 2)
              -> flatten -> dense ``hidden``, relu -> dense ``n_classes``

    The convolutions use padding 1, so they keep the size and only the pooling halves it.
    Accepts (N, 64), (N, 8, 8) or (N, 1, 8, 8).
    """

    def __init__(
        self,
        channels: tuple[int, int] = (32, 64),
        hidden: int = 128,
        n_classes: int = 10,
        seed: Seed = None,
    ) -> None:
        generator = rng(seed)
        first, second = channels
        super().__init__(
            Reshape(1, 8, 8),
            Conv2d(1, first, 3, padding=1, seed=generator), ReLU(), MaxPool2d(2),
            Conv2d(first, second, 3, padding=1, seed=generator), ReLU(), MaxPool2d(2),
            Flatten(),
            Linear(second * 2 * 2, hidden, init="he", seed=generator), ReLU(),
            Linear(hidden, n_classes, seed=generator),
        )
        self.n_in = 64  # what summary() feeds in when no input shape is given


class Autoencoder(Module):
    """A dense autoencoder: squeeze the input through a small code, then rebuild it.

    encoder: x (n_in) -> tanh(hidden) -> code (linear, ``code`` numbers)
    decoder: code -> tanh(hidden) -> sigmoid(n_in), pixels in [0, 1]

    Trained to reproduce its input (``fit(X, X)`` with the mse loss), it must keep in the
    code what matters most about the input: a learnt, non-linear compression.
    """

    def __init__(self, n_in: int = 64, code: int = 8, hidden: int = 32, seed: Seed = None):
        generator = rng(seed)
        self.encoder = Sequential(
            Flatten(), Linear(n_in, hidden, seed=generator), Tanh(),
            Linear(hidden, code, seed=generator),
        )
        self.decoder = Sequential(
            Linear(code, hidden, seed=generator), Tanh(),
            Linear(hidden, n_in, seed=generator), Sigmoid(),
        )
        self.n_in, self.code = n_in, code

    def encode(self, x: Tensor) -> Tensor:
        """The code of each example: (N, code)."""
        return self.encoder(x)

    def decode(self, code: Tensor) -> Tensor:
        """The reconstruction from a code: (N, n_in)."""
        return self.decoder(code)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))


class SequenceModel(Module):
    """A recurrent layer plus a linear read-out: y_t = h_t W + b at every step.

    ``recurrent`` is an ``RNN``, ``LSTM`` or ``GRU`` (anything returning (outputs, state)).
    The model returns (batch, time, n_out), or only the last step (batch, n_out) with
    ``last_only=True`` (to classify a whole sequence, e.g. its parity).
    """

    def __init__(
        self, recurrent: Module, n_out: int, last_only: bool = False, seed: Seed = None
    ) -> None:
        self.recurrent = recurrent
        self.readout = Linear(recurrent.cell.hidden, n_out, seed=seed)
        self.last_only = last_only

    def forward(self, x: Tensor) -> Tensor:
        outputs, _ = self.recurrent(as_tensor(x))
        if self.last_only:
            return self.readout(outputs[:, -1])
        return self.readout(outputs)


__all__ = ["Autoencoder", "DigitsCNN", "LinearClassifier", "SequenceModel"]
