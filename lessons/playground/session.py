"""One playground network: its set-up, data, model, training loop and pictures.

A ``Session`` belongs to one browser tab. Training runs on chaingrad (``nn.MLP``,
``nn.optim.SGD``, ``nn.losses``) in a thread of its own while the tab says "Play"; the
tab asks for a ``snapshot()`` whenever it is ready to draw, so training never waits for
the browser. Everything is guarded by one lock, held for one epoch or one snapshot.

Each training step is captured (``chaingrad.capture``): the batch's forward and backward
are recorded once per network and regularisation, and replayed for every batch, the same
numbers bit for bit as eager, without a graph built per batch. A network that capture
cannot follow (rrelu's random slopes, an activation that picks its piece with numpy) is
trained eagerly; the page says which (``step_status``). The graph of one point is always
built eagerly, from Values: it is what the student reads.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import functools
import io
import json
import threading
import time
import traceback
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ... import nn
from ...autograd import Captured, CaptureError, OpError, Tensor, Value, capture, no_grad
from .data import CLASSIFICATION, FEATURES, RADIUS, REGRESSION, dataset, features

ACTIVATIONS = tuple(nn.activations.FUNCTIONS)
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REGULARIZATIONS = ("none", "L1", "L2")
REGULARIZATION_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
PROBLEMS = ("classification", "regression")
MAX_LAYERS, MAX_NEURONS = 6, 8
SURFACE = 50  # the output surface is SURFACE x SURFACE
NEURON_MAP = 25  # each neuron's small heat map is NEURON_MAP x NEURON_MAP
MAX_EXTRA_POINTS = 200
GRAPH_NODE_LIMIT = 400  # above this, the point's graph is collapsed into one box per neuron
MAX_EPOCHS_PER_SECOND = 60  # like TensorFlow Playground: about one epoch per frame
IDLE_SECONDS = 10  # a tab not heard from for this long is paused (closed, or hidden long)
# what Load network accepts: a saved network is a few kilobytes
MAX_LOAD_BYTES = 200_000  # the file as sent
MAX_UNPACKED_BYTES = 400_000  # its members once decompressed, declared and read
MAX_EPOCH = 10_000_000  # about two days of training at 60 epochs a second
MAX_WEIGHT = 1000.0  # larger weights come from no training the playground does


class SetupError(ValueError):
    """A set-up the playground cannot build; the message is meant for the page."""


@dataclass
class Setup:
    """Every control of the page that changes what is trained, and how."""

    dataset: str = "circle"
    problem: str = "classification"
    noise: float = 0.0
    train_share: float = 0.5
    batch_size: int = 10
    features: list[str] = field(default_factory=lambda: ["x1", "x2"])
    hidden: list[int] = field(default_factory=lambda: [4, 2])
    activation: str = "tanh"
    learning_rate: float = 0.03
    regularization: str = "none"
    regularization_rate: float = 0.0
    seed: int = 0  # the weights' initialisation and the order of the batches
    data_seed: int = 0  # the points
    n_points: int = 500

    def changed(self, changes: dict[str, Any]) -> Setup:
        """A checked copy with ``changes`` applied (a SetupError says what is wrong)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise SetupError(f"unknown setting {unknown[0]!r}")
        new = dataclasses.replace(self, **changes)
        new.check()
        return new

    def check(self) -> None:
        """Raise SetupError naming the first setting out of range."""
        problems = CLASSIFICATION if self.problem == "classification" else REGRESSION
        _require(self.problem in PROBLEMS, f"problem must be one of {', '.join(PROBLEMS)}")
        _require(self.dataset in problems,
                 f"data set for {self.problem} must be one of {', '.join(problems)}")
        _require(_number(self.noise) and 0 <= self.noise <= 0.5, "noise must be 0 to 0.5")
        _require(_number(self.train_share) and 0.1 <= self.train_share <= 0.9,
                 "training share must be 0.1 to 0.9")
        _require(_whole(self.batch_size) and 1 <= self.batch_size <= 30,
                 "batch size must be 1 to 30")
        _require(isinstance(self.features, list) and len(self.features) >= 1
                 and all(f in FEATURES for f in self.features)
                 and len(set(self.features)) == len(self.features),
                 f"features must be one or more of {', '.join(FEATURES)}")
        _require(isinstance(self.hidden, list) and len(self.hidden) <= MAX_LAYERS
                 and all(_whole(n) and 1 <= n <= MAX_NEURONS for n in self.hidden),
                 f"hidden layers: at most {MAX_LAYERS}, each of 1 to {MAX_NEURONS} neurons")
        _require(self.activation in ACTIVATIONS,
                 f"activation must be one of {', '.join(ACTIVATIONS)}")
        _require(self.learning_rate in LEARNING_RATES,
                 f"learning rate must be one of {', '.join(map(str, LEARNING_RATES))}")
        _require(self.regularization in REGULARIZATIONS, "regularization must be none, L1 or L2")
        _require(self.regularization_rate in REGULARIZATION_RATES,
                 "regularization rate must be one of "
                 f"{', '.join(map(str, REGULARIZATION_RATES))}")
        _require(_whole(self.seed) and 0 <= self.seed < 2**31, "seed must be a whole number")
        _require(_whole(self.data_seed) and 0 <= self.data_seed < 2**31,
                 "data seed must be a whole number")
        _require(_whole(self.n_points) and 20 <= self.n_points <= 1000,
                 "number of points must be 20 to 1000")
        # keep the features in the page's order, so the picture never reshuffles
        self.features = [f for f in FEATURES if f in self.features]

    # settings that change how training goes on, without starting again
    LIVE = ("learning_rate", "regularization", "regularization_rate", "batch_size")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise SetupError(message)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x)


