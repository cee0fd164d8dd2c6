"""Issue #23, class 9: a hostile user's sweep of the public surfaces for raw messages.

A raw message is Python's or numpy's own text ("unsupported operand type(s)",
"'NoneType' object is not iterable", "axis 5 is out of bounds", "could not convert string
to float", a traceback from the command line) reaching a student instead of one sentence
that names the chaingrad function they called and the argument that is wrong.

Each case is a call a student could make, with the exception type we promise and a pattern
that must match the message: it starts with the function's name and names the argument.
The cases that were already sentences stay here too, so none can slip back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chaingrad import nn, viz
from chaingrad.autograd import (
    Tensor,
    Value,
    concat,
    detect_anomaly,
    enable_grad,
    grad,
    gradcheck,
    no_grad,
    pad,
    stack,
    where,
)
from chaingrad.nn import activations, optim
from chaingrad.nn import functional as F
from chaingrad.nn import losses as L

# Python's and numpy's own words: none of them may reach a student.
RAW = re.compile(
    r"unsupported operand|object is not (iterable|callable)|has no attribute|"
    r"could not convert|is out of bounds|zero-size array|__enter__|__init__\(\)|"
    r"math domain|not understood|ufunc|cannot be interpreted as an integer|"
    r"not supported between|expected str, bytes or os.PathLike|invalid literal|"
    r"can only convert|DType|missing \d+ required positional|float division by zero|"
    r"Traceback"
)


def _x():
    return Tensor(np.ones((2, 3)), requires_grad=True)


def _f():
    f = Value(2.0, name="x") * 3
    f.backward()
    return f


def _compiled(**options):
    model = nn.MLP(2, [3, 1], seed=0)
    model.compile(**{"loss": "mse", "optimizer": "sgd", **options})
    return model


X4, Y4 = np.zeros((4, 2)), np.zeros((4, 1))


class Case:
    def __init__(self, call, pattern, kind=(TypeError, ValueError)):
        self.call, self.pattern, self.kind = call, pattern, kind


# ---------------------------------------------------------------- autograd: Tensor

TENSOR = {
    "empty var": Case(lambda: Tensor(np.zeros(0)).var(), r"^var: the tensor is empty"),
    "empty max": Case(lambda: Tensor(np.zeros(0)).max(), r"^max: the tensor is empty"),
    "empty max axis": Case(lambda: Tensor(np.zeros((0, 3))).max(axis=0),
                           r"^max: the tensor is empty \(shape \(0, 3\)\)"),
    "empty min axis 1": Case(lambda: Tensor(np.zeros((2, 0))).min(axis=1),
                             r"^min: the tensor is empty"),
    "empty mean axis": Case(lambda: Tensor(np.zeros((0, 3))).mean(axis=0),
                            r"^mean: the tensor is empty"),
    "t + None": Case(lambda: _x() + None, r"^add: expected a (real )?number.*got None"),
    "t + 'a'": Case(lambda: _x() + "a", r"^add: expected a (real )?number.*'a'"),
    "t * ['a']": Case(lambda: _x() * ["a", "b", "c"], r"^mul: expected a (real )?number"),
    "None - t": Case(lambda: None - _x(), r"^sub: expected a (real )?number.*None"),
    "t / {}": Case(lambda: _x() / {}, r"^div: expected a (real )?number.*\{\}"),
    "t @ None": Case(lambda: _x() @ None, r"^matmul: expected a (real )?number.*None"),
    "t @ misaligned": Case(lambda: _x() @ Tensor(np.ones(2)),
                           r"^matmul: shapes \(2, 3\) and \(2,\) do not align"),
    "t @ scalar": Case(lambda: _x() @ 2.0, r"^matmul: shapes \(2, 3\) and \(\)"),
    "t + mismatched": Case(lambda: _x() + Tensor(np.ones((3, 2))),
                           r"^add: shapes \(2, 3\) and \(3, 2\) cannot be broadcast"),
    "t ** None": Case(lambda: _x() ** None, r"^pow: the exponent must be a number.*None"),
    "t ** '2'": Case(lambda: _x() ** "2", r"^pow: the exponent must be a number.*'2'"),
    "t ** mismatched": Case(lambda: _x() ** Tensor(np.ones(4)),
                            r"^pow: shapes \(2, 3\) and \(4,\) cannot be broadcast"),
    "2 ** t with 'a'": Case(lambda: "a" ** _x(), r"^pow: expected a (real )?number.*'a'"),
    "t < 'a'": Case(lambda: _x() < "a", r"^<: expected a (real )?number.*'a'"),
    "t >= None": Case(lambda: _x() >= None, r"^>=: expected a (real )?number.*None"),
    "t == mismatched": Case(lambda: _x() == Tensor(np.ones(4)),
                            r"^==: shapes \(2, 3\) and \(4,\) cannot be compared"),
    "reshape (4, 2)": Case(lambda: _x().reshape(4, 2),
                           r"^reshape: cannot reshape a tensor of shape \(2, 3\) into"),
    "reshape None": Case(lambda: _x().reshape(None), r"^reshape: .*None"),
    "reshape 2.5": Case(lambda: _x().reshape(2.5, 2), r"^reshape: the new shape must be whole"),
    "reshape -1 -1": Case(lambda: _x().reshape(-1, -1), r"^reshape: .*\(-1, -1\)"),
    "transpose (0, 5)": Case(lambda: _x().transpose(0, 5), r"^transpose: axes \(0, 5\)"),
    "transpose 'a'": Case(lambda: _x().transpose("a"), r"^transpose: axes \('a',\)"),
    "transpose (0, 0)": Case(lambda: _x().transpose(0, 0), r"^transpose: axes \(0, 0\)"),
    "t['a']": Case(lambda: _x()["a"], r"^getitem: index 'a'"),
    "t[0, 10]": Case(lambda: _x()[0, 10], r"^getitem: index \(0, 10\) does not fit"),
    "t[0, 0, 0]": Case(lambda: _x()[0, 0, 0], r"^getitem: index \(0, 0, 0\)"),
    "clip('a', 1)": Case(lambda: _x().clip("a", 1), r"^clip: low must be a number.*'a'"),
    "clip(0, [1, 2])": Case(lambda: _x().clip(0, "b"), r"^clip: high must be a number.*'b'"),
    "broadcast_to (4, 4)": Case(lambda: _x().broadcast_to((4, 4)),
                                r"^broadcast_to: cannot broadcast shape \(2, 3\)"),
    "sum(keepdims='yes')": Case(lambda: _x().sum(keepdims="yes"),
                                r"^sum: keepdims must be True or False, got 'yes'"),
    "max(keepdims=None)": Case(lambda: _x().max(keepdims=None),
                               r"^max: keepdims must be True or False, got None"),
    "sum(axis=True)": Case(lambda: _x().sum(axis=True), r"^sum: axis must be a whole number"),
    "max(axis=2)": Case(lambda: _x().max(axis=2), r"^max: axis 2 does not exist"),
    "mean(axis='0')": Case(lambda: _x().mean(axis="0"), r"^mean: axis must be"),
    "var(ddof='a')": Case(lambda: _x().var(ddof="a"), r"^var: ddof must be a whole number"),
    "Tensor('abc')": Case(lambda: Tensor("abc"), r"^Tensor: expected numbers"),
    "Tensor([Value(1.0)])": Case(lambda: Tensor([Value(1.0), Value(2.0)]),
                                 r"^Tensor: the list holds Values or Tensors"),
    "Tensor(None)": Case(lambda: Tensor(None), r"^Tensor: expected numbers"),
    "Tensor(dtype='floaty')": Case(lambda: Tensor(1.0, dtype="floaty"),
                                   r"^Tensor: dtype 'floaty' is not a"),
    "Tensor(dtype=3)": Case(lambda: Tensor(1.0, dtype=3), r"^Tensor: dtype 3 is not a"),
    "item() of many": Case(lambda: _x().item(),
                           r"^item: only a tensor with one element.*shape \(2, 3\)"),
    "bool() of many": Case(lambda: bool(_x()), r"^Tensor: the truth value of a tensor of shape"),
    "backward() of many": Case(lambda: (_x() * 2).backward(),
                               r"^backward: this tensor has shape \(2, 3\)"),
    "backward(grad of wrong shape)": Case(lambda: (_x() * 2).backward(np.ones(3)),
                                          r"^backward: grad has shape \(3,\)"),
    "log(-1)": Case(lambda: Tensor([-1.0]).log(), r"^log: log is defined only for positive"),
    "sqrt(-1)": Case(lambda: Tensor([-1.0]).sqrt(), r"^sqrt: sqrt is defined only"),
    "t / 0": Case(lambda: Tensor([1.0]) / 0, r"^div: division by zero"),
    "bool - bool": Case(lambda: Tensor(np.array([True])) - Tensor(np.array([False])),
                        r"^sub: - does not work on boolean tensors"),
    "-bool": Case(lambda: -Tensor(np.array([True])), r"^neg: - does not work on boolean tensors"),
}

# ---------------------------------------------------------------- autograd: functions

FUNCTIONS = {
    "concat([])": Case(lambda: concat([]), r"^concat: .*at least one"),
    "concat(None)": Case(lambda: concat(None), r"^concat: .*list of tensors.*None"),
    "concat(3)": Case(lambda: concat(3), r"^concat: .*list of tensors.*3"),
    "concat mismatched": Case(lambda: concat([_x(), Tensor(np.ones((2, 2)))]),
                              r"^concat: shapes \(2, 3\) and \(2, 2\) do not fit"),
    "concat axis 5": Case(lambda: concat([_x(), _x()], axis=5),
                          r"^concat: axis 5 does not exist for tensors of shape \(2, 3\)"),
    "concat of numbers": Case(lambda: concat([1.0, 2.0]),
                              r"^concat: .*at least one axis"),
    "stack([])": Case(lambda: stack([]), r"^stack: .*at least one"),
    "stack(None)": Case(lambda: stack(None), r"^stack: .*list of tensors.*None"),
    "stack mismatched": Case(lambda: stack([Tensor(np.ones(2)), Tensor(np.ones(3))]),
                             r"^stack: shapes \(2,\) and \(3,\)"),
    "stack axis 9": Case(lambda: stack([_x(), _x()], axis=9),
                         r"^stack: axis 9 does not exist"),
    "where mismatched": Case(lambda: where(np.array([True, False, True]),
                                           Tensor(np.ones(2)), 0.0),
                             r"^where: condition, x and y of shapes"),
    "where(None)": Case(lambda: where(None, _x(), 0.0), r"^where: the condition must be"),
    "where(x='a')": Case(lambda: where(np.array([True]), "a", 0.0),
                         r"^where: x must be numbers.*'a'"),
    "pad('a')": Case(lambda: pad(_x(), "a"), r"^pad: pad_width a does not fit"),
    "Value.dot(None, ..)": Case(lambda: Value.dot(None, [1.0]),
                                r"^dot: weights must be a list.*None"),
    "Value.dot(.., 3)": Case(lambda: Value.dot([Value(1.0)], 3),
                             r"^dot: inputs must be a list.*3"),
    "Value.dot([], [])": Case(lambda: Value.dot([], []), r"^dot: no weights and no inputs"),
    "Value.dot lengths": Case(lambda: Value.dot([Value(1.0)] * 2, [1.0]),
                              r"^dot: 2 weights but 1 inputs"),
}

# ---------------------------------------------------------------- autograd: Value

VALUE = {
    "v + None": Case(lambda: Value(2.0) + None, r"^add: expected a (real )?number.*None"),
    "v + 'a'": Case(lambda: Value(2.0) + "a", r"^add: expected a (real )?number.*'a'"),
    "v * array": Case(lambda: Value(2.0) * np.ones(3), r"^mul: expected a (real )?number.*ndarray"),
    "v + Tensor": Case(lambda: Value(2.0) + _x(), r"^add: cannot mix a Value and a Tensor"),
    "v ** None": Case(lambda: Value(2.0) ** None, r"^pow: the exponent must be a number.*None"),
    "v ** '2'": Case(lambda: Value(2.0) ** "2", r"^pow: the exponent must be a number.*'2'"),
    "v ** [2]": Case(lambda: Value(2.0) ** [2], r"^pow: the exponent must be a number.*\[2\]"),
    "'a' ** v": Case(lambda: "a" ** Value(2.0), r"^pow: expected a (real )?number.*'a'"),
    "Value('abc')": Case(lambda: Value("abc"), r"^Value: expected a number, got str 'abc'"),
    "Value(None)": Case(lambda: Value(None), r"^Value: expected a (real )?number.*None"),
    "Value([1, 2])": Case(lambda: Value([1.0, 2.0]), r"^Value: expected a (real )?number.*list"),
    "Value(1j)": Case(lambda: Value(1j), r"^Value: expected a (real )?number.*complex"),
    "log(0)": Case(lambda: Value(0.0).log(), r"^log: log is defined only for positive"),
    "sqrt(-1) on a Value": Case(lambda: Value(-1.0).sqrt(), r"^sqrt: sqrt is defined only"),
    "v / 0": Case(lambda: Value(2.0) / 0, r"^div: division by zero"),
    "(-2) ** 0.5": Case(lambda: Value(-2.0) ** 0.5, r"^pow\w*: \(-2.0\) \*\* 0.5 is not a real"),
    "exp(1000)": Case(lambda: Value(1000.0).exp(), r"^exp: exp\(1000.0\) is too large"),
    "v < 'a'": Case(lambda: Value(2.0) < "a", r"^<: expected a (real )?number.*'a'"),
    "v > None": Case(lambda: Value(2.0) > None, r"^>: expected a (real )?number.*None"),
    "backward([1.0])": Case(lambda: (Value(1.0) * 2).backward([1.0]),
                            r"^backward: grad must be a single number"),
}

# ---------------------------------------------------------------- grad, gradcheck, modes


def _mode_without_parentheses(mode):
    with mode:
        pass


GRADIENTS = {
    "grad(None, ..)": Case(lambda: grad(None, [Value(1.0)]),
                           r"^grad: outputs must be Values or Tensors"),
    "grad of a non-scalar": Case(lambda: (lambda t: grad(t * 2, [t]))(_x()),
                                 r"^grad: .*shape \(2, 3\)"),
    "grad(.., [x, 2.0])": Case(lambda: grad(Value(1.0) * 2, [Value(1.0), 2.0]),
                               r"^grad: inputs must be .* at position 1"),
    "gradcheck(eps=0)": Case(lambda: gradcheck(lambda a: a * 2, [Value(1.0)], eps=0),
                             r"^gradcheck: eps must be a number above 0, got 0"),
    "gradcheck(eps='a')": Case(lambda: gradcheck(lambda a: a * 2, [Value(1.0)], eps="a"),
                               r"^gradcheck: eps must be a number above 0, got 'a'"),
    "gradcheck(atol=-1)": Case(lambda: gradcheck(lambda a: a * 2, [Value(1.0)], atol=-1),
                               r"^gradcheck: atol must be a number >= 0, got -1"),
    "gradcheck(rtol=None)": Case(lambda: gradcheck(lambda a: a * 2, [Value(1.0)], rtol=None),
                                 r"^gradcheck: rtol must be a number >= 0, got None"),
    "gradcheck fn of 2 given 1": Case(lambda: gradcheck(lambda a, b: a * b, [Value(1.0)]),
                                      r"^gradcheck: fn takes 2 arguments but 1 input"),
    "gradcheck(3, ..)": Case(lambda: gradcheck(3, [Value(1.0)]),
                             r"^gradcheck: fn must be a function"),
    "gradcheck(.., None)": Case(lambda: gradcheck(lambda a: a, None),
                                r"^gradcheck: inputs must be a list"),
    "gradcheck(.., [1.0])": Case(lambda: gradcheck(lambda a: a * 2, [1.0]),
                                 r"^gradcheck: inputs must be Values or Tensors"),
    "gradcheck fn returns 3.0": Case(lambda: gradcheck(lambda a: 3.0, [Value(1.0)]),
                                     r"^gradcheck: fn must return a Value or a Tensor"),
    "with no_grad:": Case(lambda: _mode_without_parentheses(no_grad),
                          r"with no_grad\(\):"),
    "with enable_grad:": Case(lambda: _mode_without_parentheses(enable_grad),
                              r"with enable_grad\(\):"),
    "no_grad(3)": Case(lambda: no_grad(3), r"^no_grad: takes no arguments.*got 3"),
    "enable_grad(True)": Case(lambda: enable_grad(True), r"^enable_grad: takes no arguments"),
    "detect_anomaly('on')": Case(lambda: detect_anomaly("on"),
                                 r"^detect_anomaly: takes no arguments.*'on'"),
}

# ---------------------------------------------------------------- nn: layers and activations

LAYERS = {
    "Linear wrong features": Case(lambda: nn.Linear(2, 3)(Tensor(np.ones((4, 3)))),
                                  r"^Linear: expected inputs with 2 features"),
    "Linear('abc')": Case(lambda: nn.Linear(2, 3)("abc"), r"^(Linear|Tensor): expected"),
    "Linear(0, 3)": Case(lambda: nn.Linear(0, 3), r"^Linear: sizes must be whole numbers"),
    "MLP(activation='foo')": Case(lambda: nn.MLP(2, [3, 1], activation="foo"),
                                  r"^MLP: unknown activation 'foo'"),
    "MLP(2, 4)": Case(lambda: nn.MLP(2, 4), r"^MLP: give the layer sizes as a list"),
    "Sequential(3)": Case(lambda: nn.Sequential(3), r"^Sequential: layer 0 \(3\)"),
    "Dropout(2)": Case(lambda: nn.Dropout(2), r"^Dropout: p must be in \[0, 1\), got 2"),
    "Dropout('a')": Case(lambda: nn.Dropout("a"), r"^Dropout: p must be a number.*'a'"),
    "Conv2d on a matrix": Case(lambda: nn.Conv2d(1, 2, 3)(Tensor(np.ones((4, 4)))),
                               r"^Conv2d: input must be images"),
    "Conv2d channels": Case(lambda: nn.Conv2d(1, 2, 3)(Tensor(np.ones((1, 2, 5, 5)))),
                            r"^Conv2d: expected 1 input channels"),
    "Conv2d(kernel_size=0)": Case(lambda: nn.Conv2d(1, 2, 0), r"^Conv2d: kernel_size must be"),
    "MaxPool2d(0)": Case(lambda: nn.MaxPool2d(0), r"^MaxPool2d: kernel_size must be"),
    "RNN wrong input": Case(lambda: nn.RNN(2, 3)(Tensor(np.ones((4, 5)))),
                            r"^RNN: input must have shape \(batch, time, 2\)"),
    "BatchNorm1d wrong": Case(lambda: nn.BatchNorm1d(3)(Tensor(np.ones((4, 2)))),
                              r"^BatchNorm1d: expected input"),
    "Embedding(7) of 5": Case(lambda: nn.Embedding(5, 2)(np.array([7])),
                              r"^Embedding: indices must lie in 0..4"),
    "softmax(axis=3)": Case(lambda: F.softmax(_x(), axis=3), r"^softmax: axis 3 does not exist"),
    "F.cross_entropy labels 5": Case(lambda: F.cross_entropy(Tensor(np.zeros((2, 3))),
                                                             np.array([0, 5])),
                                     r"^cross_entropy: labels must lie in 0..2"),
    "F.softmax('a')": Case(lambda: F.softmax("a"), r"^softmax: expected a Tensor.*'a'"),
    "F.relu(None)": Case(lambda: F.relu(None), r"^relu: expected a Tensor.*None"),
    "activations.tanh('a')": Case(lambda: activations.tanh("a"),
                                  r"^tanh: expected a (real )?number.*'a'"),
    "nn.Tanh()(None)": Case(lambda: nn.Tanh()(None), r"^tanh: expected a (real )?number.*None"),
    "activations.get('foo')": Case(lambda: activations.get("foo"),
                                   r"^get: unknown activation 'foo'"),
    "ELU(alpha='a')": Case(lambda: nn.ELU(alpha="a"), r"^ELU: alpha must be a number.*'a'"),
    "LeakyReLU(slope='a')": Case(lambda: nn.LeakyReLU(slope="a"),
                                 r"^LeakyReLU: slope must be a number.*'a'"),
    "LeakyReLU(alpha=0.1)": Case(lambda: nn.LeakyReLU(alpha=0.1),
                                 r"^LeakyReLU: unknown setting 'alpha'; its settings are slope"),
    "scalar Layer('a', 2)": Case(lambda: nn.scalar.Layer("a", 2),
                                 r"^Layer: sizes must be whole numbers.*'a'"),
    "scalar Neuron(0)": Case(lambda: nn.scalar.Neuron(0), r"^Neuron: needs at least one input"),
    "manual_seed('a')": Case(lambda: nn.manual_seed("a"),
                             r"^manual_seed: seed must be a whole number.*'a'"),
    "summary(input_shape='a')": Case(lambda: nn.MLP(2, [1]).summary(input_shape="a"),
                                     r"^summary: input_shape must be a tuple.*'a'"),
}

# ---------------------------------------------------------------- nn: losses and optimizers

LOSSES = {
    "mse target 'a'": Case(lambda: L.mse(Tensor([1.0]), "a"),
                           r"^mse: target must be numbers.*'a'"),
    "mse target None": Case(lambda: L.mse(Tensor([1.0]), None),
                            r"^mse: target must be numbers.*None"),
    "mae target 'a'": Case(lambda: L.mae(Tensor([1.0]), ["a"]),
                           r"^mae: target must be numbers"),
    "mse prediction None": Case(lambda: L.mse(None, [1.0]),
                                r"^mse: prediction must be .*None"),
    "mse(reduction='avg')": Case(lambda: L.mse(Tensor([1.0]), [1.0], reduction="avg"),
                                 r"^mse: reduction must be 'mean' or 'sum'"),
    "cross_entropy of empty": Case(lambda: L.cross_entropy(Tensor(np.zeros((0, 3))),
                                                           np.array([], dtype=int)),
                                   r"^cross_entropy: the tensor is empty"),
    "hinge of empty": Case(lambda: L.hinge(Tensor(np.zeros(0)), np.zeros(0)),
                           r"^hinge: the prediction is empty"),
    "mse of empty": Case(lambda: L.mse(Tensor(np.zeros(0)), np.zeros(0)),
                         r"^mse: .*empty"),
    "mse lists of different lengths": Case(lambda: L.mse([Value(1.0)], [1.0, 2.0]),
                                           r"^mse: 1 predictions but 2 targets"),
    "bce(eps=2)": Case(lambda: L.bce(Tensor([0.5]), [1.0], eps=2),
                       r"^bce: eps must be a number in \(0, 0.5\), got 2"),
    "hinge labels 0.5": Case(lambda: L.hinge(Tensor([0.5]), [0.5]),
                             r"^hinge: labels must be -1 or \+1"),
    "cross_entropy labels 'ab'": Case(lambda: L.cross_entropy(Tensor(np.zeros((2, 3))), "ab"),
                                      r"^cross_entropy: labels"),
    "l2_penalty(lam='a')": Case(lambda: L.l2_penalty(nn.MLP(2, [1]), lam="a"),
                                r"^l2_penalty: lam must be a number.*'a'"),
    "l1_penalty(3)": Case(lambda: L.l1_penalty(3),
                          r"^l1_penalty: parameters must be a model or a list.*3"),
    "losses.get('foo')": Case(lambda: L.get("foo"), r"^get: unknown loss 'foo'"),
}

OPTIMIZERS = {
    "SGD(None)": Case(lambda: optim.SGD(None), r"^SGD: parameters must be .*None"),
    "Adam(3)": Case(lambda: optim.Adam(3), r"^Adam: parameters must be .*3"),
    "SGD([])": Case(lambda: optim.SGD([], lr=0.1), r"^SGD: got no parameters"),
    "SGD([1.0, 2.0])": Case(lambda: optim.SGD([1.0, 2.0]),
                            r"^SGD: parameters must be Values or Tensors"),
    "SGD(lr=-1)": Case(lambda: optim.SGD(nn.MLP(2, [1]).parameters(), lr=-1),
                       r"^SGD: lr must be >= 0"),
    "Adam(betas=(1.5, 0.9))": Case(lambda: optim.Adam(nn.MLP(2, [1]).parameters(),
                                                      betas=(1.5, 0.9)),
                                   r"^Adam: betas must be in \[0, 1\)"),
    "optim.get('foo')": Case(lambda: optim.get("foo", nn.MLP(2, [1]).parameters()),
                             r"^get: unknown optimizer 'foo'"),
}

# ---------------------------------------------------------------- nn: compile, fit, predict

TRAINING = {
    "compile(loss='foo')": Case(lambda: _compiled(loss="foo"), r"^compile: unknown loss 'foo'"),
    "compile(loss=3)": Case(lambda: _compiled(loss=3), r"^compile: .*loss.*3"),
    "compile(optimizer='foo')": Case(lambda: _compiled(optimizer="foo"),
                                     r"^compile: unknown optimizer 'foo'"),
    "compile(optimizer=SGD)": Case(lambda: _compiled(optimizer=optim.SGD),
                                   r"^compile: optimizer .*SGD\(model.parameters\(\)"),
    "compile(metrics=['foo'])": Case(lambda: _compiled(metrics=["foo"]),
                                     r"^compile: unknown metric 'foo'"),
    "compile(metrics=3)": Case(lambda: _compiled(metrics=3),
                               r"^compile: metrics must be a list.*3"),
    "compile(lr='a')": Case(lambda: _compiled(lr="a"), r"^SGD: lr must be a number"),
    "compile(foo=1)": Case(lambda: _compiled(foo=1), r"^compile: .*foo"),
    "fit before compile": Case(lambda: nn.MLP(2, [1]).fit(X4, Y4, verbose=0),
                               r"^fit: the model is not compiled", RuntimeError),
    "fit y rows": Case(lambda: _compiled().fit(X4, np.zeros((3, 1)), verbose=0),
                       r"^fit: X has 4 rows but y has 3"),
    "fit(validation_split=1.5)": Case(lambda: _compiled().fit(X4, Y4, validation_split=1.5,
                                                              verbose=0),
                                      r"^fit: validation_split must be in \[0, 1\)"),
    "fit(validation_split='a')": Case(lambda: _compiled().fit(X4, Y4, validation_split="a",
                                                              verbose=0),
                                      r"^fit: validation_split must be a number.*'a'"),
    "fit(validation_data=(X,))": Case(lambda: _compiled().fit(X4, Y4, validation_data=(X4,),
                                                              verbose=0),
                                      r"^fit: validation_data must be a pair \(X, y\)"),
    "fit(callbacks=[3])": Case(lambda: _compiled().fit(X4, Y4, callbacks=[3], verbose=0),
                               r"^fit: callbacks must be .*Callback.*got int 3"),
    "fit(callbacks=EarlyStopping())": Case(
        lambda: _compiled().fit(X4, Y4, callbacks=nn.EarlyStopping(), verbose=0),
        r"^fit: callbacks must be a list"),
    "fit(verbose='loud')": Case(lambda: _compiled().fit(X4, Y4, verbose="loud"),
                                r"^fit: verbose must be"),
    "fit(epochs=0)": Case(lambda: _compiled().fit(X4, Y4, epochs=0, verbose=0),
                          r"^fit: epochs must be a whole number"),
    "fit(X='abc')": Case(lambda: _compiled().fit("abc", Y4, verbose=0), r"^fit: X must hold"),
    "predict('abc')": Case(lambda: _compiled().predict("abc"),
                           r"^predict: X must hold numbers"),
    "evaluate before compile": Case(lambda: nn.MLP(2, [1]).evaluate(X4, Y4),
                                    r"^evaluate: the model is not compiled", RuntimeError),
    "EarlyStopping(patience=-1)": Case(lambda: nn.EarlyStopping(patience=-1),
                                       r"^EarlyStopping: patience must be a whole number"),
    "EarlyStopping(monitor=val_acc)": Case(
        lambda: _compiled().fit(X4, Y4, callbacks=[nn.EarlyStopping(monitor="val_acc")],
                                verbose=0),
        r"^EarlyStopping: 'val_acc' is not measured"),
}

# ---------------------------------------------------------------- nn: files


def _in_tmp(name):
    return lambda tmp: tmp / name


FILES = {
    "save(None)": Case(lambda tmp: nn.Linear(2, 1).save(None),
                       r"^save: path must be a file name.*None"),
    "save(3)": Case(lambda tmp: nn.Linear(2, 1).save(3), r"^save: path must be a file name.*3"),
    "save(folder)": Case(lambda tmp: nn.Linear(2, 1).save(tmp), r"^save: .* is a folder"),
    "nn.save(a model)": Case(lambda tmp: nn.save(nn.Linear(2, 1), tmp / "w.npz"),
                             r"^save: .*state_dict\(\).*Linear"),
    "nn.load(None)": Case(lambda tmp: nn.load(None), r"^load: path must be a file name.*None"),
    "load(missing)": Case(lambda tmp: nn.Linear(2, 1).load(tmp / "missing.npz"),
                          r"^load: there is no file", OSError),
    "load(folder)": Case(lambda tmp: nn.Linear(2, 1).load(tmp), r"^load: .* is a folder", OSError),
    "load(text)": Case(lambda tmp: ((tmp / "t.npz").write_text("hello"),
                                    nn.Linear(2, 1).load(tmp / "t.npz")),
                       r"^load: .* is not a weights file"),
    "load_state_dict(3)": Case(lambda tmp: nn.Linear(2, 1).load_state_dict(3),
                               r"^load_state_dict: expected a dict .*int"),
    "load_state_dict({})": Case(lambda tmp: nn.Linear(2, 1).load_state_dict({}),
                                r"^load_state_dict: the weights do not fit Linear"),
}

# ---------------------------------------------------------------- viz

VIZ = {
    "draw(f, 3)": Case(lambda tmp: viz.draw(_f(), 3), r"^draw: path must be a file name.*3"),
    "draw(f, 'a.txt')": Case(lambda tmp: viz.draw(_f(), tmp / "a.txt"),
                             r"^draw: cannot write .*a.txt"),
    "draw(engine='foo')": Case(lambda tmp: viz.draw(_f(), engine="foo"),
                               r"^draw: unknown engine 'foo'"),
    "draw([f, f])": Case(lambda tmp: viz.draw([_f(), _f()]), r"^draw: expected the Value"),
    "to_dot(foo=1)": Case(lambda tmp: viz.to_dot(_f(), foo=1), r"^to_dot: .*'foo'"),
    "explain(max_rows='a')": Case(lambda tmp: viz.explain(_f(), max_rows="a"),
                                  r"^explain: max_rows must be"),
    "show(console='a')": Case(lambda tmp: viz.show(_f(), console="a"),
                              r"^show: console must be a rich Console.*'a'"),
    "animate(f, 3)": Case(lambda tmp: viz.animate(_f(), 3),
                          r"^animate: path must be a file name.*3"),
    "plot_function(3, ..)": Case(lambda tmp: viz.plot_function(3, None, tmp / "p.svg"),
                                 r"^plot_function: fn must be a function.*3"),
    "plot_function(.., derivative=3)": Case(
        lambda tmp: viz.plot_function(np.tanh, 3, tmp / "p.svg"),
        r"^plot_function: derivative must be a function or None.*3"),
    "plot_function(xrange='ab')": Case(
        lambda tmp: viz.plot_function(np.tanh, None, tmp / "p.svg", xrange="ab"),
        r"^plot_function: xrange must be two numbers"),
    "plot_function(xrange=(1, -1))": Case(
        lambda tmp: viz.plot_function(np.tanh, None, tmp / "p.svg", xrange=(1, -1)),
        r"^plot_function: xrange must be two numbers, low < high"),
    "plot_function fn returns 'a'": Case(
        lambda tmp: viz.plot_function(lambda x: "a", None, tmp / "p.svg"),
        r"^plot_function: fn returned"),
    "plot_function fn returns 3 numbers": Case(
        lambda tmp: viz.plot_function(lambda x: np.ones(3), None, tmp / "p.svg"),
        r"^plot_function: fn returned"),
    "plot_function(path='p.txt')": Case(
        lambda tmp: viz.plot_function(np.tanh, None, tmp / "p.txt"),
        r"^plot_function: cannot save to .*p.txt"),
    "plot_function(path=3)": Case(lambda tmp: viz.plot_function(np.tanh, None, 3),
                                  r"^plot_function: path must be a file name.*3"),
    "plot_history(None)": Case(lambda tmp: viz.plot_history(None, tmp / "h.svg"),
                               r"^plot_history: expected a History"),
    "plot_history({'loss': 'abc'})": Case(
        lambda tmp: viz.plot_history({"loss": "abc"}, tmp / "h.svg"),
        r"^plot_history: 'loss' must be a list of numbers"),
    "plot_history(path='h.txt')": Case(
        lambda tmp: viz.plot_history({"loss": [1.0, 0.5]}, tmp / "h.txt"),
        r"^plot_history: cannot save to"),
    "plot_decision_boundary(None, ..)": Case(
        lambda tmp: viz.plot_decision_boundary(None, X4, np.zeros(4), tmp / "d.svg"),
        r"^plot_decision_boundary: model must be .*None"),
    "plot_decision_boundary 3 features": Case(
        lambda tmp: viz.plot_decision_boundary(nn.MLP(2, [1]), np.zeros((4, 3)), np.zeros(4),
                                               tmp / "d.svg"),
        r"^plot_decision_boundary: X must have shape \(N, 2\)"),
    "plot_decision_boundary(resolution=0)": Case(
        lambda tmp: viz.plot_decision_boundary(nn.MLP(2, [1]), X4, np.zeros(4), tmp / "d.svg",
                                               resolution=0),
        r"^plot_decision_boundary: resolution must be a whole number"),
    "plot_optimizer_paths(None, ..)": Case(
        lambda tmp: viz.plot_optimizer_paths(None, {}, tmp / "o.svg"),
        r"^plot_optimizer_paths: loss_fn must be a function.*None"),
    "plot_optimizer_paths(.., 'abc')": Case(
        lambda tmp: viz.plot_optimizer_paths(lambda a, b: a * a + b * b, "abc", tmp / "o.svg"),
        r"^plot_optimizer_paths: paths must be a dict"),
    "plot_optimizer_paths bad path shape": Case(
        lambda tmp: viz.plot_optimizer_paths(lambda a, b: a * a + b * b, {"sgd": [1, 2, 3]},
                                             tmp / "o.svg"),
        r"^plot_optimizer_paths: path 'sgd' has shape \(3,\)"),
}

# ---------------------------------------------------------------- data

DATA = {
    "moons(0)": Case(lambda: nn.data.moons(0), r"^moons: n must be at least"),
    "moons('a')": Case(lambda: nn.data.moons("a"), r"^moons: n must be an integer"),
    "one_hot of 0.5": Case(lambda: nn.data.one_hot(np.array([0.5, 1])),
                           r"^one_hot: labels must be whole numbers"),
    "batches(batch_size=0)": Case(lambda: list(nn.data.batches(X4, Y4, batch_size=0)),
                                  r"^batches: batch_size must be at least 1"),
    "train_val_test_split('a')": Case(lambda: nn.data.train_val_test_split(X4, Y4, "a"),
                                      r"^train_val_test_split: fractions must be numbers"),
    "curve(fn='foo')": Case(lambda: nn.data.curve(10, fn="foo"), r"^curve: unknown curve 'foo'"),
}


def _check(case, *args):
    with pytest.raises(Exception) as caught:
        case.call(*args)
    error = caught.value
    message = str(error)
    assert isinstance(error, case.kind), f"{type(error).__name__}: {message}"
    assert not RAW.search(message), message
    assert re.search(case.pattern, message), message


def _cases(table):
    return pytest.mark.parametrize("name", list(table))


@_cases(TENSOR)
def test_tensor_misuse_is_a_sentence(name):
    _check(TENSOR[name])


@_cases(FUNCTIONS)
def test_module_functions_misuse_is_a_sentence(name):
    _check(FUNCTIONS[name])


@_cases(VALUE)
def test_value_misuse_is_a_sentence(name):
    _check(VALUE[name])


@_cases(GRADIENTS)
def test_grad_gradcheck_and_modes_misuse_is_a_sentence(name):
    _check(GRADIENTS[name])


@_cases(LAYERS)
def test_layer_misuse_is_a_sentence(name):
    _check(LAYERS[name])


@_cases(LOSSES)
def test_loss_misuse_is_a_sentence(name):
    _check(LOSSES[name])


@_cases(OPTIMIZERS)
def test_optimizer_misuse_is_a_sentence(name):
    _check(OPTIMIZERS[name])


@_cases(TRAINING)
def test_compile_and_fit_misuse_is_a_sentence(name):
    _check(TRAINING[name])


@_cases(FILES)
def test_save_and_load_misuse_is_a_sentence(name, tmp_path):
    _check(FILES[name], tmp_path)


@_cases(VIZ)
def test_viz_misuse_is_a_sentence(name, tmp_path):
    _check(VIZ[name], tmp_path)


@_cases(DATA)
def test_data_misuse_is_a_sentence(name):
    _check(DATA[name])


def test_the_good_calls_next_to_the_refused_ones_still_work(tmp_path):
    x = _x()
    assert (x ** 2).sum().item() == 6.0 and (x ** np.full(3, 2.0)).sum().item() == 6.0
    assert (Value(2.0) ** 3).data == 8.0 and (2 ** Value(3.0)).data == 8.0
    assert (x < 2).data.all() and (Value(1.0) < 2) is True
    assert concat((x, x)).shape == (4, 3) and stack([x, x], axis=-1).shape == (2, 3, 2)
    assert x.clip(None, 0.5).data.max() == 0.5 and x.sum(keepdims=True).shape == (1, 1)
    assert Tensor(1.0, dtype="float32").dtype == np.float32
    assert gradcheck(lambda a: a * a, [Value(1.5)], eps=1e-6, atol=1e-5, rtol=0)
    with no_grad():
        assert not (x * 2).requires_grad
    model = _compiled(optimizer=optim.SGD(nn.MLP(2, [3, 1]).parameters(), lr=0.1))
    model.fit(X4, Y4, callbacks=[nn.EarlyStopping(patience=0)], validation_data=(X4, Y4),
              verbose=0)
    assert L.l2_penalty(nn.MLP(2, [1]), lam=0.5).item() >= 0
    assert viz.plot_function(np.tanh, None, tmp_path / "t.svg", xrange=[-1, 1]).exists()
    assert nn.ELU(alpha=0.5)(Tensor([-1.0])).item() < 0


# ---------------------------------------------------------------- the command line

STUB = "ASSIGNMENT = 1\n"


def _cli(*arguments, cwd):
    environment = {**os.environ, "COLUMNS": "80"}
    return subprocess.run([sys.executable, "-m", "chaingrad", *arguments], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=environment,
                          stdin=subprocess.DEVNULL)


CLI = {
    "lessons ²": (["lessons", "²"], r"There is no lesson ²"),
    "lessons 99": (["lessons", "99"], r"There is no lesson 99"),
    "lessons -1": (["lessons", "-1"], r"There is no lesson -1"),
    "lessons 1 --step abc": (["lessons", "1", "--step", "abc"],
                             r"^chaingrad lessons: argument --step: invalid int value: 'abc'"),
    "lessons 1 --step 99": (["lessons", "1", "--step", "99", "--auto"], r"--step 99: lesson 1"),
    "check --timeout inf": (["check", "--timeout", "inf", "sub.py"],
                            r"^chaingrad check: --timeout must be a number of seconds .*inf"),
    "check --timeout 1e300": (["check", "--timeout", "1e300", "sub.py"],
                              r"^chaingrad check: --timeout must be a number of seconds"),
    "check --timeout -1": (["check", "--timeout", "-1", "sub.py"],
                           r"^chaingrad check: --timeout must be a number of seconds .*-1"),
    "check --timeout nan": (["check", "--timeout", "nan", "sub.py"],
                            r"^chaingrad check: --timeout must be a number of seconds .*nan"),
    "check --timeout abc": (["check", "--timeout", "abc", "sub.py"],
                            r"^chaingrad check: argument --timeout: invalid float value: 'abc'"),
    "autograder --timeout inf": (["autograder", "gradescope", "1", "-o", "a.zip", "--timeout",
                                  "inf"],
                                 r"^chaingrad autograder: --timeout must be a number of seconds"),
    "check a missing file": (["check", "missing.py"], r"^chaingrad check: no such file"),
    "check an empty folder": (["check", "empty"], r"^chaingrad check: the folder 'empty'"),
    "check nothing": (["check"], r"^chaingrad check: the following arguments are required"),
    "check --jobs 0": (["check", "sub.py", "--jobs", "0"], r"^chaingrad check: --jobs must be"),
    "check --seed abc": (["check", "sub.py", "--seed", "abc"],
                         r"^chaingrad check: argument --seed: invalid int value"),
    "check --report a folder": (["check", "sub.py", "--report", "empty"],
                                r"^chaingrad check: --report 'empty' is a folder"),
    "draw nothing": (["draw"], r"^chaingrad draw: the following arguments are required"),
    "draw x+": (["draw", "x+", "x=1"], r"^chaingrad draw: cannot parse 'x\+'"),
    "draw x=abc": (["draw", "x", "x=abc"], r"^chaingrad draw: x: 'abc' is not a number"),
    "draw -o out.txt": (["draw", "x", "x=1", "-o", "out.txt"],
                        r"^chaingrad draw: cannot write 'out.txt'; use a path ending in .svg"),
    "draw --engine foo": (["draw", "x", "x=1", "--engine", "foo"],
                          r"^chaingrad draw: argument --engine: invalid choice: 'foo'"),
    "exercises start 99": (["exercises", "start", "99"],
                           r"^chaingrad exercises: there is no assignment '99'"),
    "exercises start 1 into a file": (["exercises", "start", "1", "sub.py"],
                                      r"^chaingrad exercises: 'sub.py' is a file, not a folder"),
    "exercises foo": (["exercises", "foo"], r"^chaingrad exercises: argument action: invalid"),
    "playground --port -5": (["playground", "--port", "-5", "--no-browser"],
                             r"^chaingrad playground: --port must be 0 to 65535"),
    "an unknown command": (["paint"], r"^chaingrad: argument COMMAND: invalid choice: 'paint'"),
}


@pytest.fixture(scope="module")
def cli_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    (folder / "sub.py").write_text(STUB)
    (folder / "empty").mkdir()
    return folder


@pytest.mark.parametrize("name", list(CLI))
def test_the_command_line_answers_a_usage_error_in_one_sentence(name, cli_folder):
    arguments, pattern = CLI[name]
    result = _cli(*arguments, cwd=cli_folder)
    said = (result.stderr or result.stdout).strip()
    assert result.returncode == 2, (result.returncode, said)
    assert "Traceback" not in result.stderr + result.stdout, said
    assert len(said.replace("\n", " ").split(". ")) <= 3 and len(said) < 400, said
    assert re.search(pattern, " ".join(said.split())), said
    assert not (Path(cli_folder) / "sub.py").is_dir()
