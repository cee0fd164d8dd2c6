"""Normalisation, convolution options, transposed convolution, attention and the bridge.

Each layer is compared with PyTorch in float64: outputs, input gradients and weight
gradients (the ops themselves are gradient-checked in tests/test_ops.py).
"""

import subprocess
import sys

import numpy as np
import pytest

from chaingrad import nn
from chaingrad.autograd import OpError, Tensor, gradcheck
from chaingrad.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _data(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def _close(ours, theirs, atol=1e-10):
    expected = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    np.testing.assert_allclose(np.asarray(ours), expected, rtol=1e-8, atol=atol)


def _run_both(ours, theirs, x, seed=1):
    """Forward both on x, backward a weighted sum; return (ours out, theirs out, x grads)."""
    x_o = Tensor(x, requires_grad=True)
    x_t = torch.tensor(x, requires_grad=True)
    out_o, out_t = ours(x_o), theirs(x_t)
    weights = _data(out_t.shape, seed)
    (out_o * weights).sum().backward()
    (out_t * torch.tensor(weights)).sum().backward()
    return out_o, out_t, x_o.grad, x_t.grad


# ---------------------------------------------------------------- importing


def test_importing_chaingrad_never_imports_torch():
    code = ("import sys, chaingrad, chaingrad.nn, chaingrad.nn.bridge, chaingrad.viz; "
            "from chaingrad import nn; nn.to_torch; "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


# ---------------------------------------------------------------- normalisation


@pytest.mark.parametrize(("cls", "shape"), [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                            ("BatchNorm2d", (4, 3, 5, 4))])
@pytest.mark.parametrize(("momentum", "eps", "affine"), [(0.1, 1e-5, True), (0.3, 0.1, False)])
def test_batch_norm_train_then_eval_equals_torch(cls, shape, momentum, eps, affine):
    ours = getattr(nn, cls)(3, eps=eps, momentum=momentum, affine=affine)
    theirs = getattr(torch.nn, cls)(3, eps=eps, momentum=momentum, affine=affine).double()
    if affine:
        ours.weight.data[...] = [0.5, 2.0, -1.0]
        ours.bias.data[...] = [0.1, 0.0, -0.3]
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(ours.weight.data))
            theirs.bias.copy_(torch.tensor(ours.bias.data))
    for step in range(3):  # training: batch statistics, running ones updated every step
        x = _data(shape, seed=step) * 2 + 1
        out_o, out_t, grad_o, grad_t = _run_both(ours, theirs, x, seed=10 + step)
        _close(out_o.data, out_t)
        _close(grad_o, grad_t)
        _close(ours.running_mean, theirs.running_mean)
        _close(ours.running_var, theirs.running_var)
    if affine:
        _close(ours.weight.grad, theirs.weight.grad)
        _close(ours.bias.grad, theirs.bias.grad)
    ours.eval()
    theirs.eval()
    x = _data(shape, seed=9)
    out_o, out_t, grad_o, grad_t = _run_both(ours, theirs, x)
    _close(out_o.data, out_t)
    _close(grad_o, grad_t)


def test_batch_norm_eval_treats_each_example_alone():
    layer = nn.BatchNorm1d(2)
    for seed in range(5):
        layer(Tensor(_data((8, 2), seed) + 3))
    layer.eval()
    batch = _data((4, 2), seed=7)
    together = layer(Tensor(batch)).data
    alone = np.concatenate([layer(Tensor(batch[i:i + 1])).data for i in range(4)])
    _close(together, alone)


def test_batch_norm_training_on_one_value_per_channel_is_a_clear_error():
    with pytest.raises(OpError, match=r"batch_norm: training needs more than one value per "
                                      r"channel, got shape \(1, 3\)"):
        nn.BatchNorm1d(3)(Tensor(np.zeros((1, 3))))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected input \(N, C, H, W\) with "
                                         r"C=3, got shape \(2, 4, 5, 5\)"):
        nn.BatchNorm2d(3)(Tensor(np.zeros((2, 4, 5, 5))))


