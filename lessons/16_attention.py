"""Lesson 16: attention, drawn. One attention head on three tokens, by hand and as a graph
with every value and gradient; the causal mask; a transformer block; then a tiny
transformer that learns to reverse strings, and what its attention looks at."""

import math

import numpy as np

from chaingrad.lessons.runner import Lesson

TITLE = "Attention, drawn: one head by hand, then a tiny transformer"
MINUTES = 20


def run(lesson: Lesson) -> None:
    lesson.step("Queries, keys and values")
    lesson.say("""
        In a sentence, a word's meaning depends on the others. **Attention** lets
        every token take a weighted average of the other tokens' information, with
        weights it computes itself. Each token `x` gives three vectors:

        * a **query** `q = x·W_q` (what am I looking for?),
        * a **key** `k = x·W_k` (what do I offer?),
        * a **value** `v = x·W_v` (what do I pass on?).

        Token `t` scores token `s` by `q_t·k_s / √d`; a softmax turns each row of
        scores into weights that sum to 1; the output is the weighted sum of the
        values: **Z = softmax(Q Kᵀ / √d) V**. Three tokens of width `d = 2`, and all
        three maps the identity to start with, so `Q = K = V = X`:
    """)
    v = lesson.code("""
        import numpy as np
        from chaingrad.autograd import Tensor
        from chaingrad.nn import functional as F

        X = Tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], name="X")
        W_q = Tensor(np.eye(2), requires_grad=True, name="W_q")
        W_k = Tensor(np.eye(2), requires_grad=True, name="W_k")
        W_v = Tensor(np.eye(2), requires_grad=True, name="W_v")
        Q, K, V = X @ W_q, X @ W_k, X @ W_v
        Q.name, K.name, V.name = "Q", "K", "V"
    """)
    lesson.check("with identity maps Q = X (largest difference)",
                 np.abs(v.Q.data - v.X.data).max(), 0.0)

    lesson.step("Scores and the softmax, by hand")
    lesson.say("""
        Token 0 is `(1, 0)`. Its scores against the keys `(1, 0)`, `(0, 1)`, `(1, 1)`
        are `(1, 0, 1)/√2 = (0.707, 0, 0.707)`. The softmax gives tokens 0 and 2
        `e^0.707 / (2·e^0.707 + 1) ≈ 0.401` each, and token 1 `1 / (2·e^0.707 + 1)
        ≈ 0.198`. Dividing by `√d` keeps the scores near 1 whatever the width, so
        the softmax does not saturate.
    """)
    v = lesson.code("""
        scores = Q @ K.T / np.sqrt(2)
        scores.name = "scores"
        A = F.softmax(scores, axis=-1)                  # each row sums to 1
        A.name = "A"
        Z = A @ V                                       # the head's output
        Z.name = "Z"
        print("attention weights A:\\n", A.data.round(3))
    """)
    a = math.exp(1 / math.sqrt(2))
    lesson.check("token 0's weight on token 0: e^0.707 / (2e^0.707 + 1)", v.A.data[0, 0],
                 a / (2 * a + 1), tol=1e-12)
    lesson.check("token 0's weight on token 1: 1 / (2e^0.707 + 1)", v.A.data[0, 1],
                 1 / (2 * a + 1), tol=1e-12)
    lesson.check("every row of A sums to 1 (largest difference)",
                 np.abs(v.A.data.sum(axis=1) - 1).max(), 0.0, tol=1e-12)

    lesson.step("The graph, with values and gradients")
    lesson.say("""
        Attention is no new kind of operation: matrix products, a transpose, a
        division and a softmax, so `backward()` needs nothing new. Take
        `L = sum(Z)`. Every value `V[s]` is used by all three queries, so by the
        accumulation rule its gradient adds what each use sends back, the weights
        it received: `∂L/∂V[s] = Σ_t A[t, s]`, a column sum of `A`.
    """)
    v = lesson.code("""
        from chaingrad import viz

        L = Z.sum()
        L.name = "L"
        L.backward()
        head = viz.draw(L, out / "16_attention_head.svg",
                        parameters=[W_q, W_k, W_v])
        print("∂L/∂V (each column the same):\\n", V.grad.round(3))
        print("column sums of A:", A.data.sum(axis=0).round(3))
    """)
    lesson.check("∂L/∂V[1, 0] = Σ_t A[t, 1], the weight token 1 received",
                 v.V.grad[1, 0], v.A.data[:, 1].sum(), tol=1e-12)
    lesson.file(v.head, "one attention head: every node's value and gradient")
    lesson.say("""
        In the picture `A` is a 3×3 box: row `t` is what token `t` takes from each
        token. `W_q` and `W_k` get their gradients only through the softmax: they
        say how to move the weights so that the useful tokens get more attention.
    """)

    lesson.step("Checking the gradient through the softmax")
    lesson.say("""
        The softmax's backward rule is the least obvious one here:
        `∂A_i/∂s_j = A_i (1[i = j] − A_j)`. Central differences confirm the whole
        head's gradients for all three weight matrices; one entry, by hand, nudges
        `W_q[0, 1]` by `±h` and compares the slope with `W_q.grad[0, 1]`.
    """)
    v = lesson.code("""
        from chaingrad.autograd import gradcheck

        def head_loss(W_q: Tensor, W_k: Tensor, W_v: Tensor) -> Tensor:
            scores = (X @ W_q) @ (X @ W_k).T / np.sqrt(2)
            return (F.softmax(scores, axis=-1) @ (X @ W_v)).sum()

        passed = gradcheck(head_loss, [W_q, W_k, W_v])
        print("backward agrees with central differences:", passed)
        h, nudge = 1e-6, np.zeros((2, 2))
        nudge[0, 1] = h
        up = head_loss(Tensor(W_q.data + nudge), W_k, W_v).item()
        down = head_loss(Tensor(W_q.data - nudge), W_k, W_v).item()
        slope = (up - down) / (2 * h)
        print(f"W_q[0, 1]: backward {W_q.grad[0, 1]:.8f}, nudged {slope:.8f}")
    """)
    lesson.check("∂L/∂W_q[0, 1], backward minus central difference", v.W_q.grad[0, 1] - v.slope,
                 0.0, tol=1e-6)

    lesson.step("The causal mask: no looking ahead")
    lesson.say("""
        A model that writes text one character at a time must not see the future
        while it learns: token `t` may look at tokens `0..t` only. Adding `-∞` to the
        forbidden scores does it, since `e^-∞ = 0`: those weights become exactly 0
        and the rest of each row still sums to 1. Token 0 can only look at itself,
        so its row is `(1, 0, 0)`. `F.scaled_dot_product_attention` does the whole
        head, mask included.
    """)
    v = lesson.code("""
        print(F.causal_mask(3))                         # -inf above the diagonal
        A_causal = F.softmax(scores + F.causal_mask(3), axis=-1)
        same = F.scaled_dot_product_attention(Q, K, V, causal=True)
        print("causal weights:\\n", A_causal.data.round(3))
    """)
    lesson.check("token 0 attends only to itself: its weight on itself",
                 v.A_causal.data[0, 0], 1.0)
    lesson.check("the function minus A_causal V (largest difference)",
                 np.abs(v.same.data - (v.A_causal @ v.V).data).max(), 0.0, tol=1e-12)

    lesson.step("Many heads and a transformer block")
    lesson.say("""
        **Multi-head attention** runs several heads side by side, each on its own
        slice of the features, and maps their joined outputs once more (`W_o`).
        A **transformer block** (pre-norm, as in GPT-2) is
        `x = x + attention(LayerNorm(x))`, then `x = x + MLP(LayerNorm(x))`: the
        residual `x +` lets gradients pass straight through, and LayerNorm gives
        every token mean 0 and variance 1 before each part.

        Parameters by hand for width 16, 2 heads, MLP width 64: attention
        `4·(16·16 + 16) = 1,088`, two LayerNorms `2·(16 + 16) = 64`, the MLP
        `16·64 + 64 + 64·16 + 16 = 2,128`: **3,280** in all.
    """)
    v = lesson.code("""
        from chaingrad import nn

        block = nn.TransformerBlock(16, num_heads=2, hidden=64, seed=0)
        tokens = Tensor(np.random.default_rng(0).normal(size=(1, 5, 16)))
        print(block, "→ output shape", block(tokens).shape)
        print("parameters:", block.num_parameters())
    """)
    lesson.check("1,088 + 64 + 2,128 = 3,280 parameters", v.block.num_parameters(), 3280)
    lesson.check("a block keeps the shape (batch, tokens, width)", v.block(v.tokens).shape,
                 (1, 5, 16))

    lesson.step("A task that needs attention: reversing strings")
    lesson.say("""
        Show the model five letters, then `=`, and it must write them backwards:
        `cabhd=dhbac`. Each answer letter copies the letter *mirrored* around the
        `=`, so the model must learn where to look. It reads characters and
        predicts the next one at every position; the causal mask keeps it honest.
    """)
    v = lesson.code("""
        letters, n = "abcdefgh=", 5                     # token 8 is '='
        rng = np.random.default_rng(0)
        strings = np.arange(8 ** n)                      # all 32,768, as numbers
        held_out = rng.choice(strings, 500, replace=False)   # for the test
        allowed = np.setdiff1d(strings, held_out)        # training draws these

        def examples(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            left = ids[:, None] // 8 ** np.arange(n) % 8  # digits in base 8
            equals = np.full((len(ids), 1), 8)
            text = np.concatenate([left, equals, left[:, ::-1]], axis=1)
            return text[:, :-1], text[:, 1:]             # next-character targets

        inputs, targets = examples(rng.choice(allowed, 1))
        print("reads   ", "".join(letters[t] for t in inputs[0]))
        print("predicts", "".join(letters[t] for t in targets[0]))
    """)
    lesson.check("targets equal to the next input, of the 9 that have one",
                 int(np.sum(v.targets[0, :-1] == v.inputs[0, 1:])), 9)

    lesson.step("A tiny transformer, and its training step captured")
    lesson.say("""
        Two blocks of width 32 with 2 heads each; the loss is the cross-entropy on
        the five answer positions. Its training step is captured once, on a first
        batch (`capture`, lesson 10), and replayed at every step after: the numbers
        of eager, without building the graph again.
    """)
    v = lesson.code("""
        from chaingrad import capture
        from chaingrad.nn.attention import TransformerLM

        model = TransformerLM(vocab_size=9, context=2 * n, dim=32,
                              num_heads=2, num_layers=2, seed=0)
        optimizer = nn.optim.Adam(model.parameters(), lr=0.003)

        def answer_loss(inputs: np.ndarray, answers: np.ndarray) -> Tensor:
            scores = model(inputs)[:, n:]                # the answer positions
            return F.cross_entropy(scores.reshape(-1, 9), answers)

        first, after = examples(allowed[:64])            # any batch of 64
        train_step = capture(answer_loss, first, after[:, n:].reshape(-1))
        print(repr(train_step))
    """)

    lesson.step("Training a tiny transformer")
    lesson.say("""
        200 steps of Adam on batches of 64 strings drawn from the 32,268 not held
        out. Guessing among 8 letters costs `ln 8 ≈ 2.08`; it should end below
        **0.05**. The code prints the CPU time as it goes.
    """)
    v = lesson.code("""
        import time

        start, seen = time.process_time(), set()           # CPU seconds
        for step in range(1, 201):
            ids = rng.choice(allowed, 64)
            seen.update(ids.tolist())
            inputs, targets = examples(ids)
            optimizer.zero_grad()
            loss = train_step(inputs, targets[:, n:].reshape(-1))  # replayed
            optimizer.step()
            if step % 50 == 0:
                seconds = time.process_time() - start
                print(f"step {step}  loss {loss.item():.4f}  ({seconds:.1f} s CPU)")
        print(f"{len(seen):,} different strings trained on")
    """)
    lesson.check("the loss after 200 steps (from ln 8 ≈ 2.08 to under 0.05)",
                 v.loss.item(), at_most=0.05)
    lesson.check("held-out strings among those trained on", len(v.seen & set(v.held_out)),
                 0)

    lesson.step("Sampling: the model writes")
    lesson.say("""
        To write, the model predicts the next character, we draw one from its
        softmax, append it and repeat (`model.generate`). Four strings of ours,
        then the 500 held out, which no training batch contained:
    """)
    v = lesson.code("""
        def reverse(word: str) -> str:
            start = [letters.index(c) for c in word + "="]
            tokens = model.generate(start, n, temperature=0.5, seed=1)
            return "".join(letters[t] for t in tokens)

        for word in ["abcde", "hgfab", "ddcba", "bahgc"]:
            print(reverse(word))
        inputs, targets = examples(held_out)
        guess = model(inputs).data.argmax(axis=-1)[:, n:]
        accuracy = float(np.mean(np.all(guess == targets[:, n:], axis=1)))
        print(f"{accuracy:.1%} of the 500 held out reversed without a mistake")
    """)
    lesson.check("letters of 'edcba' written after 'abcde='",
                 sum(a == b for a, b in zip(v.reverse("abcde")[6:], "edcba")), 5)
    lesson.check("share of held-out strings reversed exactly (at least 0.95)",
                 v.accuracy, at_least=0.95)

    lesson.step("What the heads look at")
    lesson.say("""
        Every attention layer keeps its last weights. Rows: the positions that
        predict (`=` and the answer letters); columns: the positions they read. A
        head that learned the task reads the mirrored letter: `=` the last letter,
        the next position the one before it. That is an anti-diagonal.
    """)
    v = lesson.code("""
        from matplotlib.figure import Figure

        text = np.array([[2, 0, 1, 7, 3, 8, 3, 7, 1, 0]])   # cabhd=dhba
        model(text)
        figure = Figure(figsize=(8.6, 4.2), layout="constrained")
        grid = figure.subplots(2, 2)
        for k, axis in enumerate(grid.flat):
            block, h = model.blocks[k // 2], k % 2
            weights = block.attention.weights.data[0, h, n:]
            shown = axis.imshow(weights, cmap="Blues", vmin=0, vmax=1)
            axis.set_title(f"layer {k // 2}, head {h}", fontsize=9)
            axis.set_xticks(range(2 * n), [letters[t] for t in text[0]])
            axis.set_yticks(range(n), [letters[t] for t in text[0, n:]])
        figure.colorbar(shown, ax=grid, label="attention weight", shrink=0.8)
        heads = out / "16_heads.png"
        figure.savefig(heads, dpi=90)
        rows, mirror = n + np.arange(n), np.arange(n - 1, -1, -1)
        best = max(block.attention.weights.data[0, h, rows, mirror].mean()
                   for block in model.blocks for h in range(2))
        print(f"the head most focused on the mirrored letter gives it {best:.0%}")
    """)
    lesson.check("the best head's weight on the mirrored letter: over 0.5", v.best, 1.0,
                 tol=0.5)
    lesson.file(v.heads, "each head's attention: answer positions (rows) reading the input")

    lesson.step("The whole model, one box per module")
    lesson.say("""
        The full graph has over a hundred nodes. `nn.name_parameters` names every
        parameter and module output by its path in the model (`blocks.0.attention
        .query.weight`), and `viz.module_prefix(2)` collapses the drawing into one
        box per module: the embeddings, each block (its first head's attention
        weights drawn inside), the final norm and the head. The two steps that belong
        to no module (adding the embeddings, slicing out the answer) stay single nodes.
    """)
    v = lesson.code("""
        named = nn.name_parameters(model)
        logits = named(text)[0, n:-1]                 # the answer's predictions
        logits.name = "answer's logits"
        loss = F.cross_entropy(logits, text[0, n + 1:])
        loss.name = "loss"
        loss.backward()
        graph = viz.draw(loss, out / "16_transformer.svg", collapse_threshold=50,
                         group_by=viz.module_prefix(2))
        boxes = viz.to_networkx(loss).number_of_nodes()
        print(f"{boxes} nodes drawn as one box per module")
    """)
    lesson.check("nodes in the full graph (over a hundred)", v.boxes, at_least=101)
    lesson.file(v.graph, "the whole model, one box per module, attention shown inside")
    lesson.say("""
        **What to remember:** attention is a softmax of query–key scores used to
        average values, built from operations you already know, so its graph and
        gradients are ordinary. The causal mask is `-∞` added before the softmax.
        `nn.to_torch(block)` gives PyTorch's own layer when you outgrow this.
    """)
