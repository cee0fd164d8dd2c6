"""(b) Tensor training steps (issue 3): ours against a hand-written numpy floor and PyTorch.

Workloads (one training step: forward, backward, SGD update)
- mlp-B-dtype: MLP 784-256-128-10, ReLU, softmax cross-entropy, batch B in {32, 512},
  float32 and float64.
- conv: 32x1x28x28 -> conv 8x3x3 -> ReLU -> max-pool 2 -> linear 10, float32.

All three systems start from the same weights and data; the table's last column is the
loss after two steps, which must agree: it checks that they compute the same thing.

The allocator table runs the numpy floor and ours again with glibc told to keep freed
memory (``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``): large temporaries are
otherwise handed back to the kernel and page-faulted in again on every step.
"""

from __future__ import annotations

import resource

import numpy as np
from _harness import Job, failures, format_table, load_torch, medians, ratio, time_calls, verdict

TITLE = "(b) tensor training step: ours vs numpy floor vs PyTorch eager (ms per step)"
SYSTEMS = ("numpy", "torch", "ours")
WORKLOADS = ("mlp-32-float32", "mlp-32-float64", "mlp-512-float32", "mlp-512-float64", "conv")
TARGETS = {"mlp-32-float32": 1.3, "mlp-512-float32": 1.1, "mlp-512-float64": 1.1, "conv": 1.3}
SIZES = (784, 256, 128, 10)
LEARNING_RATE = 0.01
ALLOCATOR_ENV = (("MALLOC_MMAP_THRESHOLD_", str(32 * 2**20)),
                 ("MALLOC_TRIM_THRESHOLD_", str(2**30)))


def plan(quick: bool) -> list[Job]:
    repeats = 5 if quick else 15
    jobs = [Job("tensor", system, workload, repeats)
            for workload in WORKLOADS for system in SYSTEMS]
    jobs += [Job("tensor", system, workload, repeats, env=ALLOCATOR_ENV)
             for workload in WORKLOADS for system in ("numpy", "ours")]
    return jobs


# ---------------------------------------------------------------- shared data


def _mlp_problem(batch: int, dtype: str):
    generator = np.random.default_rng(0)
    x = generator.normal(size=(batch, SIZES[0])).astype(dtype)
    labels = generator.integers(0, SIZES[-1], batch)
    weights = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        weights.append(generator.normal(0, np.sqrt(2 / n_in), (n_in, n_out)).astype(dtype))
        weights.append(np.zeros(n_out, dtype=dtype))
    return x, labels, weights


def _conv_problem():
    generator = np.random.default_rng(0)
    x = generator.normal(size=(32, 1, 28, 28)).astype(np.float32)
    labels = generator.integers(0, 10, 32)
    kernel = generator.normal(0, 1 / 3, (8, 1, 3, 3)).astype(np.float32)
    kernel_bias = np.zeros(8, dtype=np.float32)
    # linear weights indexed as PyTorch flattens (N, C, H, W): row c*169 + i*13 + j
    dense = generator.normal(0, np.sqrt(1 / 1352), (1352, 10)).astype(np.float32)
    dense_bias = np.zeros(10, dtype=np.float32)
    return x, labels, [kernel, kernel_bias, dense, dense_bias]


# ---------------------------------------------------------------- the numpy floor


def _softmax_cross_entropy(logits, labels):
    """Loss and d loss / d logits of mean softmax cross-entropy, reusing buffers in place."""
    rows = np.arange(len(labels))
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)  # now the softmax probabilities
    loss = -np.log(logits[rows, labels]).mean()
    logits[rows, labels] -= 1
    logits /= len(labels)
    return loss, logits


def _sgd_update(params, grads, lr, scratch=None):
    """w -= lr * g. The floor scales each gradient in place (it is a temporary); with
    ``scratch`` (one kept array per parameter) the gradients survive the step, as an
    optimizer's must (``.grad`` is read after ``step()``), in numpy's two passes."""
    for k, (p, g) in enumerate(zip(params, grads)):
        if scratch is None:
            g *= lr
            p -= g
        else:
            p -= np.multiply(g, lr, scratch[k])


def numpy_mlp_step(x, labels, params, lr, scratch=None):
    W1, b1, W2, b2, W3, b3 = params
    h1 = x @ W1
    h1 += b1
    np.maximum(h1, 0, out=h1)
    h2 = h1 @ W2
    h2 += b2
    np.maximum(h2, 0, out=h2)
    logits = h2 @ W3
    logits += b3
    loss, d3 = _softmax_cross_entropy(logits, labels)
    d2 = d3 @ W3.T
    d2 *= h2 > 0
    d1 = d2 @ W2.T
    d1 *= h1 > 0
    grads = (x.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0), h2.T @ d3, d3.sum(0))
    _sgd_update(params, grads, lr, scratch)
    return loss