@pytest.mark.parametrize(("shape", "normalized"), [((4, 6), 6), ((2, 3, 4), (3, 4))])
def test_layer_norm_equals_torch(shape, normalized):
    ours = nn.LayerNorm(normalized, eps=1e-3)
    theirs = torch.nn.LayerNorm(normalized, eps=1e-3).double()
    rng = np.random.default_rng(3)
    ours.weight.data[...] = rng.normal(size=ours.weight.shape)
    ours.bias.data[...] = rng.normal(size=ours.bias.shape)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        theirs.bias.copy_(torch.tensor(ours.bias.data))
    out_o, out_t, grad_o, grad_t = _run_both(ours, theirs, _data(shape) * 3)
    _close(out_o.data, out_t)
    _close(grad_o, grad_t)
    _close(ours.weight.grad, theirs.weight.grad)
    _close(ours.bias.grad, theirs.bias.grad)


def test_train_and_eval_switch_batch_norm_and_dropout_inside_a_model():
    model = nn.Sequential(nn.Linear(4, 8, seed=0), nn.BatchNorm1d(8), nn.ReLU(),
                          nn.Dropout(0.5, seed=1), nn.Linear(8, 2, seed=2))
    x = Tensor(_data((16, 4)))
    model.eval()
    assert not any(m.training for m in model.modules())
    first, second = model(x).data, model(x).data
    np.testing.assert_array_equal(first, second)  # no dropout, running statistics
    stats = model[1].running_mean.copy()
    model.train()
    assert all(m.training for m in model.modules())
    a, b = model(x).data, model(x).data
    assert not np.allclose(a, b)  # a new dropout mask each time
    assert not np.allclose(model[1].running_mean, stats)  # training moved the statistics


def test_normalize_is_one_op_for_both_norms():
    x = Tensor(_data((5, 4)), requires_grad=True)
    out = F.normalize(x, axis=0)
    _close(out.data.mean(axis=0), np.zeros(4))
    _close(out.data.var(axis=0), np.full(4, 1.0), atol=1e-4)  # eps keeps it just under 1
    assert out.op == "normalize"
    assert gradcheck(lambda t: F.normalize(t, axis=-1), [x])


# ---------------------------------------------------------------- convolution options


@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation"), [
    (3, (2, 1), (1, 0), 1), ((2, 3), 1, (0, 2), (2, 1)), (3, 2, 2, 2),
])
def test_conv2d_options_equal_torch(kernel, stride, padding, dilation):
    ours = nn.Conv2d(2, 3, kernel, stride=stride, padding=padding, dilation=dilation, seed=0)
    theirs = nn.to_torch(ours)
    assert isinstance(theirs, torch.nn.Conv2d)
    out_o, out_t, grad_o, grad_t = _run_both(ours, theirs, _data((2, 2, 9, 8)))
    _close(out_o.data, out_t)
    _close(grad_o, grad_t)
    _close(ours.weight.grad, theirs.weight.grad)


@pytest.mark.parametrize(("kernel", "stride", "padding", "output_padding", "dilation"), [
    (3, 2, 1, 1, 1), ((2, 3), (2, 1), (0, 1), (1, 0), 1), (2, 1, 0, 0, (2, 1)), (4, 2, 1, 0, 1),
])
def test_conv_transpose2d_equals_torch(kernel, stride, padding, output_padding, dilation):
    ours = nn.ConvTranspose2d(3, 2, kernel, stride=stride, padding=padding,
                              output_padding=output_padding, dilation=dilation, seed=0)
    ours.bias.data[...] = [0.5, -0.5]
    theirs = nn.to_torch(ours)
    assert isinstance(theirs, torch.nn.ConvTranspose2d)
    out_o, out_t, grad_o, grad_t = _run_both(ours, theirs, _data((2, 3, 4, 5)))
    assert out_o.shape == tuple(out_t.shape)
    _close(out_o.data, out_t)
    _close(grad_o, grad_t)
    _close(ours.weight.grad, theirs.weight.grad)
    _close(ours.bias.grad, theirs.bias.grad)


