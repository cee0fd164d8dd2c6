"""nn.losses against PyTorch (float64, forward and gradients) and on scalar networks."""

import numpy as np
import pytest

from chaingrad import nn
from chaingrad.autograd import Tensor, Value, gradcheck
from chaingrad.nn import losses

torch = pytest.importorskip("torch")
F = torch.nn.functional
rng = np.random.default_rng(0)


def _compare(ours, theirs, prediction, target, **kwargs):
    """Loss value and d loss / d prediction, ours against torch's."""
    p = Tensor(prediction, requires_grad=True)
    loss = ours(p, target, **kwargs)
    loss.backward()
    tp = torch.tensor(prediction, requires_grad=True)
    expected = theirs(tp, torch.tensor(target))
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), abs=1e-10, rel=1e-12)
    assert np.allclose(p.grad, tp.grad.numpy(), atol=1e-10, rtol=1e-12)


def test_mse_and_mae():
    prediction, target = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    _compare(losses.mse, F.mse_loss, prediction, target)
    _compare(losses.mae, F.l1_loss, prediction, target)
    _compare(losses.mse, lambda p, t: F.mse_loss(p, t, reduction="sum"), prediction, target,
             reduction="sum")


def test_binary_cross_entropy_on_probabilities_and_logits():
    logits = rng.normal(size=(8, 1)) * 3
    target = rng.integers(0, 2, size=(8, 1)).astype(float)
    probabilities = 1 / (1 + np.exp(-logits))
    _compare(losses.bce, F.binary_cross_entropy, probabilities, target)
    _compare(losses.bce_with_logits, F.binary_cross_entropy_with_logits, logits, target)
    extreme = np.array([[-800.0], [0.0], [700.0]])
    _compare(losses.bce_with_logits, F.binary_cross_entropy_with_logits, extreme,
             np.array([[1.0], [0.0], [0.0]]))


def test_bce_clips_certain_mistakes_to_a_finite_loss():
    p = Tensor([[0.0], [1.0]], requires_grad=True)
    loss = losses.bce(p, [[1.0], [0.0]])
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(-np.log(1e-7), rel=1e-6)


def test_cross_entropy_with_integer_labels_one_hot_and_large_logits():
    logits = rng.normal(size=(5, 4)) * 4
    labels = np.array([0, 3, 1, 1, 2])
    _compare(losses.cross_entropy, F.cross_entropy, logits, labels)
    one_hot = np.eye(4)[labels]
    _compare(losses.cross_entropy, F.cross_entropy, logits, one_hot)
    soft = rng.dirichlet(np.ones(4), size=5)
    _compare(losses.cross_entropy, F.cross_entropy, logits, soft)
    _compare(losses.cross_entropy, F.cross_entropy, logits + 1000.0, labels)


def test_hinge_matches_its_formula_in_torch():
    scores = rng.normal(size=(10,))
    labels = np.where(rng.random(10) < 0.5, -1.0, 1.0)
    _compare(losses.hinge, lambda s, y: torch.clamp(1 - y * s, min=0).mean(), scores, labels)
    with pytest.raises(ValueError, match="labels must be -1 or \\+1"):
        losses.hinge(Tensor(scores), (labels > 0).astype(float))


def test_column_predictions_against_flat_targets_do_not_broadcast():
    prediction = rng.normal(size=(4, 1))
    target = rng.normal(size=4)
    assert losses.mse(Tensor(prediction), target).item() == pytest.approx(
        np.mean((prediction[:, 0] - target) ** 2)
    )
    with pytest.raises(ValueError, match="mse: prediction has shape \\(4, 1\\).*\\(3,\\)"):
        losses.mse(Tensor(prediction), np.ones(3))


def test_losses_on_values_match_the_tensor_versions():
    prediction, target = [0.3, -1.2, 2.0], [1.0, -1.0, -1.0]
    for loss in (losses.mse, losses.mae, losses.hinge):
        ours = loss([Value(p) for p in prediction], target).data
        assert ours == pytest.approx(loss(Tensor(prediction), target).item(), abs=1e-14)
    probabilities = [Value(0.2), Value(0.9)]
    assert losses.bce(probabilities, [0, 1]).data == pytest.approx(
        losses.bce(Tensor([0.2, 0.9]), [0, 1]).item(), abs=1e-14
    )
    assert losses.bce_with_logits([Value(-800.0), Value(2.0)], [1, 0]).data == pytest.approx(
        losses.bce_with_logits(Tensor([-800.0, 2.0]), [1, 0]).item(), abs=1e-12
    )
    logits = [Value(1.0), Value(-0.5), Value(2.5)]
    expected = losses.cross_entropy(Tensor([[1.0, -0.5, 2.5]]), [2]).item()
    assert losses.cross_entropy(logits, 2).data == pytest.approx(expected, abs=1e-14)


def test_penalties_on_module_weights():
    model = nn.MLP(3, [4, 2], seed=0)
    weights = [p.data for p in model.parameters()]
    l1 = losses.l1_penalty(model, lam=0.1)
    l2 = losses.l2_penalty(model, lam=0.1)
    assert l1.item() == pytest.approx(0.1 * sum(np.abs(w).sum() for w in weights))
    assert l2.item() == pytest.approx(0.1 * sum((w**2).sum() for w in weights))
    l2.backward()
    assert np.allclose(model[0].weight.grad, 0.2 * model[0].weight.data)
    scalar = nn.scalar.MLP(2, [3, 1], seed=0)
    assert losses.l2_penalty(scalar, 1.0).data == pytest.approx(
        sum(p.data**2 for p in scalar.parameters())
    )


def test_gradient_penalty_uses_double_backprop_like_torch():
    data = rng.normal(size=(5, 3))
    model = nn.MLP(3, [4, 1], activation="tanh", seed=2)
    prediction = model(data)
    penalty = losses.gradient_penalty(prediction, model, lam=0.5)
    penalty.backward()

    torch_params = [torch.tensor(p.data, requires_grad=True) for p in model.parameters()]
    W1, b1, W2, b2 = torch_params
    out = torch.tanh(torch.tensor(data) @ W1 + b1) @ W2 + b2
    gradients = torch.autograd.grad(out.sum(), torch_params, create_graph=True)
    expected = 0.5 * sum((g * g).sum() for g in gradients)
    expected.backward()
    assert penalty.item() == pytest.approx(expected.item(), abs=1e-10)
    for ours, theirs in zip(model.parameters(), torch_params):
        # torch leaves None where the penalty does not depend on a parameter (the last bias)
        expected_grad = np.zeros_like(ours.data) if theirs.grad is None else theirs.grad.numpy()
        ours_grad = np.zeros_like(ours.data) if ours.grad is None else ours.grad
        assert np.allclose(ours_grad, expected_grad, atol=1e-10)


def test_losses_pass_gradcheck():
    p = Tensor(rng.normal(size=(4, 3)), requires_grad=True)
    labels = np.array([2, 0, 1, 1])
    gradcheck(lambda z: losses.cross_entropy(z, labels), [p])
    gradcheck(lambda z: losses.bce_with_logits(z, (labels > 0).astype(float)[:, None]
                                               * np.ones((4, 3))), [p])


def test_losses_by_name():
    assert losses.get("binary_crossentropy") is losses.bce
    assert losses.get(losses.mae) is losses.mae
    with pytest.raises(ValueError, match="unknown loss 'l2'; choose one of mse"):
        losses.get("l2")