def numpy_conv_step(x, labels, params, lr, scratch=None):
    """im2col as 9 shifted copies, channel-major (8, N*26*26) so the conv is one product
    and pooling reads four strided corners; no windowed reductions, which numpy does slowly."""
    kernel, kernel_bias, dense, dense_bias = params
    n = x.shape[0]
    image = x[:, 0]
    cols = np.empty((9, n, 26, 26), dtype=x.dtype)  # one row per kernel position
    for k in range(9):
        i, j = divmod(k, 3)
        cols[k] = image[:, i:i + 26, j:j + 26]
    cols = cols.reshape(9, n * 676)
    conv = kernel.reshape(8, 9) @ cols
    conv += kernel_bias[:, None]
    np.maximum(conv, 0, out=conv)
    grid = conv.reshape(8, n, 13, 2, 13, 2)
    corners = [grid[:, :, :, a, :, b] for a in (0, 1) for b in (0, 1)]
    pooled = np.maximum(np.maximum(corners[0], corners[1]), np.maximum(corners[2], corners[3]))
    flat = pooled.transpose(1, 0, 2, 3).reshape(n, 1352)  # PyTorch's (C, H, W) order
    logits = flat @ dense
    logits += dense_bias
    loss, d_logits = _softmax_cross_entropy(logits, labels)
    d_dense = flat.T @ d_logits
    d_pooled = (d_logits @ dense.T).reshape(n, 8, 13, 13).transpose(1, 0, 2, 3)
    # each window's gradient goes to its first maximum, and nowhere if relu made it 0
    d_conv = np.zeros((8, n, 13, 2, 13, 2), dtype=x.dtype)
    taken = pooled <= 0
    for (a, b), corner in zip(((0, 0), (0, 1), (1, 0), (1, 1)), corners):
        first = (corner == pooled) & ~taken
        d_conv[:, :, :, a, :, b] = d_pooled * first
        taken |= first
    d_conv = d_conv.reshape(8, n * 676)
    grads = ((d_conv @ cols.T).reshape(8, 1, 3, 3), d_conv.sum(axis=1), d_dense, d_logits.sum(0))
    _sgd_update(params, grads, lr, scratch)
    return loss


def _numpy(workload, keep_gradients=False):
    conv = workload == "conv"
    x, labels, params = _conv_problem() if conv else _mlp_problem(*_mlp_args(workload))
    scratch = [np.empty_like(p) for p in params] if keep_gradients else None
    step = numpy_conv_step if conv else numpy_mlp_step
    built_from = "hand-written" + (", gradients kept (a scratch array per weight)"
                                   if keep_gradients else "")
    return lambda: float(step(x, labels, params, LEARNING_RATE, scratch)), built_from


# ---------------------------------------------------------------- PyTorch eager


