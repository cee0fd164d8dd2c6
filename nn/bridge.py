"""The bridge to PyTorch: ``to_torch(module)`` and ``from_torch(torch_module)``.

For the student who outgrows chaingrad: the same network, the same weights, in PyTorch
(or back). Where the layouts differ the weights are converted; the one that differs is
Linear, whose W is (in, out) here, as in the course's slides, and (out, in) in PyTorch.
Convolution kernels, norms and embeddings have the same layout in both.

PyTorch stays optional: it is imported inside these two functions only, so importing
chaingrad never imports torch.

    >>> model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    >>> twin = nn.to_torch(model)            # torch.nn.Sequential, float64 like the model
    >>> back = nn.from_torch(twin)           # a chaingrad Sequential again
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor
from . import activations, attention, conv, layers, norm
from .module import Module

ACTIVATIONS = {  # our activation's name -> (PyTorch class, {our parameter: theirs}, ours)
    "relu": ("ReLU", {}, activations.ReLU),
    "tanh": ("Tanh", {}, activations.Tanh),
    "sigmoid": ("Sigmoid", {}, activations.Sigmoid),
    "linear": ("Identity", {}, activations.Identity),
    "selu": ("SELU", {}, activations.SELU),
    "softplus": ("Softplus", {}, activations.Softplus),
    "leaky_relu": ("LeakyReLU", {"slope": "negative_slope"}, activations.LeakyReLU),
    "elu": ("ELU", {"alpha": "alpha"}, activations.ELU),
}


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError("to_torch/from_torch need PyTorch: pip install torch") from None
    return torch


def _copy(parameter: Any, array: np.ndarray) -> None:
    """Write a numpy array into a torch parameter or buffer, in place."""
    torch = _torch()
    with torch.no_grad():
        parameter.copy_(torch.from_numpy(np.ascontiguousarray(array)))


def _array(tensor: Any) -> np.ndarray:
    array = tensor.detach().cpu().numpy().copy()
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):  # as load refuses them
        raise ValueError(f"from_torch: a weight of shape {array.shape} holds nan or infinity "
                         "(the PyTorch model diverged?); a model cannot start from it")
    return array


def _dtype(module: Module) -> Any:
    torch = _torch()
    parameters = module.parameters()
    dtype = parameters[0].data.dtype if parameters else np.dtype(np.float64)
    return {np.dtype(np.float32): torch.float32}.get(np.dtype(dtype), torch.float64)


# ---------------------------------------------------------------- chaingrad -> PyTorch


def to_torch(module: Module) -> Any:
    """An equivalent ``torch.nn`` module with a copy of this module's weights (and mode).

    Supported: Linear, Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, BatchNorm1d/2d,
    LayerNorm, Embedding, MultiheadAttention, TransformerBlock, TransformerLM, Dropout,
    Flatten, Reshape, the activations ReLU, Tanh, Sigmoid, Identity, SELU, Softplus,
    LeakyReLU and ELU, and Sequential (MLP) of these. MultiheadAttention becomes
    ``torch.nn.MultiheadAttention`` (batch_first=True), called as ``mha(x, x, x)`` and
    returning (out, weights); a TransformerBlock becomes a pre-norm
    ``torch.nn.TransformerEncoderLayer`` (wrapped to pass the causal mask when causal).
    """
    torch = _torch()
    previous = torch.get_default_dtype()
    torch.set_default_dtype(_dtype(module))  # made in the model's precision, not rounded to it
    try:
        converted = _to_torch(module, torch)
    finally:
        torch.set_default_dtype(previous)
    converted.train(module.training)
    return converted


def _to_torch(module: Module, torch: Any) -> Any:
    tnn = torch.nn
    kind = type(module)
    if isinstance(module, layers.Sequential):
        return tnn.Sequential(*(_to_torch(layer, torch) for layer in module.layers))
    if kind is layers.Linear:
        twin = tnn.Linear(module.n_in, module.n_out, bias=module.bias is not None)
        _copy(twin.weight, module.weight.data.T)  # (in, out) here, (out, in) there
        if module.bias is not None:
            _copy(twin.bias, module.bias.data)
        return twin
    if kind is conv.Conv2d:
        twin = tnn.Conv2d(module.in_channels, module.out_channels, module.kernel_size,
                          stride=module.stride, padding=module.padding,
                          dilation=module.dilation, bias=module.bias is not None)
        return _copy_weight_and_bias(twin, module)
    if kind is conv.ConvTranspose2d:
        twin = tnn.ConvTranspose2d(module.in_channels, module.out_channels, module.kernel_size,
                                   stride=module.stride, padding=module.padding,
                                   output_padding=module.output_padding,
                                   bias=module.bias is not None, dilation=module.dilation)
        return _copy_weight_and_bias(twin, module)
    if kind is conv.MaxPool2d:
        return tnn.MaxPool2d(module.kernel_size, module.stride, module.padding, module.dilation)
    if kind is conv.AvgPool2d:
        return tnn.AvgPool2d(module.kernel_size, module.stride, module.padding)
    if kind in (norm.BatchNorm1d, norm.BatchNorm2d):
        twin = getattr(tnn, kind.__name__)(
            module.num_features, eps=module.eps, momentum=module.momentum,
            affine=module.weight is not None,
            track_running_stats=module.running_mean is not None)
        if module.running_mean is not None:
            _copy(twin.running_mean, module.running_mean)
            _copy(twin.running_var, module.running_var)
        return _copy_weight_and_bias(twin, module)
    if kind is norm.LayerNorm:
        twin = tnn.LayerNorm(module.normalized_shape, eps=module.eps,
                             elementwise_affine=module.weight is not None)
        return _copy_weight_and_bias(twin, module)
    if kind is attention.Embedding:
        twin = tnn.Embedding(module.num_embeddings, module.embedding_dim)
        _copy(twin.weight, module.weight.data)
        return twin
    if kind is attention.MultiheadAttention:
        return _attention_to_torch(module, torch)
    if kind is attention.TransformerBlock:
        return _block_to_torch(module, torch)
    if kind is attention.TransformerLM:
        return _Made.language_model(torch)(
            _to_torch(module.tokens, torch), _to_torch(module.positions, torch),
            [_to_torch(block, torch) for block in module.blocks],
            _to_torch(module.norm, torch), _to_torch(module.head, torch))
    if kind is layers.Dropout:
        return tnn.Dropout(module.p)
    if kind is layers.Flatten:
        return tnn.Flatten()
    if kind is conv.Reshape:
        return tnn.Unflatten(1, module.shape)
    if isinstance(module, activations.Activation) and module.function_name in ACTIVATIONS:
        name, renames, _ = ACTIVATIONS[module.function_name]
        if set(module.params) <= set(renames):  # e.g. tanh with a slope c has no twin
            return getattr(tnn, name)(**{renames[k]: v for k, v in module.params.items()})
    raise TypeError(f"to_torch: no PyTorch equivalent for {kind.__name__}; supported are "
                    f"{', '.join(sorted(SUPPORTED))}")


def _copy_weight_and_bias(twin: Any, module: Module) -> Any:
    if module.weight is not None:
        _copy(twin.weight, module.weight.data)
    if module.bias is not None:
        _copy(twin.bias, module.bias.data)
    return twin


def _attention_to_torch(module: attention.MultiheadAttention, torch: Any) -> Any:
    has_bias = module.query.bias is not None
    twin = torch.nn.MultiheadAttention(module.embed_dim, module.num_heads, bias=has_bias,
                                       batch_first=True)
    projections = (module.query, module.key, module.value)
    _copy(twin.in_proj_weight, np.concatenate([p.weight.data.T for p in projections]))
    _copy(twin.out_proj.weight, module.out.weight.data.T)
    if has_bias:
        _copy(twin.in_proj_bias, np.concatenate([p.bias.data for p in projections]))
        _copy(twin.out_proj.bias, module.out.bias.data)
    return twin


def _block_to_torch(block: attention.TransformerBlock, torch: Any) -> Any:
    """A TransformerEncoderLayer (pre-norm, ReLU, no dropout), causal when the block is."""
    dim, heads = block.attention.embed_dim, block.attention.num_heads
    layer = torch.nn.TransformerEncoderLayer(dim, heads, block.linear1.n_out, dropout=0.0,
                                             batch_first=True, norm_first=True)
    layer.self_attn = _attention_to_torch(block.attention, torch)
    for ours, theirs in ((block.norm1, layer.norm1), (block.norm2, layer.norm2)):
        _copy_weight_and_bias(theirs, ours)
    for ours, theirs in ((block.linear1, layer.linear1), (block.linear2, layer.linear2)):
        _copy(theirs.weight, ours.weight.data.T)
        _copy(theirs.bias, ours.bias.data)
    return _Made.causal_layer(torch)(layer) if block.causal else layer


class _Made:
    """torch.nn.Module classes for the models torch has no class for, made on first use
    (defining them at import time would import torch)."""

    classes: dict[str, Any] = {}

    @staticmethod
    def causal_layer(torch: Any) -> Any:
        """An encoder layer called with the causal mask."""
        if "causal" not in _Made.classes:
            class CausalEncoderLayer(torch.nn.Module):
                def __init__(self, layer: Any) -> None:
                    super().__init__()
                    self.layer = layer

                def forward(self, x: Any) -> Any:
                    mask = torch.nn.Transformer.generate_square_subsequent_mask(
                        x.shape[1], dtype=x.dtype)
                    return self.layer(x, src_mask=mask, is_causal=True)

            _Made.classes["causal"] = CausalEncoderLayer
        return _Made.classes["causal"]

    @staticmethod
    def language_model(torch: Any) -> Any:
        """TransformerLM: embeddings, blocks, norm, head; (batch, T) ints to scores."""
        if "lm" not in _Made.classes:
            class TransformerLM(torch.nn.Module):
                def __init__(self, tokens: Any, positions: Any, blocks: list, norm: Any,
                             head: Any) -> None:
                    super().__init__()
                    self.tokens, self.positions = tokens, positions
                    self.blocks = torch.nn.Sequential(*blocks)
                    self.norm, self.head = norm, head

                def forward(self, index: Any) -> Any:
                    places = torch.arange(index.shape[1], device=index.device)
                    x = self.tokens(index) + self.positions(places)
                    return self.head(self.norm(self.blocks(x)))

            _Made.classes["lm"] = TransformerLM
        return _Made.classes["lm"]


# ---------------------------------------------------------------- PyTorch -> chaingrad


def from_torch(torch_module: Any) -> Module:
    """A chaingrad module equal to ``torch_module``, with a copy of its weights (and mode).

    The reverse of :func:`to_torch`, for the same layers (torch.nn.Unflatten(1, shape)
    becomes Reshape; the transformer classes are one way only). The arrays keep PyTorch's
    dtype (float32 unless it was converted). A MultiheadAttention comes back as ours, which
    takes (batch, tokens, features) whatever PyTorch's ``batch_first`` was.
    """
    torch = _torch()
    module = _from_torch(torch_module, torch)
    module.train(torch_module.training)
    return module


def _from_torch(twin: Any, torch: Any) -> Module:
    tnn = torch.nn
    if isinstance(twin, tnn.Sequential):
        return layers.Sequential(*(_from_torch(layer, torch) for layer in twin))
    if isinstance(twin, tnn.Linear):
        ours = layers.Linear(twin.in_features, twin.out_features, bias=twin.bias is not None)
        return _set(ours, weight=_array(twin.weight).T, bias=twin.bias)
    if isinstance(twin, tnn.Conv2d) and _plain_conv(twin):
        ours = conv.Conv2d(twin.in_channels, twin.out_channels, twin.kernel_size,
                           stride=_setting(twin.stride), padding=_setting(twin.padding),
                           dilation=_setting(twin.dilation), bias=twin.bias is not None)
        return _set(ours, weight=twin.weight, bias=twin.bias)
    if isinstance(twin, tnn.ConvTranspose2d) and _plain_conv(twin):
        ours = conv.ConvTranspose2d(
            twin.in_channels, twin.out_channels, twin.kernel_size,
            stride=_setting(twin.stride), padding=_setting(twin.padding),
            output_padding=_setting(twin.output_padding), bias=twin.bias is not None,
            dilation=_setting(twin.dilation))
        return _set(ours, weight=twin.weight, bias=twin.bias)
    if isinstance(twin, tnn.MaxPool2d) and _plain_pool(twin):
        return conv.MaxPool2d(_setting(twin.kernel_size), _setting(twin.stride),
                              _setting(twin.padding), _setting(twin.dilation))
    if isinstance(twin, tnn.AvgPool2d) and _plain_pool(twin):
        return conv.AvgPool2d(_setting(twin.kernel_size), _setting(twin.stride),
                              _setting(twin.padding))
    if isinstance(twin, (tnn.BatchNorm1d, tnn.BatchNorm2d)) and twin.momentum is not None:
        cls = norm.BatchNorm1d if isinstance(twin, tnn.BatchNorm1d) else norm.BatchNorm2d
        ours = cls(twin.num_features, eps=twin.eps, momentum=twin.momentum, affine=twin.affine,
                   track_running_stats=twin.track_running_stats)
        if twin.track_running_stats:
            ours.running_mean = _array(twin.running_mean)
            ours.running_var = _array(twin.running_var)
        return _set(ours, weight=twin.weight, bias=twin.bias)
    if isinstance(twin, tnn.LayerNorm):
        ours = norm.LayerNorm(twin.normalized_shape, eps=twin.eps,
                              elementwise_affine=twin.elementwise_affine)
        return _set(ours, weight=twin.weight, bias=twin.bias)
    if isinstance(twin, tnn.Embedding):
        ours = attention.Embedding(twin.num_embeddings, twin.embedding_dim)
        return _set(ours, weight=twin.weight)
    if isinstance(twin, tnn.MultiheadAttention) and twin._qkv_same_embed_dim:
        return _attention_from_torch(twin)
    if isinstance(twin, tnn.Dropout):
        return layers.Dropout(twin.p)
    if isinstance(twin, tnn.Flatten) and twin.start_dim == 1 and twin.end_dim == -1:
        return layers.Flatten()
    if isinstance(twin, tnn.Unflatten) and twin.dim == 1:
        return conv.Reshape(*twin.unflattened_size)
    for name, renames, ours in ACTIVATIONS.values():
        if type(twin) is getattr(tnn, name):
            return ours(**{k: getattr(twin, v) for k, v in renames.items()})
    raise TypeError(f"from_torch: no chaingrad equivalent for {type(twin).__name__}; "
                    f"supported are {', '.join(sorted(SUPPORTED_TORCH))}")


def _setting(value: Any) -> Any:
    """PyTorch's (n, n) as n, so the module prints as it would be written."""
    if isinstance(value, (tuple, list)):
        return int(value[0]) if value[0] == value[1] else (int(value[0]), int(value[1]))
    return int(value)


