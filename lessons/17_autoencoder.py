"""Lesson 17: a convolutional autoencoder. Transposed convolution by hand, im2col and
col2im, batch normalisation in training and evaluation, then an autoencoder on the
digits that compresses each image to 8 numbers, and the same network in PyTorch."""

import numpy as np

from chaingrad.lessons.runner import Lesson

TITLE = "A convolutional autoencoder: transposed convolution, im2col, batch norm"
MINUTES = 20


def run(lesson: Lesson) -> None:
    lesson.step("Transposed convolution: stamping the kernel")
    lesson.say("""
        A convolution with stride 2 halves an image; a decoder needs the opposite. A
        **transposed convolution** ("deconvolution") makes each input pixel *stamp*
        the kernel onto the output, scaled by the pixel's value, `stride` pixels
        apart. With a 2×2 kernel of ones and stride 2, the image `[[1, 2], [3, 4]]`
        becomes 4×4: each pixel turns into a 2×2 block of its own value.
        Output size: `(H − 1)·stride − 2·padding + kernel = (2 − 1)·2 + 2 = 4`.
    """)
    v = lesson.code("""
        import numpy as np
        from chaingrad.autograd import Tensor
        from chaingrad.nn import functional as F

        image = Tensor([[[[1.0, 2.0], [3.0, 4.0]]]])      # (N, C, H, W)
        ones = Tensor(np.ones((1, 1, 2, 2)))              # (C_in, C_out, kh, kw)
        big = F.conv_transpose2d(image, ones, stride=2)
        print(big.data[0, 0])
    """)
    blocks = np.kron([[1.0, 2.0], [3.0, 4.0]], np.ones((2, 2)))
    lesson.check("each pixel becomes a 2×2 block (largest difference)",
                 np.abs(v.big.data[0, 0] - blocks).max(), 0.0)

    lesson.step("Where stamps overlap, they add up")
    lesson.say("""
        With stride 1 the four stamps overlap. The output is 3×3; its centre is
        covered by all four stamps, so it is `1 + 2 + 3 + 4 = 10`; the corners by one
        stamp each, the edge middles by two (`1 + 2 = 3` at the top).
    """)
    v = lesson.code("""
        small = F.conv_transpose2d(image, ones, stride=1)
        print(small.data[0, 0])
    """)
    lesson.check("the centre adds all four stamps, 1 + 2 + 3 + 4", v.small.data[0, 0, 1, 1], 10.0)
    lesson.check("the top middle adds two stamps, 1 + 2", v.small.data[0, 0, 0, 1], 3.0)

    lesson.step("It is the convolution's backward pass")
    lesson.say("""
        Stamping is exactly what a convolution's **input gradient** does: each output
        pixel sends its gradient back to every input pixel under its window, weighted
        by the kernel. So the transposed convolution of `G` is the gradient of
        `sum(G · conv2d(x, w))` with respect to `x`. The name comes from the matrix
        view: if a convolution is `y = M x`, its transpose computes `Mᵀ g`.
    """)
    v = lesson.code("""
        x = Tensor(np.random.default_rng(0).normal(size=(1, 1, 3, 3)),
                   requires_grad=True)
        w = Tensor(np.random.default_rng(1).normal(size=(1, 1, 2, 2)))
        G = np.random.default_rng(2).normal(size=(1, 1, 2, 2))
        (F.conv2d(x, w) * G).sum().backward()
        stamped = F.conv_transpose2d(Tensor(G), w)
        print("x.grad:\\n", x.grad[0, 0].round(4))
        print("conv_transpose2d(G, w):\\n", stamped.data[0, 0].round(4))
    """)
    lesson.check("conv_transpose2d(G, w) minus the gradient of conv2d (largest)",
                 np.abs(v.stamped.data - v.x.grad).max(), 0.0, tol=1e-12)

    lesson.step("im2col and col2im: a convolution as one matrix product")
    lesson.say("""
        `im2col` cuts an image into its kernel-sized windows and lays each window out
        as a column. A 3×3 image has four 2×2 windows, so it becomes a 4×4 matrix;
        the convolution is then one matrix product, the kernel as a row times the
        columns. `col2im` puts columns back, *adding* where windows overlap:
        `col2im` of all-ones columns counts how many windows hold each pixel, by
        hand `[[1, 2, 1], [2, 4, 2], [1, 2, 1]]`.
    """)
    v = lesson.code("""
        grid = Tensor(np.arange(9.0).reshape(1, 1, 3, 3))
        columns = F.im2col(grid, kernel_size=2)          # (N, C·2·2, windows)
        print(columns.data[0])
        product = w.reshape(1, 4) @ columns              # (1, 1, 4) pixels
        counts = F.col2im(Tensor(np.ones((1, 4, 4))), (3, 3), kernel_size=2)
        print("windows per pixel:\\n", counts.data[0, 0])
    """)
    convolution = v.F.conv2d(v.grid, v.w).data.reshape(4)
    lesson.check("kernel row @ columns minus conv2d (largest difference)",
                 np.abs(v.product.data.reshape(4) - convolution).max(), 0.0, tol=1e-12)
    lesson.check("the centre pixel lies in all 4 windows", v.counts.data[0, 0, 1, 1], 4.0)

    lesson.step("Batch normalisation: training and evaluation")
    lesson.say("""
        **Batch norm** gives each feature mean 0 and variance 1 over the batch, then
        scales and shifts it by learned `γ`, `β`. By hand for the batch `(1, 2, 3)`:
        mean 2, variance `2/3`, so `(x − 2)/√(2/3) = (−1.2247, 0, 1.2247)`. It also
        keeps **running** statistics, `(1 − 0.1)·old + 0.1·batch`: the mean goes from
        0 to `0.2`, the variance (unbiased, 1 here) from 1 to `1`. After
        `model.eval()` it uses those instead, so an example's output no longer
        depends on the rest of its batch.
    """)
    v = lesson.code("""
        from chaingrad import nn

        norm = nn.BatchNorm1d(1)
        batch = Tensor([[1.0], [2.0], [3.0]])
        trained = norm(batch)
        print("training:", trained.data.ravel().round(4))
        print("running mean", norm.running_mean, " running var", norm.running_var)
        norm.eval()
        print("evaluation:", norm(batch).data.ravel().round(4))
    """)
    lesson.check("the last training output, (3 − 2)/√(2/3 + 1e-5)", v.trained.data[2, 0],
                 1 / np.sqrt(2 / 3 + 1e-5), tol=1e-12)
    lesson.check("running mean 0.9·0 + 0.1·2", v.norm.running_mean[0], 0.2, tol=1e-12)

    lesson.step("A convolutional autoencoder on the digits")
    lesson.say("""
        The encoder halves the 8×8 digit twice with stride-2 convolutions
        (8×8 → 4×4 → 2×2, with batch norm after the first) and maps the result to a
        **code of 8 numbers**. The decoder mirrors it: a dense layer back to 16
        maps of 2×2, then two stride-2 transposed convolutions (kernel 4, padding 1:
        `(2 − 1)·2 − 2 + 4 = 4`, then 8). The loss is the MSE between image and
        rebuild, `fit(X, X)`: the input is its own target.
    """)
    v = lesson.code("""
        from chaingrad.nn import data

        X_train, y_train = data.digits("train")
        X_test, y_test = data.digits("test")
        flat, flat_test = X_train.reshape(-1, 64), X_test.reshape(-1, 64)
        encoder = nn.Sequential(
            nn.Reshape(1, 8, 8), nn.Conv2d(1, 8, 3, stride=2, padding=1, seed=0),
            nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1, seed=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(64, 8, seed=2))
        decoder = nn.Sequential(
            nn.Linear(8, 64, seed=3), nn.ReLU(), nn.Reshape(16, 2, 2),
            nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1, seed=4), nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 4, stride=2, padding=1, seed=5),
            nn.Sigmoid(), nn.Flatten())
        autoencoder = nn.Sequential(encoder, decoder)
        autoencoder.compile(loss="mse", optimizer="adam", lr=0.01)
        for rounds in range(4):                        # 4 x 5 epochs
            history = autoencoder.fit(flat, flat, epochs=5, batch_size=32,
                                      verbose=0, seed=rounds)
            print(f"epoch {5 * rounds + 5}: loss {history.history['loss'][-1]:.4f}")
    """)

    lesson.step("How good is the rebuild?")
    lesson.say("""
        `predict` runs the model in evaluation mode, so batch norm uses its running
        statistics. Each test digit goes through 8 numbers and comes back; the
        baseline rebuilds every digit as the average training image.
    """)
    v = lesson.code("""
        rebuilt = autoencoder.predict(flat_test)           # evaluation mode
        error = float(np.mean((rebuilt - flat_test) ** 2))
        average = float(np.mean((flat.mean(axis=0) - flat_test) ** 2))
        print(f"test MSE: average image {average:.4f}   autoencoder {error:.4f}")
    """)
    lesson.check("autoencoder's test MSE over the average image's (at most ⅓)",
                 v.error / v.average, at_most=1 / 3)

    lesson.step("Rebuilds, and walking between two codes")
    lesson.say("""
        Top row: test digits; middle: their rebuilds from 8 numbers each. Bottom:
        the decoder fed codes on the straight line from the code of a test 0 to the
        code of a test 1, `(1 − t)·c₀ + t·c₁`: the images morph from one to the other.
    """)
    v = lesson.code("""
        from matplotlib.figure import Figure

        autoencoder.eval()
        codes = encoder(Tensor(flat_test)).data          # (359, 8)
        zero, one = np.flatnonzero(y_test == 0)[0], np.flatnonzero(y_test == 1)[0]
        t = np.linspace(0, 1, 8)[:, None]
        walk = decoder(Tensor((1 - t) * codes[zero] + t * codes[one])).data
        figure = Figure(figsize=(8, 3.2), layout="constrained")
        axes = figure.subplots(3, 8)
        rows = [flat_test[:8], rebuilt[:8], walk]
        for r, (images, name) in enumerate(zip(rows, ["digit", "rebuilt", "walk"])):
            for k in range(8):
                axes[r, k].imshow(images[k].reshape(8, 8), cmap="Greys",
                                  vmin=0, vmax=1)
                axes[r, k].set(xticks=[], yticks=[])
            axes[r, 0].set_ylabel(name)
        pictures = out / "17_autoencoder.png"
        figure.savefig(pictures, dpi=100)
    """)
    lesson.check("the walk starts at the 0's rebuild (largest difference)",
                 np.abs(v.walk[0] - v.rebuilt[v.zero]).max(), 0.0, tol=1e-9)
    lesson.file(v.pictures, "digits, rebuilds, and a walk between two codes")

    lesson.step("The same network in PyTorch")
    lesson.say("""
        When you outgrow chaingrad, `nn.to_torch` gives the same network as a
        `torch.nn.Sequential` with the same weights (Linear's `W` transposed to
        PyTorch's (out, in) layout; kernels, norms and their running statistics
        copied as they are). Its rebuilds match ours to the last digits. PyTorch is
        optional (`pip install torch`): without it the code below only says so.
    """)
    v = lesson.code("""
        import importlib.util
        has_torch = importlib.util.find_spec("torch") is not None
        if not has_torch:
            print("PyTorch is not installed here (pip install torch)")
        else:
            import torch
            twin = nn.to_torch(autoencoder)                # evaluation mode too
            with torch.no_grad():
                theirs = twin(torch.tensor(flat_test)).numpy()
            difference = float(np.abs(theirs - rebuilt).max())
            print("the decoder's first three layers, as torch.nn:", twin[1][:3])
    """)
    if v.has_torch:
        lesson.check("largest gap, PyTorch's rebuilds to ours (under 1e-9)",
                     v.difference, at_most=1e-9)
    lesson.say("""
        **What to remember:** a transposed convolution stamps the kernel and adds the
        overlaps, which is a convolution's backward pass; im2col turns a convolution
        into one matrix product and col2im is its transpose; batch norm uses batch
        statistics while training and running ones after `model.eval()`.
    """)
