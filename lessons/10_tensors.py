"""Lesson 10: from scalars to tensors. Broadcasting, matmul, one MLP at both levels, and the
Keras-style workflow (compile, summary, fit, evaluate) on handwritten digits."""

import numpy as np

from chaingrad.lessons.runner import Lesson

TITLE = "From scalars to tensors: broadcasting, matmul and model.fit on digits"
MINUTES = 15


def run(lesson: Lesson) -> None:
    lesson.step("Broadcasting: one bias for every row")
    lesson.say("""
        So far most graphs had one node per number. Real networks handle whole arrays
        at once: a **Tensor** is a node holding a numpy array, and each operation on it
        is *one* node, however many numbers it touches.

        A batch is a matrix with **one example per row**. Adding a bias `b` of shape
        `(2,)` to a batch `X` of shape `(3, 2)` uses numpy's **broadcasting**: shapes
        align from the right, and `b` is reused for each of the 3 rows.

        Used three times, `b` gets the **sum** of what the three uses send back (the
        rule of `u * u + u` in lesson 1). For `L = sum(X + b)` every element sends
        back 1, so by hand `∂L/∂b = (3, 3)`.
    """)
    v = lesson.code("""
        import numpy as np
        from chaingrad.autograd import Tensor

        X = Tensor([[1., 2.], [3., 4.], [5., 6.]], requires_grad=True, name="X")
        b = Tensor([10.0, 20.0], requires_grad=True, name="b")
        L = (X + b).sum()
        L.backward()
        print("X + b =\\n", (X + b).data)
        print("L =", L.item(), "   b.grad =", b.grad)
    """)
    lesson.check("L = (1+2+3+4+5+6) + 3·(10+20) = 111", v.L.item(), 111.0)
    lesson.check("b.grad = (3, 3): b was used once per row", v.b.grad, np.array([3.0, 3.0]))

    lesson.step("Matrix product: a whole layer of neurons in one node")
    lesson.say("""
        A layer of neurons computes, for each example `x` and each neuron `j`, the
        weighted sum `Σᵢ xᵢ·Wᵢⱼ`. For the whole batch at once that is the matrix product
        `X @ W`: shapes `(3, 2) @ (2, 4) → (3, 4)`, one row per example, one column per
        neuron. The inner sizes (2 inputs) must agree.

        Its backward rule is two more matrix products. With `G = ∂L/∂(X @ W)`:
        `∂L/∂W = Xᵀ @ G` and `∂L/∂X = G @ Wᵀ`. For `L = sum(X @ W)`, `G` is all ones, so
        by hand `∂L/∂W[i, j] = Σₙ X[n, i]`: `1 + 3 + 5 = 9` in the first row and
        `2 + 4 + 6 = 12` in the second.
    """)
    v = lesson.code("""
        W = Tensor(np.arange(8.0).reshape(2, 4), requires_grad=True, name="W")
        X.zero_grad()
        Y = X @ W
        Y.sum().backward()
        print("Y = X @ W has shape", Y.shape, "; its first row is", Y.data[0])
        print("W.grad =\\n", W.grad)
        print("Xᵀ @ G =\\n", X.data.T @ np.ones((3, 4)))
    """)
    lesson.check("Y[0, 0] = 1·0 + 2·4 = 8", v.Y.data[0, 0], 8.0)
    lesson.check("W.grad = Xᵀ @ ones: its rows are all 9 and all 12", v.W.grad[:, 0].tolist(),
                 [9.0, 12.0])
    lesson.check("entries of W.grad that differ from their row's first", int(
        (v.W.grad != v.W.grad[:, :1]).sum()), 0)

    lesson.step("When the shapes do not fit")
    lesson.say("""
        `W @ X` multiplies `(2, 4)` by `(3, 2)`: the inner sizes 4 and 3 differ. The
        error says which op and which shapes:
    """)
    v = lesson.code("""
        try:
            W @ X
        except ValueError as error:
            message = str(error)
            print(message)
    """)
    lesson.check("of 'matmul', (2, 4) and (3, 2), the message names",
                 sum(s in v.message for s in ("matmul", "(2, 4)", "(3, 2)")), 3)

    lesson.step("The same MLP at scalar and at tensor level")
    lesson.say("""
        Lesson 6 trained `nn.scalar.MLP`, where every weight is its own `Value`. Its
        tensor twin `nn.MLP` keeps each layer's weights in one matrix. Give them the same
        weights and they are the same function: the scalar neuron `j` of layer `k` has
        the weights that form column `j` of the tensor layer's matrix `W`.
    """)
    v = lesson.code("""
        from chaingrad import nn
        from chaingrad.autograd import topological_order
        from chaingrad.nn import data, losses

        X_xor, y_xor = data.xor()
        scalar_net = nn.scalar.MLP(2, [3, 1], seed=0)
        tensor_net = nn.MLP(2, [3, 1], activation="tanh")
        linears = [layer for layer in tensor_net if isinstance(layer, nn.Linear)]
        for layer, linear in zip(scalar_net.layers, linears):
            columns = [[w.data for w in n.weights] for n in layer.neurons]
            linear.weight.data[...] = np.array(columns).T
            linear.bias.data[...] = [n.bias.data for n in layer.neurons]
        print("first layer's W, copied from the scalar neurons:")
        print(linears[0].weight.data.round(3))
    """)
    lesson.check("W has one column per neuron: shape (2 inputs, 3 neurons)",
                 list(v.linears[0].weight.data.shape), [2, 3])

    lesson.step("Same loss, same gradients, far fewer nodes")
    lesson.say("""
        Compute the MSE on the four XOR rows with both nets and backpropagate.
    """)
    v = lesson.code("""
        scalar_loss = losses.mse([scalar_net(list(x)) for x in X_xor], y_xor)
        tensor_loss = losses.mse(tensor_net(X_xor), y_xor)
        scalar_loss.backward()
        tensor_loss.backward()
        print(f"loss: scalar {scalar_loss.data:.12f}"
              f"   tensor {tensor_loss.item():.12f}")
        first = scalar_net.layers[0].neurons[0].weights[1]
        print(f"∂L/∂W₁[1, 0]: scalar {first.grad:.12f}"
              f"   tensor {linears[0].weight.grad[1, 0]:.12f}")
        print("nodes in the graph: scalar", len(topological_order(scalar_loss)),
              "  tensor", len(topological_order(tensor_loss)))
    """)
    lesson.check("the same loss", v.tensor_loss.item(), v.scalar_loss.data, tol=1e-12)
    scalar_grads = np.array([[w.grad for w in n.weights]
                             for n in v.scalar_net.layers[0].neurons]).T
    lesson.check("largest gap between the two nets' first-layer gradients",
                 float(np.abs(v.linears[0].weight.grad - scalar_grads).max()), 0.0, tol=1e-12)
    lesson.say("""
        Same numbers, far fewer nodes: the scalar graph has a node for every
        multiplication of every example, the tensor graph one node per layer operation.
        Fewer, bigger nodes is what makes tensors fast (numpy does the inner loops in C);
        the scalar version is what makes the chain rule visible.
    """)
    lesson.check("scalar graph's nodes over the tensor graph's (at least 5)",
                 len(v.topological_order(v.scalar_loss))
                 / len(v.topological_order(v.tensor_loss)), at_least=5)

    lesson.step("Handwritten digits")
    lesson.say("""
        The course's running example for image recognition is MNIST. Its small cousin
        ships with chaingrad: **1,797 handwritten digits of 8×8 pixels** (UCI), split
        once into 1,438 training and 359 test images. Each image becomes a row of 64
        numbers between 0 (white) and 1 (black). Here is the first one, drawn with
        characters:
    """)
    v = lesson.code("""
        X_train, y_train = data.digits("train", flatten=True)
        X_test, y_test = data.digits("test", flatten=True)
        print("train", X_train.shape, "  test", X_test.shape)

        def show(image: np.ndarray) -> None:
            shades = " .:-=+*#%@"
            for row in image.reshape(8, 8):
                print("".join(shades[int(value * 9)] * 2 for value in row))

        show(X_train[0])
        print("label:", y_train[0])
    """)
    lesson.check("1,438 + 359 = 1,797 images of 64 pixels",
                 [len(v.X_train), len(v.X_test), v.X_train.shape[1]], [1438, 359, 64])

    lesson.step("The Keras workflow: compile, summary, fit, evaluate")
    lesson.say("""
        The second deck builds networks in Keras. chaingrad's modules follow the same
        workflow:

        1. build the model: 64 inputs, 32 hidden `tanh` units, 10 outputs (one raw score
           per digit; the softmax is inside the loss);
        2. `compile`: choose the loss (cross-entropy, lesson 7), the optimizer (Adam,
           lesson 8) and the metrics to report;
        3. `summary`: the layers, their output shapes and parameter counts;
        4. `fit`: train for some epochs in mini-batches, keeping 10% aside for
           validation (lesson 9);
        5. `evaluate` on the test set, once, at the end.

        Parameters by hand: the first layer has `64·32` weights `+ 32` biases `= 2,080`,
        the second `32·10 + 10 = 330`: **2,410** in all.
    """)
    v = lesson.code("""
        nn.manual_seed(0)
        model = nn.MLP(64, [32, 10], activation="tanh")
        model.compile(loss="cross_entropy", optimizer="adam", lr=0.01,
                      metrics=["accuracy"])
        model.summary()
    """)
    lesson.check("2,410 parameters", v.model.num_parameters(), 2410)

    lesson.step("fit and evaluate")
    v = lesson.code("""
        history = model.fit(X_train, y_train, epochs=10, batch_size=32,
                            validation_split=0.1, verbose=2)
        test_loss, test_accuracy = model.evaluate(X_test, y_test)
        print(f"test: loss {test_loss:.3f}, accuracy {test_accuracy:.1%}")
    """)
    lesson.check("share of the test digits right (over 0.9)", v.test_accuracy,
                 at_least=0.9)
    lesson.say("""
        Each epoch is `⌈1,294 / 32⌉ = 41` mini-batches (1,438 minus the 144 kept for
        validation), each one the loop of lesson 2: zero the gradients, forward, loss,
        backward, step.
    """)
    lesson.check("1,438 − 144 = 1,294 training rows per epoch",
                 v.history.params["samples"], 1294)

    lesson.step("The learning curves")
    v = lesson.code("""
        from chaingrad.viz.plots import plot_history
        curves = plot_history(history, out / "10_digits_history.svg",
                              title="MLP 64-32-10 on 8×8 digits")
    """)
    lesson.file(v.curves, "loss and accuracy per epoch, on training and validation data")
    lesson.say("""
        Why is the first epoch's *training* loss above the validation loss? `fit` reports
        the average over the epoch's mini-batches, most of them computed by the still
        untrained network; the validation loss is measured once, at the end of the epoch.
        Later the training curve stays below: the network fits the images it learns from
        a little better than new ones.
    """)

    lesson.step("Looking at the mistakes")
    lesson.say("""
        `predict` returns the 10 scores for each image; the predicted digit is the
        largest. The fraction of right answers must be the accuracy `evaluate` reported.
    """)
    v = lesson.code("""
        predicted = model.predict(X_test).argmax(axis=1)
        wrong = np.flatnonzero(predicted != y_test)
        print(f"{len(wrong)} of {len(y_test)} test digits wrong")
        show(X_test[wrong[0]])
        print(f"true label {y_test[wrong[0]]}, predicted {predicted[wrong[0]]}")
    """)
    lesson.check("1 − (mistakes / 359) equals evaluate's accuracy",
                 1 - len(v.wrong) / 359, v.test_accuracy, tol=1e-12)
    lesson.step("capture: a training step recorded once, replayed as plain numpy")
    v = lesson.code("""
        from chaingrad import capture
        net = nn.MLP(2, [3, 1], activation="tanh")
        Xm, ym = nn.data.moons(32, noise=0.1, seed=0)
        step = capture(lambda x, y: nn.losses.bce_with_logits(net(x), y), Xm, ym)
        print(step)
    """)
    lesson.check("the replayed loss equals eager's, bit for bit",
                 float(v.step(v.Xm, v.ym)), v.step.fn(v.Xm, v.ym).item(), tol=0)

    lesson.step("Eager against replayed: the time of one step")
    v = lesson.code("""
        import time
        from collections.abc import Callable

        def cpu_us(run: Callable[[], object], n: int = 200) -> float:
            \"\"\"CPU microseconds one call of run takes, over n calls.\"\"\"
            start = time.process_time()
            for _ in range(n):
                run()
            return (time.process_time() - start) / n * 1e6

        eager = min(cpu_us(lambda: step.fn(Xm, ym).backward()) for _ in range(3))
        replayed = min(cpu_us(lambda: step(Xm, ym)) for _ in range(3))
        print(f"CPU µs a step: eager {eager:.0f}, replayed {replayed:.0f}")
        print(f"eager ÷ replayed = {eager / replayed:.1f}")
    """)
    lesson.check("eager ÷ replayed (at least 1: the replay is not slower)",
                 v.eager / v.replayed, at_least=1.0)
    lesson.say("""
        CPU time, the best of three, so other programs count little. The replay does
        the same numpy work and skips the Python of making nodes and ordering the
        graph (`fit(..., capture=True)` replays every batch this way).
    """)
    lesson.say("""
        **What to remember:** a tensor node does a whole array's work; broadcasting
        reuses a small array across a batch (and sums its gradient back); `X @ W` is a
        layer of neurons. On top of that, `compile`, `summary`, `fit`, `evaluate` and
        `predict` are the same five calls as in Keras.
    """)
    lesson.say("**Practise it:** homework exercises 1.10 `two_layer_gradients` and 3.8 `train_digits`; assignment 4 has you write a scalar engine yourself, and assignment 5 the tensor backward passes: broadcasting, matmul, softmax with cross-entropy, im2col convolution and max-pooling (`chaingrad exercises start N` writes assignment N).")
