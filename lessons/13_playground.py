"""Lesson 13: the playground, and three experiments from the course to try in it."""

import webbrowser

from chaingrad.lessons.runner import Lesson

TITLE = "The playground: XOR, the spiral and L2, in the browser"
MINUTES = 25


def run(lesson: Lesson) -> None:
    lesson.step("Open the playground")
    lesson.say("""
        The course sends you to *TensorFlow Playground*. chaingrad has its own, and it
        trains on the engine you have been reading: every network in it is an `nn.MLP`
        stepped by `nn.optim.SGD` on half the mean squared error, as TensorFlow
        Playground shows it (labels are −1 and +1, the output neuron is a tanh).
        In a notebook it appears below the cell and trains in the notebook's kernel;
        from a terminal, `chaingrad playground` opens it in the browser. Besides what
        TensorFlow Playground shows (the data, the features, each neuron's heat map,
        the weights as lines, the loss curve and the output surface), a click on any
        point shows **its computational graph**: every value, every gradient of its
        squared error and the chain rule on every edge, updated while it trains.
        *Step backward* walks the backward pass node by node, *Show code* gives the
        script that reproduces your set-up.
    """)
    v = lesson.code("""
        from chaingrad.lessons.playground import in_notebook, serve, widget

        if in_notebook():  # the page below, talking to this notebook's kernel
            from IPython.display import display
            playground = widget()
            display(playground)
            page = playground.html
        else:  # a terminal: the page at a local address, for the browser
            import urllib.request
            playground = serve(port=0)
            print("The playground is at", playground.url)
            page = urllib.request.urlopen(playground.url).read().decode()
    """)
    if not lesson.auto:  # a person at the terminal (not --auto, not a notebook)
        webbrowser.open(v.playground.url)
    lesson.at_end(v.playground.stop)
    lesson.check("Play buttons on the page",
                 v.page.count('<button id="play" type="button">Play'), 1)
    lesson.say("""
        The experiments below run the playground's training without the page, so this
        lesson can check their results; then try each in the playground, where you see
        *why* from the heat maps. Its steps are captured and replayed (lesson 10).
    """)

    lesson.step("Experiment 1: XOR needs a hidden layer, or the feature x1·x2")
    lesson.say("""
        Choose the **XOR** data set. With no hidden layer the output is
        `tanh(w₁x₁ + w₂x₂ + b)`: its boundary is a straight line, and no line separates
        the four quadrants (lesson 6 proved it). Two ways out:

        * keep no hidden layer but give the network the product **x1·x2** as an input:
          its sign *is* the label, so one neuron suffices;
        * or keep x1 and x2 and add **one hidden layer** of 4 neurons, which learns
          such features itself.

        In the page: XOR, remove every hidden layer (− layer), press Play and watch the
        test loss stay near 0.5, the loss of always guessing 0 (the playground's loss
        is TensorFlow Playground's ½·(ŷ − y)²); tick x1·x2; then untick it, add a
        layer of 4 ReLU neurons.
    """)
    v = lesson.code("""
        from typing import Any
        from chaingrad.lessons.playground import Session, Setup

        def test_loss(epochs: int, **settings: Any) -> float:
            session = Session(Setup(**settings))
            for _ in range(epochs):
                session.train_epoch()
            return session.test_loss

        no_hidden = test_loss(100, dataset="xor", hidden=[])
        product = test_loss(100, dataset="xor", hidden=[],
                            features=["x1", "x2", "x1·x2"])
        hidden = test_loss(100, dataset="xor", hidden=[4], activation="relu")
        print(f"XOR, test loss after 100 epochs: no hidden layer {no_hidden:.3f}")
        print(f"with x1·x2 {product:.3f}, with 4 hidden ReLU {hidden:.3f}")
    """)
    lesson.check("no hidden layer: near guessing 0's 0.5 (above 0.45)", v.no_hidden,
                 at_least=0.45)
    lesson.check("the feature x1·x2, no hidden layer: solved (below 0.1)", v.product,
                 at_most=0.1)
    lesson.check("a hidden layer of 4: solved too (below 0.1)", v.hidden, at_most=0.1)

    lesson.step("Experiment 2: the spiral needs depth")
    lesson.say("""
        Choose the **spiral**. One hidden layer of 8 tanh neurons, fed with x1 and x2
        only, bends its boundary too little to follow two interleaved arms; three such
        layers compose bends on bends. In the page, compare 1 and 3 hidden layers of 8
        neurons for a few hundred epochs each, and look at the neuron maps of the third
        layer: curved shapes no single layer draws. (The sin features make it easier:
        try them afterwards.)
    """)
    v = lesson.code("""
        shallow = test_loss(200, dataset="spiral", hidden=[8])
        deep = test_loss(200, dataset="spiral", hidden=[8, 8, 8])
        print(f"spiral, test loss after 200 epochs: 1 layer {shallow:.3f}, "
              f"3 layers {deep:.3f}")
    """)
    lesson.check("test loss of 3 layers over 1 layer's (below 1: better)",
                 v.deep / v.shallow, at_most=1.0)

    lesson.step("Experiment 3: L2 against overfitting on noisy data")
    lesson.say("""
        Choose **circle**, noise 40, training share 10% (50 points, several on the
        wrong side), every feature ticked, two hidden layers of 8, batch size 5,
        learning rate 0.03. The network has far more weights than there are points, and it bends
        around the noise: the training loss falls far below the test loss. L2 adds
        `λ Σ w²` to the loss, so every step also shrinks each weight by `2λη·w`:
        smaller weights, a smoother surface, a smaller gap. Compare regularization
        None with L2 at rate 0.03.
    """)
    v = lesson.code("""
        noisy: dict[str, Any] = dict(
            dataset="circle", noise=0.4, train_share=0.1,
            batch_size=5, learning_rate=0.03, hidden=[8, 8],
            features=["x1", "x2", "x1²", "x2²", "x1·x2", "sin x1", "sin x2"])
        plain = test_loss(150, **noisy)
        with_l2 = test_loss(150, **noisy, regularization="L2",
                            regularization_rate=0.03)
        print(f"noisy circle, test loss after 150 epochs: "
              f"none {plain:.3f}, L2 {with_l2:.3f}")
    """)
    lesson.check("test loss with L2 over without (below 1: L2 helps)",
                 v.with_l2 / v.plain, at_most=1.0)

    lesson.step("Experiment 3, drawn: the test loss rises")
    lesson.say("""
        The page draws the training and the test loss epoch by epoch. Here are the
        same curves for the run without regularization: `session.curve` holds
        `(epoch, training loss, test loss)` after every epoch; `held_out="test"`
        labels the second curve as test data, on which nothing is chosen.
    """)
    v = lesson.code("""
        from chaingrad.viz.plots import plot_history

        session = Session(Setup(**noisy))
        for _ in range(150):
            session.train_epoch()
        _, training, test = zip(*session.curve[1:])
        curves = plot_history({"loss": training, "val_loss": test},
                              out / "13_overfitting.svg", held_out="test",
                              title="noisy circle, no regularization")
        print(f"test loss: lowest {min(test):.3f} (epoch "
              f"{test.index(min(test)) + 1}), after 150 epochs {test[-1]:.3f}")
        print(f"training loss after 150 epochs: {training[-1]:.4f}")
    """)
    lesson.file(v.curves, "training (solid) and test (dashed) loss")
    lesson.check("the same set-up and seed give the test loss above", v.test[-1], v.plain,
                 tol=1e-12)
    lesson.say("""
        The test loss falls for a while, then slowly **rises** while the training
        loss keeps falling towards 0: the network learns the noise of its 50 points.
        That rising test curve is what lesson 9 calls overfitting. In the page, switch on
        L2 and watch the test curve stay down.
    """)
    lesson.check("final test loss over its lowest (a rise: above 1.2)",
                 v.test[-1] / min(v.test), at_least=1.2)
    lesson.say("**Practise it:** homework exercises 2.6 `train` (XOR, then moons) and 3.1 `perceptron_step` (`chaingrad exercises start N` writes assignment N).")