def _plain_conv(twin: Any) -> bool:
    return twin.groups == 1 and twin.padding_mode == "zeros" and not isinstance(twin.padding, str)


def _plain_pool(twin: Any) -> bool:
    """No ceil_mode, indices, divisor or excluded padding: the options chaingrad has."""
    return not twin.ceil_mode and getattr(twin, "count_include_pad", True) and getattr(
        twin, "divisor_override", None) is None and not getattr(twin, "return_indices", False)


def _set(module: Module, weight: Any = None, bias: Any = None) -> Module:
    """Copy arrays (or torch tensors) into the module's weight and bias, keeping the dtype."""
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None:
            array = value if isinstance(value, np.ndarray) else _array(value)
            setattr(module, name, Tensor(np.ascontiguousarray(array), requires_grad=True,
                                         name=getattr(module, name).name))
    return module


def _attention_from_torch(twin: Any) -> attention.MultiheadAttention:
    dim = twin.embed_dim
    ours = attention.MultiheadAttention(dim, twin.num_heads, bias=twin.in_proj_bias is not None)
    weights = _array(twin.in_proj_weight)
    biases = None if twin.in_proj_bias is None else _array(twin.in_proj_bias)
    for k, projection in enumerate((ours.query, ours.key, ours.value)):
        _set(projection, weight=weights[k * dim:(k + 1) * dim].T,
             bias=None if biases is None else biases[k * dim:(k + 1) * dim])
    _set(ours.out, weight=_array(twin.out_proj.weight).T, bias=twin.out_proj.bias)
    return ours


SUPPORTED = [
    "Sequential", "Linear", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Embedding", "MultiheadAttention",
    "TransformerBlock", "TransformerLM", "Dropout", "Flatten", "Reshape",
    *(ours.__name__ for _, _, ours in ACTIVATIONS.values()),
]
SUPPORTED_TORCH = [name.replace("Reshape", "Unflatten(1, ...)") for name in SUPPORTED
                   if not name.startswith("Transformer")]

__all__ = ["from_torch", "to_torch"]