def _whole(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def build_model(setup: Setup) -> nn.MLP:
    """The network of a set-up: tanh output for ±1 labels, a linear one for regression.

    Initialised as TensorFlow Playground does: every weight uniform in [-0.5, 0.5], every
    bias 0.1 (from the set-up's seed), whatever the activation.
    """
    output = "tanh" if setup.problem == "classification" else None
    model = nn.MLP(len(setup.features), [*setup.hidden, 1], activation=activation(setup),
                   output_activation=output, seed=setup.seed)
    initialise_like_tf(model, setup.seed)
    return model


def initialise_like_tf(model: nn.MLP, seed: int) -> None:
    """Weights uniform in [-0.5, 0.5] and biases 0.1, TensorFlow Playground's scheme."""
    generator = np.random.default_rng(seed)
    for layer in linear_layers(model):
        layer.weight.data = generator.uniform(-0.5, 0.5, layer.weight.shape)
        layer.bias.data = np.full(layer.bias.shape, 0.1)


def half_mse(prediction, target):
    """TensorFlow Playground's loss: the mean of ½(ŷ - y)² (its gradient is ŷ - y)."""
    return 0.5 * nn.losses.mse(prediction, target)


def activation(setup: Setup) -> str | nn.Module:
    """The hidden layers' activation; rrelu gets its own seeded generator, so that its
    random slopes repeat (in the page and in the script of "Show code")."""
    if setup.activation == "rrelu":
        return nn.activations.RReLU(seed=setup.seed)
    return setup.activation


@contextlib.contextmanager
def evaluating(model: nn.Module):
    """Evaluation mode (rrelu's slopes fixed, nothing random drawn) for pictures and losses."""
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        model.train()


def linear_layers(model: nn.MLP) -> list[nn.Linear]:
    return [layer for layer in model if isinstance(layer, nn.Linear)]


def penalty(setup: Setup, weights: list[Tensor]):
    """The regularisation term added to the loss (None for "none" or a rate of 0)."""
    if setup.regularization == "none" or setup.regularization_rate == 0:
        return None
    term = nn.losses.l1_penalty if setup.regularization == "L1" else nn.losses.l2_penalty
    return term(weights, lam=setup.regularization_rate)


def encode(values: np.ndarray) -> str:
    """Values in [-1, 1] as base64 of signed bytes (-127..127): small and quick to send."""
    finite = np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=-1.0)
    quantised = np.round(np.clip(finite, -1, 1) * 127).astype(np.int8)
    return base64.b64encode(quantised.tobytes()).decode("ascii")


def encode_columns(values: np.ndarray) -> list[str]:
    """encode() of each column of ``values``, quantised in one go (a layer's neuron maps)."""
    finite = np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=-1.0)
    quantised = np.round(np.clip(finite, -1, 1) * 127).astype(np.int8).T.copy()
    return [base64.b64encode(row.tobytes()).decode("ascii") for row in quantised]


def grid(size: int) -> np.ndarray:
    """(size², 2) points covering the square, row by row from the top (x2 = +RADIUS) down."""
    ticks = np.linspace(-RADIUS, RADIUS, size)
    x1, x2 = np.meshgrid(ticks, ticks[::-1])
    return np.column_stack([x1.ravel(), x2.ravel()])