def _torch(workload):
    torch = load_torch()
    functional = torch.nn.functional
    if workload == "conv":
        x, labels, (kernel, kernel_bias, dense, dense_bias) = _conv_problem()
        conv = torch.nn.Conv2d(1, 8, 3)
        linear = torch.nn.Linear(1352, 10)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(kernel))
            conv.bias.copy_(torch.from_numpy(kernel_bias))
            linear.weight.copy_(torch.from_numpy(dense.T.copy()))
            linear.bias.copy_(torch.from_numpy(dense_bias))
        model = torch.nn.Sequential(conv, torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                    torch.nn.Flatten(), linear)
    else:
        _, batch, dtype = workload.split("-")
        x, labels, weights = _mlp_problem(int(batch), dtype)
        layers = []
        for W, b in zip(weights[::2], weights[1::2]):
            linear = torch.nn.Linear(*W.shape).to(getattr(torch, dtype))
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T.copy()))
                linear.bias.copy_(torch.from_numpy(b))
            layers += [linear, torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers[:-1])
    inputs, targets = torch.from_numpy(x), torch.from_numpy(labels)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)

    def step():
        loss = functional.cross_entropy(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step, "nn.Sequential + F.cross_entropy + optim.SGD"


# ---------------------------------------------------------------- ours


def _ours(workload):
    from chaingrad.autograd import Tensor

    functional = _functional()
    conv = workload == "conv"
    x, labels, weights = _conv_problem() if conv else _mlp_problem(*_mlp_args(workload))
    inputs = Tensor(x)
    built_from = []
    if conv:
        kernel, kernel_bias, dense = (Tensor(w, requires_grad=True) for w in weights[:3])
        dense_bias = Tensor(weights[3], requires_grad=True)
        params = [kernel, kernel_bias, dense, dense_bias]

        def forward():
            h = functional.conv2d(inputs, kernel, kernel_bias).relu()
            h = functional.max_pool2d(h, 2)
            return h.reshape(h.shape[0], -1) @ dense + dense_bias

        built_from.append("nn.functional.conv2d/max_pool2d")
    else:
        forward, params, source = _ours_mlp(weights, inputs)
        built_from.append(source)
    cross_entropy = getattr(functional, "cross_entropy", None) or _cross_entropy_by_hand
    built_from.append("nn.functional.cross_entropy" if functional else "cross-entropy by hand")

    optimizer, source = _ours_optimizer(params)
    built_from.append(source)

    def step():
        loss = cross_entropy(forward(), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step, " + ".join(built_from)


def _ours_optimizer(params):
    """nn.optim.SGD as a user would take it, else the same update written out."""
    try:
        from chaingrad.nn.optim import SGD

        return SGD(params, lr=LEARNING_RATE), "nn.optim.SGD"
    except ImportError:
        from chaingrad.autograd import no_grad

        class HandSGD:
            def zero_grad(self):
                for p in params:
                    p.grad = None

            def step(self):
                with no_grad():
                    for p in params:
                        p.data -= LEARNING_RATE * p.grad

        return HandSGD(), "SGD by hand"


def _mlp_args(workload):
    _, batch, dtype = workload.split("-")
    return int(batch), dtype


def _functional():
    try:
        from chaingrad.nn import functional as functional

        return functional
    except ImportError:
        return None


def _ours_mlp(weights, inputs):
    """nn.Linear layers when nn has them, else the same products written with Tensor ops."""
    from chaingrad.autograd import Tensor

    try:
        from chaingrad.nn import Linear

        layers = []
        for W, b in zip(weights[::2], weights[1::2]):
            layer = Linear(*W.shape)
            layer.weight.data, layer.bias.data = W.copy(), b.copy()
            layers.append(layer)
        params = [p for layer in layers for p in (layer.weight, layer.bias)]

        def forward():
            h = inputs
            for k, layer in enumerate(layers):
                h = layer(h)
                h = h.relu() if k < len(layers) - 1 else h
            return h

        return forward, params, "nn.Linear"
    except ImportError:
        params = [Tensor(w, requires_grad=True) for w in weights]

        def forward():
            h = inputs
            for k in range(0, len(params), 2):
                h = h @ params[k] + params[k + 1]
                h = h.relu() if k < len(params) - 2 else h
            return h

        return forward, params, "Tensor ops by hand"


def _cross_entropy_by_hand(logits, labels):
    shifted = logits - logits.data.max(axis=1, keepdims=True)
    log_total = shifted.exp().sum(axis=1).log()
    return (log_total - shifted[np.arange(len(labels)), labels]).mean()


# ---------------------------------------------------------------- measure and report

BUILDERS = {"numpy": _numpy, "torch": _torch, "ours": _ours}


def measure(job: Job) -> dict:
    step, built_from = BUILDERS[job.system](job.workload)
    first, second = step(), step()
    samples = time_calls(step, job.repeats, min_seconds=0.1)
    return {"step_ms": [s * 1e3 for s in samples], "loss_after_1_step": second,
            "loss_0": first, "built_from": built_from, "faults_per_step": _page_faults(step)}


def _page_faults(step, steps: int = 20) -> float:
    """Minor page faults per step: memory the allocator handed back and has to fault in."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps):
        step()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / steps


def report(results: dict) -> list[str]:
    by, tuned = {}, {}
    for job, result in results.items():
        (tuned if job.env else by)[(job.system, job.workload)] = medians(result)
    headers = ["workload", "numpy floor", "PyTorch", "ours", "torch/numpy", "ours/numpy",
               "target", "met", "loss after 1 step (numpy / torch / ours)"]
    rows = []
    for workload in WORKLOADS:
        got = {s: by.get((s, workload), {}) for s in SYSTEMS}
        step = {s: got[s].get("step_ms") for s in SYSTEMS}
        ours_ratio = ratio(step["ours"], step["numpy"])
        target = TARGETS.get(workload)
        losses = " / ".join(_loss(got[s]) for s in SYSTEMS)
        rows.append([workload, step["numpy"], step["torch"], step["ours"],
                     ratio(step["torch"], step["numpy"]), ours_ratio,
                     f"≤ {target}×" if target else "", verdict(ours_ratio, target), losses])
    blocks = [format_table(headers, rows)]
    built = {by.get(("ours", w), {}).get("built_from") for w in WORKLOADS} - {None}
    blocks.append("ours built from: " + "; ".join(sorted(built)))
    blocks.append(_allocator_table(by, tuned))
    blocks += failures(results)
    return blocks


def _loss(result: dict) -> str:
    value = result.get("loss_after_1_step")
    return "–" if value is None else f"{value:.5f}"


def _allocator_table(by: dict, tuned: dict) -> str:
    names = ", ".join(f"{k}={v}" for k, v in ALLOCATOR_ENV)
    headers = ["workload", "numpy default", "faults/step", "numpy tuned", "faults/step",
               "ours default", "faults/step", "ours tuned", "faults/step", "ours/numpy, tuned"]
    rows = []
    for workload in WORKLOADS:
        row, step = [workload], {}
        for system in ("numpy", "ours"):
            for label, table in (("default", by), ("tuned", tuned)):
                got = table.get((system, workload), {})
                step[system, label] = got.get("step_ms")
                faults = got.get("faults_per_step")
                row += [step[system, label], None if faults is None else round(faults)]
        rows.append(row + [ratio(step["ours", "tuned"], step["numpy", "tuned"])])
    return format_table(headers, rows, title=f"glibc allocator, ms per step (tuned: {names})")