def test_stride_two_transposed_convolution_undoes_the_halving():
    x = Tensor(np.zeros((1, 4, 7, 7)))
    down = nn.Conv2d(4, 4, 3, stride=2, padding=1)(x)
    up = nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=0)(down)
    assert down.shape == (1, 4, 4, 4) and up.shape == (1, 4, 7, 7)


@pytest.mark.parametrize("layer", ["MaxPool2d", "AvgPool2d"])
def test_pooling_with_pairs_equals_torch(layer):
    ours = getattr(nn, layer)((2, 3), stride=(1, 2), padding=(1, 0))
    theirs = nn.to_torch(ours)
    out_o, out_t, grad_o, grad_t = _run_both(ours, theirs, _data((2, 2, 6, 7)))
    _close(out_o.data, out_t)
    _close(grad_o, grad_t)


def test_dilated_max_pooling_equals_torch_both_ways():
    ours = nn.MaxPool2d((2, 3), stride=(2, 1), padding=(1, 0), dilation=(2, 1))
    theirs = nn.to_torch(ours)
    assert theirs.dilation == (2, 1)
    out_o, out_t, grad_o, grad_t = _run_both(ours, theirs, _data((2, 2, 7, 8)))
    _close(out_o.data, out_t)
    _close(grad_o, grad_t)
    back = nn.from_torch(theirs)
    assert back.dilation == (2, 1) and back.kernel_size == (2, 3)


def test_im2col_makes_convolution_one_matrix_product():
    x = Tensor(_data((2, 3, 6, 5)))
    w = Tensor(_data((4, 3, 3, 2), seed=1))
    cols = F.im2col(x, (3, 2), stride=(1, 2), padding=1)
    assert cols.shape == (2, 3 * 3 * 2, 6 * 3)
    as_product = (w.reshape(4, -1) @ cols).reshape(2, 4, 6, 3)
    _close(as_product.data, F.conv2d(x, w, stride=(1, 2), padding=1).data)
    _close(cols.data, TF.unfold(torch.tensor(x.data), (3, 2), padding=1, stride=(1, 2)))
    back = F.col2im(cols, (6, 5), (3, 2), stride=(1, 2), padding=1)
    _close(back.data, TF.fold(torch.tensor(cols.data), (6, 5), (3, 2), padding=1,
                              stride=(1, 2)))


def test_convolution_options_say_what_is_wrong():
    x, w = Tensor(np.zeros((1, 1, 5, 5))), Tensor(np.zeros((1, 1, 3, 3)))
    with pytest.raises(OpError, match=r"conv2d: dilation must be a positive integer, got "
                                      r"\(1, 0\)"):
        F.conv2d(x, w, dilation=(1, 0))
    with pytest.raises(OpError, match=r"conv2d: kernel \(3, 3\) does not fit input "
                                      r"\(1, 1, 5, 5\) dilated by \(3, 3\)"):
        F.conv2d(x, w, dilation=3)
    with pytest.raises(OpError, match=r"conv_transpose2d: output_padding 2 must be smaller "):
        F.conv_transpose2d(x, w, stride=2, output_padding=2)
    with pytest.raises(OpError, match=r"col2im: columns of shape \(1, 9, 5\) do not fit "):
        F.col2im(Tensor(np.zeros((1, 9, 5))), (5, 5), 3)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: stride must be a positive integer"):
        nn.ConvTranspose2d(1, 1, 3, stride=0)


# ---------------------------------------------------------------- sequences


def test_embedding_equals_torch_and_adds_repeated_rows():
    ours = nn.Embedding(5, 3, seed=0)
    theirs = nn.to_torch(ours)
    index = np.array([[0, 4, 4], [2, 0, 4]])
    out_o = ours(index)
    out_t = theirs(torch.as_tensor(index))
    _close(out_o.data, out_t)
    weights = _data(out_o.shape, seed=2)
    (out_o * weights).sum().backward()
    (out_t * torch.tensor(weights)).sum().backward()
    _close(ours.weight.grad, theirs.weight.grad)
    with pytest.raises(ValueError, match=r"Embedding: indices must lie in 0..4, got values "
                                         r"from 0 to 5"):
        ours(np.array([0, 5]))