class Session:
    """One tab's network and its training."""

    # The last losses, None after training diverged: `| Any` (typeshed's "Any trick")
    # lets a script use them as the floats they are otherwise.
    train_loss: float | Any
    test_loss: float | Any

    def __init__(self, setup: Setup | None = None, capture_steps: bool = True) -> None:
        self.capture_steps = capture_steps  # False: every step eager (to compare, to time)
        self.lock = threading.RLock()
        self.epoch_lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.version = 0  # grows whenever anything a snapshot shows changes
        self.run = 0  # grows at every rebuild: the page then starts its curve again
        self.playing = False
        self.thread: threading.Thread | None = None
        self.last_seen = time.monotonic()
        self.extra_points: list[tuple[float, float, float]] = []
        self.selected: tuple[str, int] | None = None
        self.trouble: str | None = None  # why training stopped by itself, for the page
        self.build(setup or Setup())

    # ------------------------------------------------------------ building

    def build(self, setup: Setup) -> None:
        """Start again with ``setup``: new points, new weights, epoch 0."""
        setup.check()
        with self.lock:
            self.setup = setup
            train, train_y, test, test_y = dataset(setup.dataset, setup.n_points, setup.noise,
                                                   setup.train_share, setup.data_seed)
            self.base_train = (train, train_y)
            self.test_points, self.test_labels = test, test_y
            self.model = build_model(setup)
            self.optimizer = nn.optim.SGD(self.model, lr=setup.learning_rate)
            self.shuffle = np.random.default_rng(setup.seed + 1000)
            self.epoch = 0
            self.curve: list[tuple[int, float | None, float | None]] = []
            self.run += 1
            self.selected = None
            self.trouble = None
            # the live settings each epoch was trained with, where they changed: "Show
            # code" replays them; and what a script cannot replay (a load, late points)
            self.live = {key: getattr(setup, key) for key in Setup.LIVE}
            self.start_live = dict(self.live)
            self.schedule: list[tuple[int, dict[str, Any]]] = []
            self.history_note: str | None = None
            self.finite_weights = [p.data.copy() for p in self.model.parameters()]
            self._refresh_inputs()
            self.steps: dict[tuple, Captured | str] = {}  # see _step_for
            self.steps_model = self.model
            if not self._record_losses():
                self._diverged()

    def _refresh_inputs(self) -> None:
        """The feature matrices, after the points or the chosen features changed."""
        train, train_y = self.base_train
        if self.extra_points:
            extra = np.array(self.extra_points)
            train, train_y = np.vstack([train, extra[:, :2]]), np.concatenate([train_y, extra[:, 2]])
        self.train_points, self.train_labels = train, train_y
        names = self.setup.features
        self.X_train, self.X_test = features(train, names), features(self.test_points, names)
        self.y_train, self.y_test = train_y[:, None], self.test_labels[:, None]
        self.surface_inputs = features(grid(SURFACE), names)

    def configure(self, changes: dict[str, Any]) -> None:
        """Apply the page's changes: live ones go on training, the others start again."""
        with self.lock:
            new = self.setup.changed(changes)
            live = all(key in Setup.LIVE for key in changes)
            if live:  # taken at the start of the next epoch (see train_epoch)
                self.setup = new
            else:
                if new.dataset != self.setup.dataset or new.problem != self.setup.problem:
                    self.extra_points = []
                self.build(new)
            self._touch()

    def reset(self) -> None:
        """Fresh random weights (a new seed), epoch 0, the same points."""
        with self.lock:
            self.build(dataclasses.replace(self.setup, seed=self.setup.seed + 1))
            self._touch()

    def regenerate(self) -> None:
        """New points from the same data set; the weights start again too."""
        with self.lock:
            self.extra_points = []
            self.build(dataclasses.replace(self.setup, data_seed=self.setup.data_seed + 1))
            self._touch()

    # ------------------------------------------------------------ training

    def train_epoch(self) -> None:
        """One pass over the training points in shuffled mini-batches of SGD.

        The lock is taken batch by batch, so that the page is drawn and answered even in
        the middle of a long epoch; a rebuild (new set-up, Reset) ends the epoch early.
        ``epoch_lock`` keeps two epochs (Play's thread and Step) from interleaving. The
        live settings (learning rate, batch size, regularization) are read once, at the
        start of the epoch, so that "Show code" can replay a run whose settings changed.
        A loss that becomes infinite (or NaN) stops training with a sentence for the page.
        """
        with self.epoch_lock:
            with self.lock:
                if self.trouble is not None:
                    return
                run, setup = self.run, self.setup
                self._note_live_settings()
                order = self.shuffle.permutation(len(self.X_train))
            for start in range(0, len(order), setup.batch_size):
                with self.lock:
                    if self.run != run:
                        return
                    if not self._train_batch(setup, order[start:start + setup.batch_size]):
                        return
            with self.lock:
                if self.run == run:
                    self.epoch += 1
                    if self._record_losses():
                        self._touch()
                    else:
                        self.epoch -= 1
                        self._diverged()

    def _note_live_settings(self) -> None:
        """Take the live settings for the coming epoch; remember the ones that changed."""
        live = {key: getattr(self.setup, key) for key in Setup.LIVE}
        changed = {key: value for key, value in live.items() if self.live[key] != value}
        if changed and self.epoch == 0:
            self.start_live = dict(live)  # changed before training began: the start
        elif changed:
            self.schedule.append((self.epoch + 1, changed))
        self.live = live
        self.optimizer.lr = live["learning_rate"]

    def _train_batch(self, setup: Setup, batch: np.ndarray) -> bool:
        """One step of SGD on ½·MSE of a batch, plus the penalty; False if it diverged.

        The step is the captured program when there is one (the same numbers as eager),
        else eager: the forward builds the graph, ``backward()`` walks it.
        """
        self.finite_weights = [p.data.copy() for p in self.model.parameters()]
        xb, yb = self.X_train[batch], self.y_train[batch]
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                self.optimizer.zero_grad()
                step = self._step_for(setup, xb, yb)
                if step is not None:
                    try:
                        finite = bool(np.isfinite(step(xb, yb)))  # forward and backward
                    except CaptureError as error:  # its periodic check found it stale
                        self.steps[self._step_key(setup)] = f"capture stopped ({error})"
                        step = None
                if step is None:
                    loss = self._batch_loss(setup)(xb, yb)
                    finite = bool(np.isfinite(loss.item()))
                    if finite:
                        loss.backward()
                if finite:
                    self.optimizer.step()
        except (OpError, FloatingPointError, OverflowError):
            finite = False  # an overflow inside the network: the same story
        if not finite:
            self._diverged()
        return finite

    def _batch_loss(self, setup: Setup):
        """The function of (inputs, labels) a step differentiates: ½·MSE plus the penalty."""
        model, weights = self.model, [layer.weight for layer in linear_layers(self.model)]

        def batch_loss(xb: np.ndarray, yb: np.ndarray) -> Tensor:
            loss = half_mse(model(Tensor(xb)), yb)
            extra = penalty(setup, weights)
            return loss if extra is None else loss + extra

        return batch_loss

    def _step_key(self, setup: Setup) -> tuple:
        """What the captured program depends on besides the weights' values and the batch's
        shape (capture keeps a program per shape): the regularisation. The network itself
        (layers, activation, problem) is new at every rebuild, and so is ``steps``. The
        learning rate is the optimizer's, outside the program."""
        return (setup.regularization, setup.regularization_rate)

    def _step_for(self, setup: Setup, xb: np.ndarray, yb: np.ndarray) -> Captured | None:
        """The captured step for this network and set-up, captured on this batch the first
        time; None where steps run eagerly (``steps`` says why)."""
        if self.steps_model is not self.model:  # a loaded network replaced the model
            self.steps, self.steps_model = {}, self.model
        key = self._step_key(setup)
        if key not in self.steps:
            self.steps[key] = self._capture_step(setup, xb, yb)
        step = self.steps[key]
        return step if isinstance(step, Captured) else None

    def _capture_step(self, setup: Setup, xb: np.ndarray, yb: np.ndarray) -> Captured | str:
        """A captured step, or the sentence that says why steps of this network run eagerly."""
        if not self.capture_steps:
            return "capture is turned off for this network"
        if setup.activation == "rrelu":  # checked first: a capture's traces would draw slopes
            return ("rrelu draws new random slopes at every step, which one recorded "
                    "program cannot repeat")
        try:
            return capture(self._batch_loss(setup), xb, yb)
        except CaptureError as error:  # its first sentence; the rest advises a programmer
            said = str(error).split(";")[0].replace("capture: ", "", 1)
            return f"capture refused the {setup.activation} network's step: {said}"

    def step_status(self) -> dict[str, Any]:
        """How the steps of the current set-up run, for the page: "captured" or "eager",
        and a sentence (for a captured step, its size and how often it was replayed)."""
        with self.lock:
            size = self.setup.batch_size
            try:
                with np.errstate(over="ignore", invalid="ignore"):
                    step = self._step_for(self.setup, self.X_train[:size],
                                          self.y_train[:size])
            except (OpError, FloatingPointError, OverflowError):  # weights out of range
                return {"mode": "eager", "text": "No step can run on these weights."}
            if step is None:
                reason = self.steps[self._step_key(self.setup)]
                return {"mode": "eager", "text": "Each step runs eagerly (a graph built and "
                        f"walked per batch): {reason}."}
            program = step.program
            return {"mode": "captured", "text": (
                f"Each step replays a captured program (chaingrad.capture): "
                f"{len(program.ops)} ops forward, {len(program.backward_order)} backward, "
                f"the same numbers as eager; captured {step.captures} time(s), replayed "
                f"{step.replays} time(s). The graph of a point is still built eagerly.")}

    def _diverged(self) -> None:
        """Stop training; the picture shows the weights before the last step."""
        for p, saved in zip(self.model.parameters(), self.finite_weights):
            p.data = saved
        self.playing = False
        self.trouble = (f"The loss became infinite at epoch {self.epoch + 1}: lower the "
                        "learning rate, then press Reset.")
        self.train_loss = self.test_loss = None
        self._touch()

    def _record_losses(self) -> bool:
        """The losses on every training and test point (½·MSE); False if they diverged."""
        try:
            with evaluating(self.model), np.errstate(over="ignore", invalid="ignore"):
                train = half_mse(self.model(Tensor(self.X_train)), self.y_train).item()
                test = half_mse(self.model(Tensor(self.X_test)), self.y_test).item()
        except (OpError, FloatingPointError, OverflowError):
            train = test = float("inf")
        if not (np.isfinite(train) and np.isfinite(test)):
            return False
        self.train_loss, self.test_loss = train, test
        self.curve.append((self.epoch, train, test))
        return True

    def _touch(self) -> None:
        self.version += 1
        self.changed.notify_all()

    def play(self) -> None:
        """Train in a thread of its own until pause(), or until the tab goes quiet."""
        with self.lock:
            self.last_seen = time.monotonic()
            if self.trouble is not None:
                raise SetupError(self.trouble)
            if self.playing:
                return
            self.playing = True
            self._touch()
            self.thread = threading.Thread(target=self._loop, name="playground-training",
                                           daemon=True)
            self.thread.start()

    def pause(self) -> None:
        with self.lock:
            self.playing = False
            self._touch()

    def halt(self) -> None:
        """Pause (the Pause button): the page hears of it once the epoch under way ended,
        so the paused state it draws is the final one."""
        with self.lock:
            self.playing = False
        with self.epoch_lock:
            pass
        self.pause()

    def step(self) -> None:
        """Pause, then train exactly one epoch."""
        self.pause()
        with self.lock:
            if self.trouble is not None:
                raise SetupError(self.trouble)
        self.train_epoch()

    def _loop(self) -> None:
        """Play's thread: an error never ends it silently, the page is told."""
        try:
            self._train_until_paused()
        except Exception as error:  # a bug: stop, and say so on the page and the terminal
            traceback.print_exc()
            with self.lock:
                self.playing = False
                self.trouble = (f"Training stopped because of an error in the playground "
                                f"({type(error).__name__}: {error}). Press Reset to start "
                                "again.")
                self._touch()

    def _train_until_paused(self) -> None:
        interval = 1.0 / MAX_EPOCHS_PER_SECOND
        while True:
            started = time.monotonic()
            with self.lock:
                if not self.playing:
                    return
                if started - self.last_seen > IDLE_SECONDS:
                    self.playing = False
                    self._touch()
                    return
            self.train_epoch()
            time.sleep(max(0.001, interval - (time.monotonic() - started)))

    def stop(self) -> None:
        """Pause and wait for the training thread to end."""
        self.pause()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    # ------------------------------------------------------------ what the page shows

    def wait(self, since: int, timeout: float) -> None:
        """Block until the version passes ``since`` (or ``timeout`` seconds go by)."""
        with self.changed:
            self.last_seen = time.monotonic()
            self.changed.wait_for(lambda: self.version > since, timeout=timeout)

    def snapshot(self, curve_from: int = 0, run: int = -1, with_points: bool = True) -> dict:
        """Everything the page draws: numbers, curve, surface, neuron maps, weights."""
        with self.lock:
            self.last_seen = time.monotonic()
            try:
                layers, output = self._activations(self.surface_inputs)
            except (OpError, FloatingPointError, OverflowError):  # weights too large to draw
                layers = [np.zeros((len(self.surface_inputs), n)) for n in self.setup.hidden]
                output = np.zeros((len(self.surface_inputs), 1))
            every_other = self._map_indices()
            neurons = [encode_columns(values[every_other]) for values in layers]
            feature_maps = self._feature_maps()
            start = curve_from if run == self.run else 0
            state = {
                "version": self.version, "run": self.run, "epoch": self.epoch,
                "playing": self.playing, "train_loss": self.train_loss,
                "test_loss": self.test_loss, "trouble": self.trouble, "curve_from": start,
                "curve": [[e, round(a, 5), round(b, 5)] for e, a, b in self.curve[start:]],
                "surface": encode(output[:, 0]), "surface_size": SURFACE,
                "neurons": neurons, "features": feature_maps, "map_size": NEURON_MAP,
                "weights": [np.round(layer.weight.data, 4).tolist()
                            for layer in linear_layers(self.model)],
                "biases": [np.round(layer.bias.data, 4).tolist()
                           for layer in linear_layers(self.model)],
                "setup": dataclasses.asdict(self.setup),
                "selected": list(self.selected) if self.selected else None,
                "step": self.step_status(),
            }
            if with_points:
                state["train"] = self._points(self.train_points, self.train_labels)
                state["test"] = self._points(self.test_points, self.test_labels)
            return state

    @staticmethod
    def _points(points: np.ndarray, labels: np.ndarray) -> list[list[float]]:
        return np.round(np.column_stack([points, labels]), 3).tolist()

    @classmethod
    @functools.lru_cache(maxsize=1)
    def _feature_maps(cls) -> dict[str, str]:
        """Each input feature's map: the same for every network, so made once."""
        square = grid(SURFACE)[cls._map_indices()]
        return {name: encode(features(square, [name])[:, 0] / cls._scale(name))
                for name in FEATURES}

    @staticmethod
    def _scale(name: str) -> float:
        """How far a feature reaches over the square, to colour its map from -1 to 1."""
        # half the largest square or product: the maps show more than a pale middle
        return {"x1²": RADIUS**2 / 2, "x2²": RADIUS**2 / 2, "x1·x2": RADIUS**2 / 2}.get(
            name, 1.0 if name.startswith("sin") else RADIUS)

    @staticmethod
    def _map_indices() -> np.ndarray:
        """Which surface points make up a neuron's smaller map (every other row and column)."""
        rows = np.linspace(0, SURFACE - 1, NEURON_MAP).round().astype(int)
        return (rows[:, None] * SURFACE + rows[None, :]).ravel()

    def _activations(self, inputs: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Each hidden layer's outputs and the network's output for the rows of ``inputs``."""
        hidden = []
        x = Tensor(inputs)
        with evaluating(self.model), np.errstate(over="ignore", invalid="ignore"):
            layers = list(self.model)
            for index, layer in enumerate(layers):
                x = layer(x)
                after_activation = not isinstance(layer, nn.Linear)
                is_last = index == len(layers) - 1
                if after_activation and not is_last:
                    hidden.append(x.data)
        return hidden, x.data

    def set_weight(self, layer: int, source: int | None, to: int, value: float) -> None:
        """Set one weight (``source`` None: the bias) of linear layer ``layer`` (from 0)."""
        if not (np.isfinite(value) and abs(value) <= MAX_WEIGHT):
            raise SetupError(f"a weight must be a number from -{MAX_WEIGHT:g} to {MAX_WEIGHT:g}")
        with self.lock:
            linears = linear_layers(self.model)
            if not 0 <= layer < len(linears):
                raise SetupError(f"there is no layer {layer + 1}")
            target = linears[layer]
            if not 0 <= to < target.n_out or not (source is None or 0 <= source < target.n_in):
                raise SetupError(f"there is no such weight in layer {layer + 1}")
            tensor = target.bias if source is None else target.weight
            values = tensor.data.copy()
            values[(to,) if source is None else (source, to)] = value
            tensor.data = values
            self.finite_weights = [p.data.copy() for p in self.model.parameters()]
            if self.history_note is None:
                self.history_note = (f"weights were changed by hand at epoch {self.epoch}; "
                                     "this script cannot repeat that")
            if not self._record_losses():
                self._diverged()
            self._touch()

    # ------------------------------------------------------------ one point's graph

    def add_point(self, x1: float, x2: float, label: float) -> None:
        """Add a training point where the page was clicked, and select it."""
        if not all(np.isfinite([x1, x2, label])):
            raise SetupError("a point needs finite numbers for x1, x2 and its label")
        with self.lock:
            if len(self.extra_points) >= MAX_EXTRA_POINTS:
                raise SetupError(f"at most {MAX_EXTRA_POINTS} added points")
            if self.epoch > 0 and self.history_note is None:
                self.history_note = (f"points were added on the page after epoch {self.epoch}; "
                                     "this script adds them from the start")
            if self.setup.problem == "classification":
                label = 1.0 if label >= 0 else -1.0
            self.extra_points.append((float(np.clip(x1, -RADIUS, RADIUS)),
                                      float(np.clip(x2, -RADIUS, RADIUS)),
                                      float(np.clip(label, -1, 1))))
            self._refresh_inputs()
            self.selected = ("train", len(self.train_points) - 1)
            self._touch()

    def select(self, which: str, index: int) -> None:
        with self.lock:
            points = self.train_points if which == "train" else self.test_points
            if which not in ("train", "test") or not 0 <= index < len(points):
                raise SetupError(f"there is no {which} point {index}")
            self.selected = (which, index)
            self._touch()

    def point_graph(self) -> tuple[Value, dict]:
        """The selected point's computational graph through the current weights, with
        every weight and activation a Value, after backward() of its loss ½(ŷ - y)²."""
        with self.lock:
            if self.selected is None:
                raise SetupError("no point is selected; click a point first")
            which, index = self.selected
            points, labels = ((self.train_points, self.train_labels) if which == "train"
                              else (self.test_points, self.test_labels))
            (p1, p2), label = points[index], labels[index]
            x1, x2 = Value(float(p1), name="x1"), Value(float(p2), name="x2")
            made = {"x1": x1, "x2": x2, "x1²": x1 * x1, "x2²": x2 * x2, "x1·x2": x1 * x2,
                    "sin x1": x1.sin(), "sin x2": x2.sin()}
            inputs = []
            for name in self.setup.features:
                made[name].name = name
                inputs.append(made[name])
            linears = linear_layers(self.model)
            modules = [m for m in self.model if not isinstance(m, nn.Linear)]
            for k, layer in enumerate(linears, start=1):
                last = k == len(linears)
                outputs = []
                for j in range(layer.n_out):
                    weights = [Value(float(layer.weight.data[i, j]), name=f"L{k}.N{j}.w{i}")
                               for i in range(layer.n_in)]
                    bias = Value(float(layer.bias.data[j]), name=f"L{k}.N{j}.b")
                    z = Value.dot(weights, inputs) + bias
                    z.name = f"L{k}.N{j}.z"
                    if last and self.setup.problem == "regression":
                        a = z
                    else:
                        a = z.tanh() if last else self._activate(z, modules[k - 1], k)
                        a.name = f"L{k}.N{j}.out"
                    outputs.append(a)
                inputs = outputs
            prediction = inputs[0]
            prediction.name = "ŷ"
            loss = 0.5 * (prediction - Value(float(label), name="y")) ** 2
            loss.name = "loss"
            loss.backward()
            info = {"which": which, "index": int(index), "x1": float(p1), "x2": float(p2),
                    "label": float(label), "prediction": prediction.data, "loss": loss.data,
                    "epoch": self.epoch, "version": self.version}
            return loss, info

    @staticmethod
    def _activate(z: Value, module: nn.Module, k: int) -> Value:
        """The layer's activation on a Value, as the module computes it when evaluating."""
        if isinstance(module, nn.PReLU):  # its slope is a weight too: a leaf of the graph
            alpha = Value(float(np.asarray(module.alpha.data).ravel()[0]), name=f"L{k}.alpha")
            return nn.activations.prelu(z, alpha)
        return nn.activations.get(module.function_name)(z, **module.params)

    def graph_picture(self, steps: bool = False) -> dict:
        """The selected point's graph as SVG (chaingrad.viz's builtin engine), and, with
        ``steps``, the backward pass node by node as viz.animate steps through it."""
        from ...viz import builtin
        from ...viz.animate import frames
        from ...viz.draw import picture

        loss, info = self.point_graph()
        pic = picture(loss, edge_labels=True, collapse_threshold=GRAPH_NODE_LIMIT)
        scene = builtin.build_scene(pic.node_ids, pic.labels, pic.edges, pic.edge_texts,
                                    pic.edge_counts, pic.rank, pic.legend, pic.notes)
        info["svg"] = builtin.scene_svg(scene).split("\n", 1)[1]
        info["nodes"] = pic.graph.number_of_nodes()
        info["collapsed"] = bool(pic.graph.graph.get("collapsed"))
        if steps and not info["collapsed"]:
            info["steps"] = [{"phase": phase, "node": node, "edges": edges, "text": text}
                             for phase, node, edges, text in frames(loss, pic)
                             if phase == "backward"]
        return info

    # ------------------------------------------------------------ code, saving, loading

    def code(self) -> str:
        """A Python script that rebuilds this set-up and trains it as the page does."""
        from .code import script

        with self.lock:
            return script(self.setup, self.extra_points, max(self.epoch, 1),
                                        start=self.start_live, schedule=self.schedule,
                          note=self.history_note)

    def save_bytes(self) -> bytes:
        """The weights and the set-up as .npz bytes (numpy arrays only: no pickle).

        The set-up (JSON) is stored as its UTF-8 bytes, one number each.
        """
        with self.lock:
            state = self.model.state_dict()
            setup = json.dumps(dataclasses.asdict(self.setup)).encode("utf-8")
            state["playground.setup"] = np.frombuffer(setup, dtype=np.uint8).astype(float)
            state["playground.epoch"] = np.array(float(self.epoch))
            state["playground.extra_points"] = np.array(self.extra_points,
                                                        dtype=float).reshape(-1, 3)
        buffer = io.BytesIO()
        np.savez(buffer, **state)
        return buffer.getvalue()

    def load_bytes(self, content: bytes) -> None:
        """Load a network saved by save_bytes: its set-up, points and weights.

        Everything is read and checked before anything changes: a refused file leaves
        this network exactly as it was. The file's members are bounded by their declared
        sizes before anything is decompressed, and read with a cap.
        """
        arrays = read_saved(content)
        setup, epoch, extra = checked_saved(arrays)
        model = build_model(setup)
        weights = {key: value for key, value in arrays.items()
                   if not key.startswith("playground.")}
        try:
            model.load_state_dict(weights)
        except ValueError:
            layers = " ".join(str(n) for n in setup.hidden) or "no"
            raise SetupError(f"Load network: the weights in this file do not fit the network "
                             f"it describes ({len(setup.features)} inputs, hidden layers "
                             f"{layers}); it was not saved by this playground.") from None
        with self.lock:
            self.pause()
            self.extra_points = extra
            self.build(setup)
            self.model = model
            self.optimizer = nn.optim.SGD(model, lr=setup.learning_rate)
            self.epoch = epoch
            self.curve = []
            self.history_note = ("this network was loaded from a file; the script trains a "
                                 f"fresh one for {max(epoch, 1)} epochs")
            self.finite_weights = [p.data.copy() for p in model.parameters()]
            if not self._record_losses():
                self._diverged()
            self._touch()


NOT_SAVED = ("Load network: this file is not a network saved by the playground (use Save "
             "network to make one).")


def read_saved(content: bytes) -> dict[str, np.ndarray]:
    """The arrays of a saved network's .npz bytes; SetupError for anything else.

    Hostile files are expected: sizes are checked from the zip's directory before a byte
    is decompressed, each member is read with a cap, and an array's header is checked
    before its data are touched (no pickle, floats only, the size it claims).
    """
    too_large = ("Load network: this file is too large to be a network saved by the "
                 "playground (they are a few kilobytes).")
    if len(content) > MAX_LOAD_BYTES:
        raise SetupError(too_large)
    arrays = {}
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
            if len(members) > 64 or sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                raise SetupError(too_large)
            for member in members:
                if not member.filename.endswith(".npy"):
                    raise SetupError(NOT_SAVED)
                with archive.open(member) as file:
                    raw = file.read(MAX_UNPACKED_BYTES + 1)
                if len(raw) > MAX_UNPACKED_BYTES:
                    raise SetupError(too_large)
                arrays[member.filename[:-len(".npy")]] = _array(raw)
    except SetupError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, KeyError,
            NotImplementedError, RuntimeError):  # not a zip, corrupt, encrypted, odd
        raise SetupError(NOT_SAVED) from None
    return arrays


