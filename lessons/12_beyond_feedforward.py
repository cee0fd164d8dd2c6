"""Lesson 12: beyond feedforward. An Elman RNN and backpropagation through time, a CNN on
digits, an autoencoder, and the course's digits comparison table."""

import numpy as np

from chaingrad.lessons.runner import Lesson

TITLE = "Beyond feedforward: recurrent nets, convolutions, autoencoders"
MINUTES = 20


def run(lesson: Lesson) -> None:
    lesson.step("Memory: the Elman network")
    lesson.say("""
        The course's fourth family of problems has **memory**: the answer at time `t`
        depends on the past, `y_t = f(x_{t−1}, x_{t−2}, …)` (time series, speech,
        text). An **Elman network** feeds its hidden state back in at every step:

        **h_t = tanh(x_t·W_x + h_{t−1}·W_h + b)**

        The same weights `W_x`, `W_h`, `b` are used at every step. To train it, unroll
        the loop: one copy of the cell per time step, chained through `h`. That is an
        ordinary graph, and `backward()` through it is **backpropagation through time**
        (BPTT): a weight's gradient is the sum of what every step sends back (the
        accumulation rule once more).
    """)

    lesson.step("One unit, three steps, by hand")
    lesson.say("""
        By hand, with one unit, ReLU instead of tanh so everything stays linear, `b = 0`,
        `W_x = 0.5`, `W_h = 0.8` and the input sequence `x = (1, 0, 0)`:

        * `h₁ = 0.5·1 = 0.5`,  `h₂ = 0.8·0.5 = 0.4`,  `h₃ = 0.8·0.4 = 0.32`;
        * so `h₃ = W_h²·W_x`, and `∂h₃/∂W_h = 2·W_h·W_x = 0.8`, `∂h₃/∂W_x = W_h² = 0.64`.
    """)
    v = lesson.code("""
        import numpy as np
        from chaingrad.autograd import Tensor
        from chaingrad.nn.recurrent import RNN

        rnn = RNN(1, 1, activation="relu")
        rnn.cell.weight_x.data[...] = 0.5
        rnn.cell.weight_h.data[...] = 0.8
        rnn.cell.bias.data[...] = 0.0
        x = Tensor([[[1.0], [0.0], [0.0]]], name="x")   # (batch, time, features)
        states, h3 = rnn(x)
        h3.sum().backward()
        print("h_t for t = 1, 2, 3:", states.data.ravel())
        print("∂h₃/∂W_h =", rnn.cell.weight_h.grad.item(),
              "  ∂h₃/∂W_x =", rnn.cell.weight_x.grad.item())
    """)
    lesson.check("h = (0.5, 0.4, 0.32)", v.states.data.ravel(), np.array([0.5, 0.4, 0.32]),
                 tol=1e-12)
    lesson.check("∂h₃/∂W_h = 2·0.8·0.5 = 0.8", v.rnn.cell.weight_h.grad.item(), 0.8, tol=1e-12)
    lesson.check("∂h₃/∂W_x = 0.8² = 0.64", v.rnn.cell.weight_x.grad.item(), 0.64, tol=1e-12)

    lesson.step("The unrolled graph, drawn")
    lesson.say("""
        To see BPTT, unroll the same three steps by hand with one `Value` per number,
        so that every arrow shows its chain rule:
    """)
    v = lesson.code("""
        from chaingrad import viz
        from chaingrad.autograd import Value

        W_x, W_h = Value(0.5, name="W_x"), Value(0.8, name="W_h")
        h = Value(0.0, name="h0")                   # the initial state
        for t, x_t in enumerate([1.0, 0.0, 0.0], start=1):
            x = Value(x_t, name=f"x{t}")            # the input at time t
            h = (x * W_x + h * W_h).relu()
            h.name = f"h{t}"
        h.backward()
        print(f"h3 = {h.data:.2f}   ∂h3/∂W_h = {W_h.grad:.2f}"
              f"   ∂h3/∂W_x = {W_x.grad:.2f}")
        unrolled = viz.draw(h, out / "12_rnn_unrolled.svg",
                            parameters=[W_x, W_h])
    """)
    lesson.check("the same ∂h₃/∂W_h as the RNN layer's", v.W_h.grad, 0.8, tol=1e-12)
    lesson.file(v.unrolled, "the unrolled network: three steps sharing W_x and W_h")
    lesson.say("""
        In the picture, `W_x` and `W_h` each have three arrows out, one per time step
        (at step 1, `W_h` multiplies the initial state `h0 = 0`), and `x1`, `x2`, `x3`
        are the inputs of the three steps. Each weight's gradient is the sum of what the
        three steps send back, and its box shows the sum: for `W_h`, `0 + 0.4 + 0.4 = 0.8`.
    """)

    lesson.step("Vanishing gradients")
    lesson.say("""
        Each step back in time multiplies the gradient by `W_h` (times the activation's
        slope). How much does the *first* input still matter after 20 steps? By hand,
        `∂h₂₀/∂x₁ = W_x·W_h¹⁹ = 0.5 · 0.8¹⁹ ≈ 0.0072`. With `|W_h| < 1` the signal from
        the distant past fades geometrically (**vanishing gradient**); with `|W_h| > 1`
        it would blow up (**exploding gradient**). This is the 1990s problem the course
        mentions, and the reason for the LSTM (1997), whose gated memory cell
        (`nn.recurrent.LSTM`) lets gradients survive many more steps.
    """)
    v = lesson.code("""
        long = Tensor(np.eye(20)[0].reshape(1, 20, 1), requires_grad=True, name="x")
        states, h20 = rnn(long)
        h20.sum().backward()
        chosen = long.grad[0, [0, 4, 9, 14, 19], 0].round(5)
        print("∂h₂₀/∂x_t for t = 1, 5, 10, 15, 20:", chosen)
    """)
    lesson.check("∂h₂₀/∂x₁ = 0.5 · 0.8¹⁹", v.long.grad[0, 0, 0], 0.5 * 0.8**19, tol=1e-12)

    lesson.step("An Elman network learns a sine wave")
    lesson.say("""
        Now a real task: predict the next value of a sine wave from the values so far.
        From one value alone this is impossible: `sin = 0.5` happens on the way up and
        on the way down. The hidden state has to remember where the wave came from.

        64 sequences of 20 steps with random phases; the model is an Elman layer of 8
        units plus a linear read-out at every step (`nn.models.SequenceModel`). As a
        baseline, "the next value equals this one" (a forecast with no model at all).
    """)
    v = lesson.code("""
        from chaingrad import nn
        from chaingrad.nn.models import SequenceModel

        rng = np.random.default_rng(0)
        waves = np.sin(rng.uniform(0, 2 * np.pi, (64, 1)) + 0.4 * np.arange(21))
        inputs, targets = waves[:, :-1, None], waves[:, 1:, None]   # (64, 20, 1)
        baseline = float(np.mean((inputs - targets) ** 2))

        nn.manual_seed(0)
        model = SequenceModel(RNN(1, 8), 1)
        model.compile(loss="mse", optimizer="adam", lr=0.02)
        history = model.fit(inputs, targets, epochs=150, batch_size=None,
                            verbose=0)
        final = history.history["loss"][-1]
        print(f"MSE: 'same as now' {baseline:.4f}   Elman RNN {final:.4f}")
    """)
    lesson.check("MSE of 'same as now' over the RNN's (at least 5)",
                 v.baseline / v.history.history["loss"][-1], at_least=5)

    lesson.step("Convolution: one small kernel slid over the image")
    lesson.say("""
        An MLP treats the 64 pixels of a digit as unrelated numbers. A **convolutional**
        layer slides a small kernel (say 3×3 weights) over the image and computes, at
        each position, the weighted sum of the pixels under it. The same 9 weights are
        used everywhere (**weight sharing**): a pattern is found wherever it appears.

        By hand: a 4×4 image, dark only in its last column, and the kernel
        `[−1, 0, 1]` in each row (it responds to "darker on the right"). Without padding
        the output is 2×2. At the left positions the kernel sees columns 0–2, all
        white: `0`. At the right positions it sees columns 1–3: each row gives
        `−0 + 0 + 1 = 1`, three rows give `3`.

        Its gradient shows the sharing. For `L = sum(output)`, the kernel's top-right
        weight touched the pixels `(0, 2), (0, 3), (1, 2), (1, 3)` at the four positions,
        so `∂L/∂W[0, 2] = 0 + 1 + 0 + 1 = 2`.
    """)
    v = lesson.code("""
        from chaingrad.nn.functional import conv2d

        image = np.zeros((1, 1, 4, 4))
        image[..., 3] = 1.0                      # a dark last column
        rows = np.tile([-1.0, 0.0, 1.0], (1, 1, 3, 1))    # (out, in, 3, 3)
        kernel = Tensor(rows, requires_grad=True, name="W")
        edges = conv2d(Tensor(image), kernel)
        edges.sum().backward()
        print("output:\\n", edges.data[0, 0])
        print("∂L/∂W:\\n", kernel.grad[0, 0])
    """)
    lesson.check("the output is [[0, 3], [0, 3]]", v.edges.data[0, 0].ravel().tolist(),
                 [0.0, 3.0, 0.0, 3.0])
    lesson.check("∂L/∂W[0, 2] = 2 (summed over the four positions)", v.kernel.grad[0, 0, 0, 2],
                 2.0)

    lesson.step("A CNN on the digits")
    lesson.say("""
        `nn.models.DigitsCNN` stacks two convolution + ReLU + **max-pooling** stages
        (the largest value of each 2×2 block), then a dense layer:

        `8×8 → conv 32 maps → pool → 4×4 → conv 64 maps → pool → 2×2 → dense 128 → 10`

        Parameters by hand: the first convolution has `32·(1·3·3) + 32 = 320`, the second
        `64·(32·3·3) + 64 = 18,496`, the dense layers `(64·2·2)·128 + 128 = 32,896` and
        `128·10 + 10 = 1,290`: **53,002** in all.
    """)
    v = lesson.code("""
        from chaingrad.nn import data
        from chaingrad.nn.models import DigitsCNN

        X_train, y_train = data.digits("train")          # (1438, 8, 8)
        X_test, y_test = data.digits("test")
        cnn = DigitsCNN(seed=0)
        cnn.summary()
    """)
    lesson.check("53,002 parameters", v.cnn.num_parameters(), 53002)

    lesson.step("Training the CNN")
    lesson.say("""
        Four epochs of mini-batches of 32; `verbose=2` prints one line per epoch. This
        takes a few seconds: each batch runs the convolutions forward and backward.
    """)
    v = lesson.code("""
        import time

        cnn.compile(loss="cross_entropy", optimizer="adam", lr=0.003,
                    metrics=["accuracy"])
        start = time.perf_counter()
        cnn.fit(X_train, y_train, epochs=4, batch_size=32, verbose=2, seed=0)
        cnn_seconds = time.perf_counter() - start
        cnn_loss, cnn_accuracy = cnn.evaluate(X_test, y_test)
        print(f"CNN test accuracy after 4 epochs: {cnn_accuracy:.1%}")
    """)
    lesson.check("share of the test digits right (over 0.9)", v.cnn_accuracy, at_least=0.9)

    lesson.step("An autoencoder: learning to compress")
    lesson.say("""
        An **autoencoder** is trained on input–input pairs, like the Hopfield network,
        but through a bottleneck: the encoder squeezes the 64 pixels into a code of 8
        numbers, the decoder rebuilds the 64 pixels from the code, and the loss is the
        MSE between the image and its rebuild: `fit(X, X)`. To do well, the 8 numbers
        must keep what matters most about a digit.

        Baseline: rebuild every image as the average image of the training set.
    """)
    v = lesson.code("""
        from chaingrad.nn.models import Autoencoder

        flat_train, flat_test = X_train.reshape(-1, 64), X_test.reshape(-1, 64)
        autoencoder = Autoencoder(64, code=8, hidden=32, seed=0)
        autoencoder.compile(loss="mse", optimizer="adam", lr=0.01)
        autoencoder.fit(flat_train, flat_train, epochs=20, batch_size=32,
                        verbose=0, seed=0)
        rebuilt = autoencoder.predict(flat_test)
        error = float(np.mean((rebuilt - flat_test) ** 2))
        average = float(np.mean((flat_train.mean(axis=0) - flat_test) ** 2))
        codes = autoencoder.encode(Tensor(flat_test)).data
        print(f"test MSE: average image {average:.4f}   autoencoder {error:.4f}")
        print("the code of the first test digit:", codes[0].round(1))
    """)
    lesson.check("each code has 8 numbers (64 pixels compressed 8 times)", v.codes.shape,
                 (359, 8))
    lesson.check("error of the average image over the rebuild's (at least 3)",
                 v.average / v.error, at_least=3)

    lesson.step("Eight digits and their rebuilds")
    v = lesson.code("""
        from matplotlib.figure import Figure

        figure = Figure(figsize=(8, 2.2), layout="constrained")
        axes = figure.subplots(2, 8)
        for k in range(8):
            for row, images in enumerate([flat_test, rebuilt]):
                axes[row, k].imshow(images[k].reshape(8, 8), cmap="Greys",
                                    vmin=0, vmax=1)
                axes[row, k].set(xticks=[], yticks=[])
            axes[0, k].set_title(f"digit {y_test[k]}", fontsize=8)
        axes[0, 0].set_ylabel("original")
        axes[1, 0].set_ylabel("rebuilt")
        pictures = out / "12_autoencoder.png"
        figure.savefig(pictures, dpi=100)
    """)
    lesson.file(v.pictures, "eight test digits (top) and their rebuilds from 8-number codes")

    lesson.step("The course's comparison on digits")
    lesson.say("""
        The course quotes test errors on MNIST: **linear 10%, k-NN 3%, SVM 1%,
        deep 0.3%**. Here is the same comparison on our small digits: a linear softmax
        classifier, k nearest neighbours (no training: each test image takes the
        majority label of its 3 closest training images), lesson 10's MLP and the CNN
        from above. The training runs are kept short for the lesson;
        `python -m chaingrad.nn.compare` trains each model for 20–30 epochs (about half
        a minute).
    """)
    v = lesson.code("""
        from chaingrad.nn.compare import Result, knn_predict, show
        from chaingrad.nn.models import LinearClassifier

        def error_of(model: nn.Module, images: np.ndarray) -> float:
            return float(np.mean(model.predict(images).argmax(axis=1) != y_test))

        def train(model: nn.Module, images: np.ndarray, epochs: int) -> float:
            \"\"\"Adam on the cross-entropy; returns the seconds it took.\"\"\"
            model.compile(loss="cross_entropy", optimizer="adam", lr=0.01)
            start = time.perf_counter()
            model.fit(images, y_train, epochs=epochs, verbose=0, seed=0)
            return time.perf_counter() - start

        linear = LinearClassifier(64, 10, seed=0)
        mlp = nn.MLP(64, [32, 10], seed=0)
        linear_seconds = train(linear, flat_train, 10)
        mlp_seconds = train(mlp, flat_train, 10)
        start = time.perf_counter()
        knn_guess = knn_predict(X_train, y_train, X_test, k=3)
        knn_error = float(np.mean(knn_guess != y_test))
        knn_seconds = time.perf_counter() - start
    """)
    lesson.check("k-NN's share of wrong test digits (under 0.1)", v.knn_error, at_most=0.1)

    lesson.step("The comparison table")
    v = lesson.code("""
        results = [
            Result("linear softmax", error_of(linear, flat_test),
                   linear_seconds, "10 epochs"),
            Result("k-NN", knn_error, knn_seconds, "k = 3"),
            Result("MLP", error_of(mlp, flat_test), mlp_seconds,
                   "64-32-10, 10 epochs"),
            Result("CNN", error_of(cnn, X_test), cnn_seconds, "4 epochs"),
        ]
        show(results, len(y_test))                      # the table
    """)
    errors = {r.model: r.test_error for r in v.results}
    lesson.check("the worst model's share of wrong test digits (under 0.1)",
                 max(errors.values()), at_most=0.1)
    lesson.check("the linear classifier's error minus the worst (0: it is the worst)",
                 errors["linear softmax"] - max(errors.values()), 0.0)
    lesson.say("""
        ("seconds" is the training time; for k-NN, which has no training, the time to
        classify the test set.)
    """)

    lesson.step("What the table says")
    lesson.say("""
        As in the course, the linear model is last: one weighted sum per class cannot
        bend its boundaries. Unlike MNIST, **k-NN is very hard to beat here**: with
        1,438 training images of only 64 pixels, the nearest training image is almost
        always the same digit. The networks are trained only briefly in this lesson;
        `python -m chaingrad.nn.compare` trains them 20–30 epochs, which brings the MLP
        and CNN closer. The CNN's real advantage, weight sharing, pays off on larger
        images such as MNIST's 28×28, where a kernel can find a stroke wherever it is. And on 359
        test images one mistake is 0.3%: differences of a few images are noise, and a
        replication with other seeds (lesson 9) may swap neighbours in the table.

        **What to remember:** recurrence adds memory (and BPTT is ordinary backprop on
        the unrolled graph), convolution adds weight sharing over an image, and an
        autoencoder learns a compressed code by reproducing its input. All three are
        graphs of the same operations, differentiated by the same engine.
    """)
    lesson.say("**Practise it:** homework exercise 3.8 `train_digits` (`chaingrad exercises start N` writes assignment N).")
