"""Sequences: ``Embedding``, ``MultiheadAttention``, ``TransformerBlock``, ``TransformerLM``.

A sequence is a Tensor (batch, tokens, features), PyTorch's ``batch_first`` layout.
Attention lets every token take a weighted average of the others' values, the weights
coming from how well its query matches their keys::

    weights = softmax(Q Kᵀ / sqrt(d))        # (tokens, tokens), each row sums to 1
    out     = weights V

Several heads do this side by side on slices of the features, each free to look for
something different. A transformer block wraps attention and a small MLP in residual
connections, each after a LayerNorm ("pre-norm"): x + attention(norm(x)), then
x + mlp(norm(x)). Nothing here is a new op: the graph is matmuls, a softmax and sums, so
it can be drawn and every gradient is one the registry already checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Node, Tensor
from . import functional
from .layers import Linear, as_tensor
from .module import Module, rng
from .norm import LayerNorm


def _size(n: object) -> bool:
    return isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1


class Embedding(Module):
    """y = W[i]: token number i looks up row i of a learned table W (num_embeddings, dim).

    The same as a one-hot vector times W, without building the one-hot vector; the
    gradient of a row is the sum of the gradients of every place that token was used.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 seed: int | np.random.Generator | None = None) -> None:
        if not (_size(num_embeddings) and _size(embedding_dim)):
            raise ValueError(f"Embedding: sizes must be positive integers, got "
                             f"{num_embeddings!r} and {embedding_dim!r}")
        table = rng(seed).normal(0.0, 1.0, (num_embeddings, embedding_dim))  # as PyTorch
        self.weight = Tensor(table, requires_grad=True, name="E")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)

    def forward(self, indices: object) -> Tensor:
        index = np.asarray(indices.data if isinstance(indices, Node) else indices)
        if index.dtype.kind == "f" and np.all(index == np.round(index)):
            index = index.astype(np.intp)
        if index.dtype.kind not in "iu":
            raise ValueError(f"Embedding: indices must be whole numbers, got dtype {index.dtype}")
        if index.size and (index.min() < 0 or index.max() >= self.num_embeddings):
            raise ValueError(f"Embedding: indices must lie in 0..{self.num_embeddings - 1}, "
                             f"got values from {index.min()} to {index.max()}")
        return self.weight[index]

    def __repr__(self) -> str:
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"