def _array(raw: bytes) -> np.ndarray:
    """One .npy member: its header checked first (floats, the size it claims)."""
    stream = io.BytesIO(raw)
    version = np.lib.format.read_magic(stream)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    shape, fortran, dtype = read_header(stream)
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if dtype.kind != "f" or dtype.hasobject or count * dtype.itemsize != len(raw) - stream.tell():
        raise ValueError("not an array of floats of the size it claims")
    values = np.frombuffer(raw, dtype=dtype, count=count, offset=stream.tell())
    return values.reshape(shape, order="F" if fortran else "C").astype(float)


def checked_saved(arrays: dict[str, np.ndarray]) -> tuple[Setup, int, list]:
    """The set-up, epoch and added points of a saved network, each checked for the page."""
    try:
        codes = arrays["playground.setup"]
        epoch_array = arrays["playground.epoch"]
        extra = arrays["playground.extra_points"]
    except KeyError:
        raise SetupError(NOT_SAVED) from None
    if codes.ndim != 1 or len(codes) > 10_000 or not np.all((codes >= 0) & (codes < 256)):
        raise SetupError(NOT_SAVED)
    try:
        saved = json.loads(codes.astype(np.uint8).tobytes().decode("utf-8"))
    except (ValueError, RecursionError):
        raise SetupError(NOT_SAVED) from None
    if not isinstance(saved, dict):
        raise SetupError(NOT_SAVED)
    try:
        setup = Setup().changed(saved)
    except (SetupError, TypeError) as error:
        raise SetupError(f"Load network: the file's set-up cannot be built here: {error}.") \
            from None
    epoch = epoch_array.ravel()[0] if epoch_array.size == 1 else -1.0
    if not (np.isfinite(epoch) and epoch == int(epoch) and 0 <= epoch <= MAX_EPOCH):
        raise SetupError(f"Load network: the saved epoch must be a whole number from 0 to "
                         f"{MAX_EPOCH:,}.")
    if extra.size == 0:
        extra = extra.reshape(0, 3)
    if extra.ndim != 2 or extra.shape[1] != 3 or len(extra) > MAX_EXTRA_POINTS:
        raise SetupError(f"Load network: the added points must be at most {MAX_EXTRA_POINTS} "
                         "rows of x1, x2 and a label.")
    if not (np.all(np.isfinite(extra)) and np.all(np.abs(extra[:, :2]) <= RADIUS)
            and np.all(np.abs(extra[:, 2]) <= 1)):
        raise SetupError(f"Load network: an added point lies outside the square from "
                         f"-{RADIUS:g} to {RADIUS:g}, or its label is not between -1 and 1.")
    for key, value in arrays.items():
        if not key.startswith("playground.") and not (
                np.all(np.isfinite(value)) and np.all(np.abs(value) <= MAX_WEIGHT)):
            raise SetupError(f"Load network: a weight in this file is not a number or larger "
                             f"than {MAX_WEIGHT:g}, which no training here makes.")
    return setup, int(epoch), [tuple(row) for row in extra.tolist()]