@pytest.mark.parametrize("causal", [False, True])
def test_scaled_dot_product_attention_equals_torch(causal):
    q, k, v = (Tensor(_data((2, 3, 4, 5), seed), requires_grad=True) for seed in range(3))
    out, weights = F.scaled_dot_product_attention(q, k, v, causal=causal, return_weights=True)
    tq, tk, tv = (torch.tensor(t.data, requires_grad=True) for t in (q, k, v))
    expected = TF.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
    _close(out.data, expected)
    _close(weights.data.sum(axis=-1), np.ones((2, 3, 4)))
    if causal:  # no token looks ahead
        assert np.all(weights.data[..., np.triu_indices(4, k=1)[0], np.triu_indices(4, k=1)[1]]
                      == 0)
    g = _data(out.shape, seed=5)
    (out * g).sum().backward()
    (expected * torch.tensor(g)).sum().backward()
    for mine, theirs in zip((q, k, v), (tq, tk, tv)):
        _close(mine.grad, theirs.grad)


@pytest.mark.parametrize("causal", [False, True])
def test_multihead_attention_equals_torch(causal):
    ours = nn.MultiheadAttention(8, 2, seed=0)
    for layer in (ours.query, ours.key, ours.value, ours.out):
        layer.bias.data[...] = _data(8, seed=id(layer) % 100)
    theirs = nn.to_torch(ours)
    x = _data((3, 4, 8))
    x_o, x_t = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_o = ours(x_o, causal=causal)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    out_t, weights_t = theirs(x_t, x_t, x_t, attn_mask=mask if causal else None,
                              average_attn_weights=False)
    _close(out_o.data, out_t)
    _close(ours.weights.data, weights_t)
    g = _data(out_o.shape, seed=4)
    (out_o * g).sum().backward()
    (out_t * torch.tensor(g)).sum().backward()
    _close(x_o.grad, x_t.grad)
    in_grad = np.concatenate([p.weight.grad.T for p in (ours.query, ours.key, ours.value)])
    _close(in_grad, theirs.in_proj_weight.grad)
    _close(ours.out.weight.grad.T, theirs.out_proj.weight.grad)


def test_transformer_block_equals_torchs_pre_norm_encoder_layer():
    ours = nn.TransformerBlock(8, 2, hidden=16, seed=0)
    theirs = nn.to_torch(ours)
    out_o, out_t, grad_o, grad_t = _run_both(ours, theirs, _data((2, 5, 8)))
    _close(out_o.data, out_t)
    _close(grad_o, grad_t)
    _close(ours.linear1.weight.grad.T, theirs.layer.linear1.weight.grad)
    _close(ours.norm1.weight.grad, theirs.layer.norm1.weight.grad)


def test_a_tiny_transformer_trains_one_step_like_its_torch_twin():
    ours = nn.TransformerLM(vocab_size=7, context=6, dim=8, num_heads=2, num_layers=2, seed=0)
    theirs = nn.to_torch(ours)
    text = np.random.default_rng(0).integers(0, 7, (3, 7))
    optimizer = nn.optim.Adam(ours.parameters(), lr=0.01)
    torch_optimizer = torch.optim.Adam(theirs.parameters(), lr=0.01)
    for _ in range(2):
        loss = F.cross_entropy(ours(text[:, :-1]).reshape(-1, 7), text[:, 1:].reshape(-1))
        torch_loss = TF.cross_entropy(theirs(torch.as_tensor(text[:, :-1])).reshape(-1, 7),
                                      torch.as_tensor(text[:, 1:]).reshape(-1))
        optimizer.zero_grad()
        torch_optimizer.zero_grad()
        loss.backward()
        torch_loss.backward()
        _close(loss.item(), torch_loss.item())
        _close(ours.tokens.weight.grad, theirs.tokens.weight.grad)
        _close(ours.blocks[0].attention.query.weight.grad.T,
               theirs.blocks[0].layer.self_attn.in_proj_weight.grad[:8])
        optimizer.step()
        torch_optimizer.step()
    _close(ours.head.weight.data.T, theirs.head.weight)