class MultiheadAttention(Module):
    """Self- or cross-attention with ``num_heads`` heads over (batch, tokens, embed_dim).

    Queries, keys and values are three linear maps of the input; each head attends on its
    own embed_dim / num_heads features; the heads' outputs are joined and mapped once more.
    ``forward(query, key=None, value=None, causal=False, mask=None)``: key and value default
    to the query (self-attention). The last attention weights, (batch, heads, T, S), are
    kept in ``self.weights`` for drawing.
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True,
                 seed: int | np.random.Generator | None = None) -> None:
        if not (_size(embed_dim) and _size(num_heads)) or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim must be a multiple of num_heads, "
                             f"got {embed_dim!r} and {num_heads!r}")
        generator = rng(seed)
        self.query = Linear(embed_dim, embed_dim, bias, name="q", seed=generator)
        self.key = Linear(embed_dim, embed_dim, bias, name="k", seed=generator)
        self.value = Linear(embed_dim, embed_dim, bias, name="v", seed=generator)
        self.out = Linear(embed_dim, embed_dim, bias, name="o", seed=generator)
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        # None before a forward; `| Any` (typeshed's "Any trick") spares .weights.data a check
        self.weights: Tensor | Any = None

    def _split(self, x: Tensor) -> Tensor:
        """(N, T, E) -> (N, heads, T, E / heads): each head gets its own slice of features."""
        n, t, _ = x.shape
        return x.reshape(n, t, self.num_heads, -1).transpose(0, 2, 1, 3)

    def forward(self, query: Tensor, key: Tensor | None = None, value: Tensor | None = None,
                causal: bool = False, mask: object = None) -> Tensor:
        query = as_tensor(query)
        key = query if key is None else as_tensor(key)
        value = key if value is None else as_tensor(value)
        for what, x in (("query", query), ("key", key), ("value", value)):
            if x.ndim != 3 or x.shape[-1] != self.embed_dim:
                raise ValueError(f"MultiheadAttention: {what} must be (batch, tokens, "
                                 f"{self.embed_dim}), got shape {x.shape}")
        q = self._split(self.query(query))
        k = self._split(self.key(key))
        v = self._split(self.value(value))
        heads, self.weights = functional.scaled_dot_product_attention(
            q, k, v, mask=mask, causal=causal, return_weights=True)
        if getattr(self, "graph_name", ""):  # set by name_parameters: drawn inside its module
            self.weights.name = f"{self.graph_name}.attention"
        n, _, t, _ = heads.shape
        joined = heads.transpose(0, 2, 1, 3).reshape(n, t, self.embed_dim)
        return self.out(joined)

    def __repr__(self) -> str:
        return f"MultiheadAttention({self.embed_dim}, num_heads={self.num_heads})"


class TransformerBlock(Module):
    """x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x)): a pre-norm transformer block.

    The MLP is Linear(dim, hidden) -> ReLU -> Linear(hidden, dim), applied to each token on
    its own (hidden defaults to 4 dim). The residual sums let the gradient reach early
    layers unchanged, and the norms keep every block's input at a steady scale.
    """

    def __init__(self, dim: int, num_heads: int, hidden: int | None = None,
                 causal: bool = True, seed: int | np.random.Generator | None = None) -> None:
        generator = rng(seed)
        hidden = 4 * dim if hidden is None else hidden
        if not _size(hidden):
            raise ValueError(f"TransformerBlock: hidden must be a positive integer, got {hidden!r}")
        self.norm1 = LayerNorm(dim)
        self.attention = MultiheadAttention(dim, num_heads, seed=generator)
        self.norm2 = LayerNorm(dim)
        self.linear1 = Linear(dim, hidden, init="he", name="mlp1", seed=generator)
        self.linear2 = Linear(hidden, dim, name="mlp2", seed=generator)
        self.causal = causal

    def forward(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        x = x + self.attention(self.norm1(x), causal=self.causal)
        return x + self.linear2(self.linear1(self.norm2(x)).relu())

    def __repr__(self) -> str:
        return (f"TransformerBlock({self.attention.embed_dim}, "
                f"num_heads={self.attention.num_heads}, hidden={self.linear1.n_out})")


class TransformerLM(Module):
    """A tiny GPT: token and position embeddings, causal transformer blocks, a LayerNorm and
    a linear map to one score per token of the vocabulary, at every position.

    ``model(indices)`` maps (batch, T) token numbers to (batch, T, vocab_size) scores for
    the next token; ``generate`` samples new tokens one at a time.
    """

    def __init__(self, vocab_size: int, context: int, dim: int = 32, num_heads: int = 4,
                 num_layers: int = 2, hidden: int | None = None,
                 seed: int | np.random.Generator | None = None) -> None:
        generator = rng(seed)
        self.tokens = Embedding(vocab_size, dim, seed=generator)
        self.positions = Embedding(context, dim, seed=generator)
        self.blocks = [TransformerBlock(dim, num_heads, hidden, seed=generator)
                       for _ in range(num_layers)]
        self.norm = LayerNorm(dim)
        self.head = Linear(dim, vocab_size, name="head", seed=generator)
        self.vocab_size, self.context = int(vocab_size), int(context)
        for embedding in (self.tokens, self.positions):  # small, as GPT-2 starts them
            embedding.weight.data *= 0.1

    def forward(self, indices: object) -> Tensor:
        index = np.asarray(indices.data if isinstance(indices, Node) else indices)
        if index.ndim != 2 or index.shape[1] > self.context:
            raise ValueError(f"TransformerLM: expected (batch, tokens) with at most "
                             f"{self.context} tokens, got shape {index.shape}")
        x = self.tokens(index) + self.positions(np.arange(index.shape[1]))
        if self.tokens.graph_name:  # named by name_parameters: this sum belongs to no module
            x.name = self.tokens.graph_name.removesuffix("tokens") + "tokens + positions"
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))

    def generate(self, start: list[int], count: int, temperature: float = 1.0,
                 seed: int | np.random.Generator | None = None) -> list[int]:
        """``start`` followed by ``count`` sampled tokens (each from the softmax of the scores)."""
        from ..autograd import no_grad

        generator = rng(seed)
        tokens = list(start)
        with no_grad():
            for _ in range(count):
                window = np.array([tokens[-self.context:]])
                scores = self(window).data[0, -1] / temperature
                p = np.exp(scores - scores.max())
                tokens.append(int(generator.choice(len(p), p=p / p.sum())))
        return tokens

    def __repr__(self) -> str:
        return (f"TransformerLM(vocab_size={self.vocab_size}, context={self.context}, "
                f"dim={self.tokens.embedding_dim}, layers={len(self.blocks)})")


def name_parameters(model: Module) -> Module:
    """Name every parameter by its path in ``model`` (``blocks.0.attention.query.W``).

    Drawn graphs then group by module: ``viz.draw(loss, path, group_by=viz.module_prefix(2))``
    puts each block in one box. Attention layers also name their weights node
    (``blocks.0.attention.attention``) so the box can show the attention matrix.
    """
    for path, parameter in model.named_parameters():
        parameter.name = path
    stack: list[tuple[str, object]] = [("", model)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, Module):
            value.graph_name = path
            items = list(vars(value).items())
        elif isinstance(value, (list, tuple)):
            items = [(str(i), item) for i, item in enumerate(value)]
        elif isinstance(value, dict):
            items = [(str(k), item) for k, item in value.items()]
        else:
            continue
        for key, item in items:
            if isinstance(item, (Module, list, tuple, dict)):
                stack.append((f"{path}.{key}" if path else key, item))
    return model


__all__ = ["Embedding", "MultiheadAttention", "TransformerBlock", "TransformerLM",
           "name_parameters"]
