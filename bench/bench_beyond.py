"""(f) Beyond the introduction (issue 15): one training step against PyTorch eager.

Two models of lessons 16 and 17, built once in chaingrad and copied to PyTorch with
``nn.to_torch`` (same sizes, same weights, float32 in both, one thread):

- transformer: the tiny causal transformer (vocabulary 9, 10 tokens, width 32, 2 heads,
  2 blocks), a batch of 64 strings, cross-entropy on every position, one Adam step;
- autoencoder: the convolutional autoencoder on 8x8 digits (conv, batch norm, two
  stride-2 transposed convolutions), a batch of 32, MSE, one Adam step.

The time is one whole step: forward, loss, zero_grad, backward, optimizer step.
"""

from __future__ import annotations

import numpy as np
from _harness import Job, failures, format_table, load_torch, medians, ratio, time_calls, verdict

TITLE = "(f) beyond: one training step, chaingrad against PyTorch eager (milliseconds)"
SYSTEMS = ("torch", "ours")
WORKLOADS = ("transformer", "autoencoder")
TARGET = 1.3


def plan(quick: bool) -> list[Job]:
    return [Job("beyond", system, workload, 3 if quick else 9)
            for workload in WORKLOADS for system in SYSTEMS]


# ---------------------------------------------------------------- the models (ours)


def _float32(model):
    for p in model.parameters():
        p.data = p.data.astype(np.float32)
    for module in model.modules():
        for name in ("running_mean", "running_var"):
            if getattr(module, name, None) is not None:
                setattr(module, name, getattr(module, name).astype(np.float32))
    return model


def _transformer():
    from chaingrad import nn

    model = _float32(nn.TransformerLM(9, 10, dim=32, num_heads=2, num_layers=2, seed=0))
    rng = np.random.default_rng(1)
    text = rng.integers(0, 9, (64, 11))
    return model, text[:, :-1], text[:, 1:]


def _autoencoder():
    from chaingrad import nn

    encoder = nn.Sequential(
        nn.Reshape(1, 8, 8), nn.Conv2d(1, 8, 3, stride=2, padding=1, seed=0),
        nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1, seed=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(64, 8, seed=2))
    decoder = nn.Sequential(
        nn.Linear(8, 64, seed=3), nn.ReLU(), nn.Reshape(16, 2, 2),
        nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1, seed=4), nn.ReLU(),
        nn.ConvTranspose2d(8, 1, 4, stride=2, padding=1, seed=5), nn.Sigmoid(), nn.Flatten())
    model = _float32(nn.Sequential(encoder, decoder))
    images = np.random.default_rng(1).random((32, 64)).astype(np.float32)
    return model, images, images


# ---------------------------------------------------------------- one step each


def _ours(workload: str):
    from chaingrad import nn
    from chaingrad.autograd import Tensor
    from chaingrad.nn import functional as F

    model, inputs, targets = (_transformer if workload == "transformer" else _autoencoder)()
    optimizer = nn.optim.Adam(model.parameters(), lr=0.003)

    def step():
        if workload == "transformer":
            loss = F.cross_entropy(model(inputs).reshape(-1, 9), targets.reshape(-1))
        else:
            loss = nn.losses.mse(model(Tensor(inputs)), Tensor(targets))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def _torch(workload: str):
    torch = load_torch()
    from chaingrad import nn

    ours, inputs, targets = (_transformer if workload == "transformer" else _autoencoder)()
    model = nn.to_torch(ours)
    inputs, targets = torch.as_tensor(inputs), torch.as_tensor(targets)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
    loss_fn = torch.nn.functional

    def step():
        if workload == "transformer":
            loss = loss_fn.cross_entropy(model(inputs).reshape(-1, 9), targets.reshape(-1))
        else:
            loss = loss_fn.mse_loss(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def measure(job: Job) -> dict:
    step = (_ours if job.system == "ours" else _torch)(job.workload)
    first_loss = step()
    seconds = time_calls(step, job.repeats, min_seconds=0.2)
    return {"ms": [s * 1e3 for s in seconds], "first_loss": first_loss}


def report(results: dict) -> list[str]:
    by = {(job.workload, job.system): medians(result) for job, result in results.items()}
    headers = ["model", "system", "ms per step", "× torch", "target", "met", "first loss"]
    rows = []
    for workload in WORKLOADS:
        floor = by.get((workload, "torch"), {}).get("ms")
        for system in SYSTEMS:
            got = by.get((workload, system), {})
            r = ratio(got.get("ms"), floor)
            target = TARGET if system == "ours" else None
            loss = got.get("first_loss")
            rows.append([workload, system, got.get("ms"), r,
                         f"≤ {target}×" if target else "", verdict(r, target),
                         "–" if loss is None else f"{loss:.5f}"])
    notes = ["The same weights in both (copied with nn.to_torch), so the first losses agree "
             "to float32 rounding."]
    return [format_table(headers, rows)] + notes + failures(results)