def test_a_causal_model_ignores_later_tokens():
    model = nn.TransformerLM(vocab_size=6, context=5, dim=8, num_heads=2, num_layers=1, seed=0)
    a = model(np.array([[1, 2, 3, 4, 5]])).data
    b = model(np.array([[1, 2, 3, 0, 0]])).data
    _close(a[0, :3], b[0, :3])
    assert not np.allclose(a[0, 3:], b[0, 3:])


# ---------------------------------------------------------------- the bridge


def _cnn():
    return nn.Sequential(
        nn.Reshape(1, 6, 6), nn.Conv2d(1, 4, 3, padding=1, seed=0), nn.BatchNorm2d(4),
        nn.ReLU(), nn.MaxPool2d(2), nn.ConvTranspose2d(4, 2, 2, stride=2, seed=1),
        nn.Tanh(), nn.Flatten(), nn.Linear(72, 8, seed=2), nn.LayerNorm(8),
        nn.LeakyReLU(slope=0.1), nn.Dropout(0.0), nn.Linear(8, 3, seed=3),
    )


def test_to_torch_trains_one_step_like_chaingrad():
    """Same weights, one SGD step in each: equal losses, gradients and new weights."""
    ours = _cnn()
    theirs = nn.to_torch(ours)
    x, labels = _data((5, 36)), np.array([0, 2, 1, 1, 0])
    optimizer = nn.optim.SGD(ours.parameters(), lr=0.1)
    torch_optimizer = torch.optim.SGD(theirs.parameters(), lr=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        torch_optimizer.zero_grad()
        loss = F.cross_entropy(ours(Tensor(x)), labels)
        torch_loss = TF.cross_entropy(theirs(torch.tensor(x)), torch.as_tensor(labels))
        loss.backward()
        torch_loss.backward()
        _close(loss.item(), torch_loss.item())
        linear, torch_linear = ours[8], theirs[8]
        _close(linear.weight.grad.T, torch_linear.weight.grad)
        _close(ours[1].weight.grad, theirs[1].weight.grad)
        _close(ours[5].weight.grad, theirs[5].weight.grad)
        optimizer.step()
        torch_optimizer.step()
    _close(ours[2].running_var, theirs[2].running_var)
    _close(ours[8].weight.data.T, theirs[8].weight)


def test_from_torch_gives_the_same_network_back():
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, (3, 2), stride=(1, 2), padding=1), torch.nn.BatchNorm2d(3),
        torch.nn.ELU(alpha=0.5), torch.nn.AvgPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(3 * 3 * 2, 4), torch.nn.Sigmoid(),
    ).double()
    theirs.train()
    theirs(torch.tensor(_data((4, 1, 6, 7))))  # move the running statistics off 0 and 1
    theirs.eval()
    ours = nn.from_torch(theirs)
    assert not ours.training and not ours[1].training
    x = _data((3, 1, 6, 7), seed=5)
    out_o, out_t, grad_o, grad_t = _run_both(ours, theirs, x)
    _close(out_o.data, out_t)
    _close(grad_o, grad_t)
    _close(ours[5].weight.grad.T, theirs[5].weight.grad)
    round_trip = nn.to_torch(ours)
    _close(round_trip[5].weight.detach().numpy(), theirs[5].weight)


def test_from_torch_keeps_float32():
    ours = nn.from_torch(torch.nn.Linear(3, 2))
    assert ours.weight.dtype == np.float32 and ours.weight.shape == (3, 2)
    attention = nn.from_torch(torch.nn.MultiheadAttention(4, 2, batch_first=True))
    assert isinstance(attention, nn.MultiheadAttention)


def test_an_mlp_and_activations_by_name_cross_over():
    ours = nn.Sequential(nn.MLP(3, [4, 2], activation="relu", seed=0),
                         nn.activations.Activation("tanh"), nn.Activation("leaky_relu", slope=0.2))
    theirs = nn.to_torch(ours)
    assert isinstance(theirs[0][1], torch.nn.ReLU) and theirs[2].negative_slope == 0.2
    out_o, out_t, grad_o, grad_t = _run_both(ours, theirs, _data((5, 3)))
    _close(out_o.data, out_t)
    _close(grad_o, grad_t)
    with pytest.raises(TypeError, match="to_torch: no PyTorch equivalent for Tanh"):
        nn.to_torch(nn.Tanh(c=2.0))  # tanh(c x) has no PyTorch layer


def test_the_bridge_names_what_it_cannot_convert():
    with pytest.raises(TypeError, match="to_torch: no PyTorch equivalent for LSTM; supported "
                                        "are .*Linear"):
        nn.to_torch(nn.LSTM(2, 3))
    with pytest.raises(TypeError, match="from_torch: no chaingrad equivalent for GRU"):
        nn.from_torch(torch.nn.GRU(2, 3))


# ---------------------------------------------------------------- readable graphs


def test_a_transformer_graph_collapses_by_module_and_shows_its_attention():
    from chaingrad import viz

    model = nn.name_parameters(nn.TransformerLM(5, 4, dim=8, num_heads=2, num_layers=2, seed=0))
    assert model.blocks[1].attention.query.weight.name == "blocks.1.attention.query.weight"
    logits = model(np.array([[1, 2, 3, 4]]))
    loss = F.cross_entropy(logits.reshape(-1, 5), np.array([2, 3, 4, 0]))
    loss.backward()
    svg = str(viz.draw(loss, collapse_threshold=20, group_by=viz.module_prefix(2),
                       engine="builtin"))
    for box in ("tokens", "positions", "blocks.0", "blocks.1", "norm", "head",
                "tokens + positions"):  # the sum belongs to no module: named after its parts
        assert f">{box}<" in svg, box
    assert ">v1<" not in svg
    # inside a bigger model the name carries the model's path
    outer = nn.Sequential(nn.TransformerLM(5, 4, dim=8, num_heads=2, num_layers=1, seed=0))
    nn.name_parameters(outer)
    inner = outer(np.array([[1, 2]]))
    from chaingrad.autograd import topological_order
    assert "layers.0.tokens + positions" in {node.name for node in topological_order(inner)}
    weights = model.blocks[0].attention.weights.data[0, 0]
    assert svg.count("attention weights, head 0:") == 2
    first_row = " ".join(f"{v:.2f}" for v in weights[0])
    assert first_row == "1.00 0.00 0.00 0.00" and first_row in svg  # causal: itself only
    assert " ".join(f"{v:.2f}" for v in weights[3]) in svg


def test_module_prefix_keeps_the_first_parts_of_a_module_path():
    from chaingrad import viz

    assert viz.module_prefix(2)("blocks.0.attention.query.weight") == "blocks.0"
    assert viz.module_prefix(3)("blocks.0.attention.query.weight") == "blocks.0.attention"
    assert viz.module_prefix(2)("head.weight") == "head"
    assert viz.module_prefix(2)("x") is None


def test_saving_a_model_keeps_the_running_statistics(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.BatchNorm1d(4))
    for seed in range(3):
        model(Tensor(_data((8, 3), seed) * 3 + 2))
    assert set(model.state_dict()) == {"layers.0.weight", "layers.0.bias",
                                       "layers.1.weight", "layers.1.bias",
                                       "layers.1.running_mean", "layers.1.running_var"}
    path = model.save(tmp_path / "model.npz")
    copy = nn.Sequential(nn.Linear(3, 4, seed=5), nn.BatchNorm1d(4)).load(path)
    _close(copy[1].running_var, model[1].running_var)
    model.eval()
    copy.eval()
    x = Tensor(_data((2, 3), seed=9))
    _close(copy(x).data, model(x).data)
    old = {k: v for k, v in model.state_dict().items() if "running" not in k}
    copy.load_state_dict(old)  # a file without buffers still loads (they stay as they are)
    _close(copy[1].running_var, model[1].running_var)
