"""Lesson 19: reinforcement learning with policy gradients. REINFORCE on a three-armed
bandit (its loss drawn as a graph, the baseline and the variance it removes, measured),
then a cart-pole written in numpy learns to balance, and its policy is drawn. Last, the
same softmax sampling in language models: temperature and top-k, by hand and on lesson
16's tiny transformer."""

import numpy as np

from chaingrad.lessons.runner import Lesson

TITLE = "Reinforcement learning: policy gradients from a bandit to a cart-pole"
MINUTES = 20


def run(lesson: Lesson) -> None:
    lesson.step("Learning from rewards: a three-armed bandit")
    lesson.say("""
        In **reinforcement learning** nobody gives the right answer: an agent
        acts, and the world answers with a **reward**. The smallest case is a
        **bandit**: three slot machines (arms); pulling arm `a` pays its mean
        `μ_a` plus noise. The means are `μ = (1, 2, 3)`, unknown to the agent.

        The agent's **policy** is a softmax over three numbers `θ`: it pulls arm
        `a` with probability `π(a) = softmax(θ)_a`. At `θ = 0` every arm has
        `1/3`, and the expected reward is `J = (1 + 2 + 3)/3 = 2`. Learning means
        changing `θ` so that `J` grows.
    """)
    v = lesson.code("""
        from collections.abc import Callable
        from typing import Any

        import numpy as np
        from chaingrad.autograd import Tensor
        from chaingrad.nn import functional as F

        means = np.array([1.0, 2.0, 3.0])

        def pull(arms: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            \"\"\"The bandit's answer: each arm's mean plus noise N(0, 1).\"\"\"
            rewards: np.ndarray = means[arms] + rng.normal(size=np.shape(arms))
            return rewards

        theta = Tensor(np.zeros(3), requires_grad=True, name="θ")
        policy = F.softmax(theta).numpy()
        print("π =", policy.round(4), "  J =", policy @ means)
    """)
    lesson.check("the expected reward at θ = 0, (1 + 2 + 3)/3", v.policy @ v.means, 2.0)

    lesson.step("The REINFORCE loss, drawn")
    lesson.say("""
        We cannot differentiate the slot machine, but we can differentiate the
        policy. **REINFORCE** (Williams, 1992): pull an arm, get a reward `r`, and
        make that arm more likely in proportion to `r`. As a loss to minimise:

        `loss = −r · log π(a)`.

        The gradient of `log π(a)` for a softmax is `e_a − π` (`e_a`: 1 at `a`, 0
        elsewhere). Say arm 2 was pulled and paid `r = 3.5`: by hand
        `∂loss/∂θ = −3.5·((0, 0, 1) − (⅓, ⅓, ⅓)) = (1.1667, 1.1667, −2.3333)`.
        Gradient descent lowers `θ_0`, `θ_1` and raises `θ_2`.
    """)
    v = lesson.code("""
        from chaingrad import viz

        arm, r = 2, Tensor(3.5, name="r")
        log_pi = F.log_softmax(theta)
        chosen = log_pi[arm]
        loss = -(r * chosen)
        log_pi.name, chosen.name, loss.name = "log π", "log π(a)", "loss"
        loss.backward()
        graph = viz.draw(loss, out / "19_reinforce_loss.svg", parameters=[theta])
        print("∂loss/∂θ =", theta.grad.round(4))
    """)
    lesson.check("∂loss/∂θ_2 = −3.5·(1 − ⅓)", v.theta.grad[2], -3.5 * 2 / 3, tol=1e-12)
    lesson.check("∂loss/∂θ_0 = −3.5·(0 − ⅓)", v.theta.grad[0], 3.5 / 3, tol=1e-12)
    lesson.file(v.graph, "the loss −r·log π(a) and every gradient")

    lesson.step("On average, the gradient of the expected reward")
    lesson.say("""
        One pull gives a noisy gradient. Its average over many pulls is the true
        gradient of `J = Σ π(a)·μ_a`, which for a softmax is
        `∂J/∂θ_k = π(k)·(μ_k − J)`: at `θ = 0`, `⅓·(1 − 2, 2 − 2, 3 − 2) =
        (−⅓, 0, ⅓)`. The estimate of that gradient from one pull is
        `r·(e_a − π)`, minus the loss's gradient. Average 20,000 of them:
    """)
    v = lesson.code("""
        rng = np.random.default_rng(0)
        arms = rng.choice(3, size=20000, p=policy)
        rewards = pull(arms, rng)
        directions = np.eye(3)[arms] - policy          # e_a − π, one row a pull
        estimates = rewards[:, None] * directions
        print("mean of 20,000 estimates:", estimates.mean(axis=0).round(3))
    """)
    lesson.check("the mean estimate for θ_2, near the true ⅓", v.estimates.mean(axis=0)[2],
                 1 / 3, tol=0.03)
    lesson.check("and for θ_0, near the true −⅓", v.estimates.mean(axis=0)[0], -1 / 3,
                 tol=0.03)

    lesson.step("A baseline: the same average, less noise")
    lesson.say("""
        Every reward here is positive, so every pull pushes its arm *up*; only the
        size of the push tells good arms from bad. Subtract a **baseline** `b`,
        the reward we expect anyway (`b = J = 2`), and use `(r − b)·(e_a − π)`:
        worse-than-usual pulls now push their arm *down*. The average does not
        change (`E[e_a − π] = 0`), but the noise does. By hand, summed over the
        three components: without a baseline the variance is `32/9 ≈ 3.556`, with
        it `8/9 ≈ 0.889`, four times less.
    """)
    v = lesson.code("""
        baseline = 2.0
        centred = (rewards - baseline)[:, None] * directions

        def variance(g: np.ndarray) -> float:
            \"\"\"The total variance of the estimates: summed over components.\"\"\"
            return float(g.var(axis=0).sum())

        print(f"variance without a baseline {variance(estimates):.3f},"
              f" with b = 2: {variance(centred):.3f}")
        print("mean with the baseline:", centred.mean(axis=0).round(3))
    """)
    lesson.check("the variance without a baseline, near 32/9", v.variance(v.estimates),
                 32 / 9, tol=0.1)
    lesson.check("with the baseline b = 2, near 8/9", v.variance(v.centred), 8 / 9, tol=0.05)
    lesson.check("the mean with the baseline for θ_2, still near ⅓",
                 v.centred.mean(axis=0)[2], 1 / 3, tol=0.03)

    lesson.step("Learning the bandit, with and without a baseline")
    lesson.say("""
        Now learn: 200 agents side by side (one row of `θ` each), 150 pulls each,
        one gradient step after every pull. Each agent's baseline is the average
        reward it has seen so far. We follow how likely the agents are, on
        average, to pull the best arm, 2.
    """)
    v = lesson.code("""
        from chaingrad import nn

        def learn(use_baseline: bool, pulls: int = 150, agents: int = 200,
                  seed: int = 1) -> np.ndarray:
            rng = np.random.default_rng(seed)
            theta = Tensor(np.zeros((agents, 3)), requires_grad=True)
            optimizer = nn.optim.SGD([theta], lr=0.2)
            seen, best = np.zeros(agents), []
            for k in range(1, pulls + 1):
                pi = F.softmax(theta, axis=1).numpy()
                arms = (rng.uniform(size=(agents, 1)) > pi.cumsum(1)).sum(1)
                r = pull(arms, rng)
                b = seen if use_baseline else 0.0
                log_pi = F.log_softmax(theta, axis=1)[np.arange(agents), arms]
                loss = -((r - b) * log_pi).sum()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                seen = seen + (r - seen) / k        # the running average
                best.append(pi[:, 2])
            return np.array(best)                   # (pulls, agents)

        with_b, without_b = learn(True), learn(False)
        print(f"mean π(best arm) after 150 pulls: with a baseline "
              f"{with_b[-1].mean():.3f}, without {without_b[-1].mean():.3f}")
    """)
    lesson.check("mean π(best arm) after 150 pulls, with a baseline: over 0.95",
                 v.with_b[-1].mean(), 1.0, tol=0.05)

    lesson.step("Agents that lock onto the wrong arm")
    lesson.say("""
        Without a baseline every pull is rewarded, so an agent that happens to
        pull arm 1 often makes it ever more likely, and may never try arm 2
        enough to find out. Count the agents that end with `π(best) < ½`.
    """)
    v = lesson.code("""
        from matplotlib.figure import Figure

        stuck = [int((run[-1] < 0.5).sum()) for run in (with_b, without_b)]
        print(f"stuck agents: with a baseline {stuck[0]}, without {stuck[1]}")
        figure = Figure(figsize=(6, 3.2), layout="constrained")
        axes = figure.add_subplot()
        axes.plot(with_b.mean(axis=1), label="with a baseline")
        axes.plot(without_b.mean(axis=1), label="without")
        axes.set(xlabel="pull", ylabel="mean π(best arm)", ylim=(0, 1),
                 title="200 agents learning a three-armed bandit")
        axes.legend()
        bandit = out / "19_bandit.svg"
        figure.savefig(bandit)
    """)
    lesson.check("agents stuck with the baseline", v.stuck[0], 0)
    lesson.check("agents stuck without it: between 5 and 100 of 200", v.stuck[1], 52.5,
                 tol=47.5)
    lesson.file(v.bandit, "the share of pulls going to the best arm, pull by pull")

    lesson.step("A control task: balancing a pole, in numpy")
    lesson.say("""
        Now a task where actions have consequences later: the **cart-pole**
        (Barto, Sutton and Anderson, 1983). A pole stands on a cart; every 0.02 s
        the agent pushes the cart left or right with 10 N. The state is four
        numbers: the cart's position `x` and speed `v`, the pole's angle `θ` from
        upright (radians, positive leaning right) and its angular speed `ω`. The
        episode ends when `|θ| > 12°` or the cart leaves the track, `|x| > 2.4`.
        The physics, written out (cart 1 kg, pole 0.1 kg, half-length 0.5 m):
    """)
    v = lesson.code("""
        def physics(state: np.ndarray, push: np.ndarray) -> np.ndarray:
            \"\"\"One 0.02 s step of the cart-pole; push is +1 (right) or -1.\"\"\"
            x, v, theta, omega = state.T
            sin, cos = np.sin(theta), np.cos(theta)
            f = (10.0 * push + 0.05 * omega ** 2 * sin) / 1.1
            spin = (9.8 * sin - cos * f) / (0.5 * (4 / 3 - 0.1 * cos ** 2 / 1.1))
            accel = f - 0.05 * spin * cos / 1.1
            return np.stack([x + 0.02 * v, v + 0.02 * accel,
                             theta + 0.02 * omega, omega + 0.02 * spin], axis=1)

        def fallen(state: np.ndarray) -> np.ndarray:
            fell: np.ndarray = ((np.abs(state[:, 0]) > 2.4)
                                | (np.abs(state[:, 2]) > 0.2094))
            return fell

        after = physics(np.zeros((1, 4)), np.array([1.0]))
        print("one push right from rest:", after.round(4))
    """)
    lesson.say("""
        By hand, from rest: `f = 10/1.1 = 9.09`, and the pole's angular
        acceleration `−9.09 / (0.5·(4/3 − 0.1/1.1)) = −14.63`: pushing the cart
        right tips the pole left, `ω = 0.02·(−14.63) = −0.2927` after one step.
    """)
    lesson.check("ω after one push right, 0.02·(−14.63)", v.after[0, 3], -0.29268, tol=1e-4)

    lesson.step("Episodes, and the return that follows each push")
    lesson.say("""
        The reward is 1 for every step the pole stays up, so an episode's total
        reward is its length (at most 200 steps here, 4 seconds). `episodes` runs
        many at once and records, for each step, the state, the push and whether
        the episode was still going. A push cannot change the past, so it is
        credited with the **return that follows it**: the number of steps the
        episode still lasted (the "reward to go"). Pushing at random, the pole
        falls after about 20 steps.
    """)
    v = lesson.code("""
        def episodes(p_right: Callable[[np.ndarray], Any], n: int,
                     rng: np.random.Generator, steps: int = 200
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            \"\"\"n episodes at once; p_right(states) gives P(push right).\"\"\"
            state, alive = rng.uniform(-0.05, 0.05, (n, 4)), np.ones(n, bool)
            states, pushes, alives = [], [], []
            for _ in range(steps):
                push = np.where(rng.uniform(size=n) < p_right(state), 1.0, -1.0)
                states.append(state)
                pushes.append(push)
                alives.append(alive)
                state = physics(state, push)
                alive = alive & ~fallen(state)
            return np.array(states), np.array(pushes), np.array(alives, float)

        def returns(alive: np.ndarray) -> np.ndarray:
            to_go: np.ndarray = alive[::-1].cumsum(axis=0)[::-1] * alive
            return to_go                               # steps still to go

        rng = np.random.default_rng(2)
        states, pushes, alive = episodes(lambda s: 0.5, 1000, rng)
        lengths = alive.sum(axis=0)
        print(f"random pushes: mean length {lengths.mean():.1f} steps")
    """)
    lesson.check("the mean length of 1,000 random episodes: 15 to 30 steps",
                 v.lengths.mean(), 22.5, tol=7.5)
    lesson.check("the return after the first push: the whole episode (first one)",
                 v.returns(v.alive)[0, 0], v.lengths[0])

    lesson.step("The policy and its loss")
    lesson.say("""
        The policy is one logistic unit: `P(right) = σ(w·s + c)` for the state `s`.
        Since `1 − σ(z) = σ(−z)`, the log-probability of the push `a = ±1` that was
        made is `log σ(a·z)`. The REINFORCE loss adds `−(G_t − b_t)·log π(a_t)`
        over every step of every episode, with the return `G_t` that followed and
        a baseline `b_t`: the mean return at step `t` over the batch. At
        `w = 0, c = 0` every push has probability ½: `log π = −log 2 = −0.6931`.
    """)
    v = lesson.code("""
        w = Tensor(np.zeros(4), requires_grad=True, name="w")
        c = Tensor(np.zeros(1), requires_grad=True, name="c")

        def p_right(states: np.ndarray) -> np.ndarray:
            p: np.ndarray = 1 / (1 + np.exp(-(states @ w.numpy() + c.numpy())))
            return p

        def reinforce_loss(states: np.ndarray, pushes: np.ndarray,
                           alive: np.ndarray) -> Tensor:
            z = Tensor(states) @ w + c                   # (steps, episodes)
            log_pi = (Tensor(pushes) * z).sigmoid().log()
            G = returns(alive)
            advantage = (G - G.mean(axis=1, keepdims=True)) * alive
            return -(Tensor(advantage) * log_pi).sum() / alive.size

        loss = reinforce_loss(states, pushes, alive)     # the random episodes
        loss.backward()
        print("∂loss/∂w =", w.grad.round(4), "  ∂loss/∂c =", c.grad.round(4))
    """)
    lesson.say("""
        Even from random play the gradient knows something. Its largest part is
        negative, for the pole's angular speed `ω` (fourth number); `θ`'s (third)
        is negative too. A descent step makes both weights positive: **push the
        way the pole is falling**, as you would balance a broom on your hand.
    """)
    lesson.check("∂loss/∂w_ω, the largest part: negative", v.w.grad[3], -0.5, tol=0.5)

    lesson.step("Training the cart-pole")
    lesson.say("""
        Each round: play 20 episodes with the current policy, compute the loss,
        one step of Adam. 100 rounds, 2,000 episodes in all.
    """)
    v = lesson.code("""
        optimizer = nn.optim.Adam([w, c], lr=0.05)
        rng, curve = np.random.default_rng(3), []
        for k in range(1, 101):
            states, pushes, alive = episodes(p_right, 20, rng)
            loss = reinforce_loss(states, pushes, alive)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            curve.append(alive.sum(axis=0).mean())
            if k % 20 == 0:
                print(f"round {k}: mean length {curve[-1]:5.1f}")
        print("w =", w.numpy().round(2), "  c =", c.numpy().round(2))
    """)
    lesson.check("the mean length in the last round: over 150 of 200 steps", v.curve[-1],
                 200.0, tol=50.0)

    lesson.step("The learned policy, drawn")
    lesson.say("""
        The learning curve; the policy, `P(push right)` over the pole's angle and
        angular speed (cart at rest), with one of 100 fresh episodes in black;
        the pole's angle in that episode and in a random one.
    """)
    v = lesson.code("""
        angles, speeds = np.linspace(-0.21, 0.21, 61), np.linspace(-2, 2, 61)
        A, S = np.meshgrid(angles, speeds)
        grid = np.stack([0 * A, 0 * A, A, S], axis=-1).reshape(-1, 4)
        rng = np.random.default_rng(4)
        test_states, _, test_alive = episodes(p_right, 100, rng)
        shaky, _, shaky_alive = episodes(lambda s: 0.5, 1, rng)
        figure = Figure(figsize=(11, 3.3), layout="constrained")
        left, middle, right = figure.subplots(1, 3)
        left.plot(range(1, 101), curve)
        left.set(xlabel="round", ylabel="mean episode length", ylim=(0, 205),
                 title="learning curve")
        shade = middle.pcolormesh(A, S, p_right(grid).reshape(A.shape),
                                  cmap="coolwarm", vmin=0, vmax=1)
        figure.colorbar(shade, ax=middle, label="P(push right)")
        middle.plot(test_states[:, 0, 2], test_states[:, 0, 3], color="black")
        middle.set(xlabel="angle θ (rad)", ylabel="angular speed ω (rad/s)",
                   title="the policy, and one episode")
        steps = test_alive[:, 0] > 0
        right.plot(test_states[steps, 0, 2], label="learned policy")
        right.plot(shaky[shaky_alive[:, 0] > 0, 0, 2], label="random pushes")
        right.set(xlabel="step", ylabel="angle θ (rad)", ylim=(-0.22, 0.22),
                  title="the pole's angle")
        right.legend(fontsize=8)
        policy_picture = out / "19_policy.png"
        figure.savefig(policy_picture, dpi=80)
    """)
    lesson.check("the mean length of 100 fresh episodes: over 150 of 200",
                 v.test_alive.sum(axis=0).mean(), 200.0, tol=50.0)
    lesson.check("P(push right) when the pole leans right by 0.1 rad: over ½",
                 float(v.p_right(np.array([[0.0, 0.0, 0.1, 0.0]]))[0]), 0.75, tol=0.25)
    lesson.file(v.policy_picture, "learning curve, the policy over (θ, ω), the angle")

    lesson.step("The same softmax in language models: temperature and top-k")
    lesson.say("""
        A language model is a policy too: its "action" is the next token, drawn
        from a softmax over scores (lesson 16's `model.generate`). Two knobs shape
        that draw. **Temperature** `T` divides the scores first: `T < 1` sharpens
        the distribution, `T > 1` flattens it. **Top-k** keeps only the `k`
        likeliest tokens and renormalises. By hand, for the scores `(2, 1, 0, −1)`:
        at `T = 1` the first gets `e²/(e² + e + 1 + e⁻¹) = 0.644`; at `T = ½`
        (scores `4, 2, 0, −2`) `0.865`; with top-2, `e²/(e² + e) = 0.731`.
    """)
    v = lesson.code("""
        def next_token_probabilities(scores: np.ndarray | list[float],
                                     temperature: float = 1.0,
                                     top_k: int | None = None) -> np.ndarray:
            scores = np.asarray(scores, float) / temperature
            if top_k is not None:                  # drop all but the k best
                cut = np.sort(scores)[-top_k]
                scores = np.where(scores >= cut, scores, -np.inf)
            p = np.exp(scores - scores.max())
            probabilities: np.ndarray = p / p.sum()
            return probabilities

        scores = [2.0, 1.0, 0.0, -1.0]
        choices: dict[str, dict[str, Any]] = {
            "T = 1": {}, "T = 0.5": {"temperature": 0.5},
            "T = 2": {"temperature": 2.0}, "top-2": {"top_k": 2}}
        figure = Figure(figsize=(10, 2.4), layout="constrained")
        for axis, (name, knobs) in zip(figure.subplots(1, 4), choices.items()):
            p = next_token_probabilities(scores, **knobs)
            axis.bar(list("abcd"), p, color="tab:purple")
            axis.set(ylim=(0, 1), title=f"{name}: {p[0]:.3f} for 'a'")
        sampling = out / "19_temperature.svg"
        figure.savefig(sampling)
    """)
    lesson.check("T = 1: e²/(e² + e + 1 + e⁻¹)", v.next_token_probabilities(v.scores)[0],
                 np.exp(2) / (np.exp(2) + np.e + 1 + np.exp(-1)), tol=1e-12)
    lesson.check("T = ½: e⁴/(e⁴ + e² + 1 + e⁻²)",
                 v.next_token_probabilities(v.scores, 0.5)[0],
                 np.exp(4) / (np.exp(4) + np.exp(2) + 1 + np.exp(-2)), tol=1e-12)
    lesson.check("top-2: e²/(e² + e)", v.next_token_probabilities(v.scores, top_k=2)[0],
                 np.exp(2) / (np.exp(2) + np.e), tol=1e-12)
    lesson.file(v.sampling, "the next-token distribution under each knob")

    lesson.step("A language model to sample from")
    lesson.say("""
        Now on a real model: lesson 16's transformer, trained again to reverse five
        letters (`cabhd=dhbac`): 200 captured steps of Adam, on one BLAS thread.
    """)
    v = lesson.code("""
        from chaingrad.nn.compare import blas_threads
        from chaingrad import Tensor, capture, no_grad
        from chaingrad.nn.attention import TransformerLM

        letters, n, rng = "abcdefgh=", 5, np.random.default_rng(6)

        def examples(count: int) -> tuple[np.ndarray, np.ndarray]:
            left = rng.integers(0, 8, (count, n))
            text = np.concatenate([left, np.full((count, 1), 8), left[:, ::-1]], 1)
            return text[:, :-1], text[:, 1:]              # next-letter targets

        model = TransformerLM(vocab_size=9, context=2 * n, dim=32, num_heads=2,
                              num_layers=2, seed=0)
        optimizer = nn.optim.Adam(model.parameters(), lr=0.003)

        def answer_loss(inputs: np.ndarray, answers: np.ndarray) -> Tensor:
            scores = model(inputs)[:, n:].reshape(-1, 9)
            return F.cross_entropy(scores, answers)

        with blas_threads(1):
            for step in range(200):
                inputs, targets = examples(64)
                answers = targets[:, n:].reshape(-1)
                if step == 0:                       # recorded once, then replayed
                    train_step = capture(answer_loss, inputs, answers)
                optimizer.zero_grad()
                loss = train_step(inputs, answers)
                optimizer.step()
        print(f"loss after 200 steps: {loss.item():.4f}")
    """)
    lesson.check("the loss after 200 steps: below 0.05 (ln 8 = 2.08 at first)",
                 v.loss.item(), 0.0, tol=0.05)

    lesson.step("Temperature and top-k on a real model")
    lesson.say("""
        Reversing has one right answer, so any draw but the likeliest letter is a
        mistake. Write the answers to 200 new strings letter by letter, each drawn
        from `next_token_probabilities` of the model's scores, and count the
        strings reversed exactly. Top-1 (the likeliest letter) is **greedy**.
    """)
    v = lesson.code("""
        def write(left: np.ndarray, rng: np.random.Generator,
                  **knobs: Any) -> float:
            \"\"\"Reverse each row of left, drawing one letter at a time.\"\"\"
            tokens = np.concatenate([left, np.full((len(left), 1), 8)], axis=1)
            for _ in range(n):
                with no_grad():
                    scores = model(tokens).numpy()[:, -1]
                drawn = [rng.choice(9, p=next_token_probabilities(s, **knobs))
                         for s in scores]
                tokens = np.concatenate([tokens, np.array(drawn)[:, None]], 1)
            return float(np.all(tokens[:, n + 1:] == left[:, ::-1], axis=1).mean())

        left = np.random.default_rng(7).integers(0, 8, (200, n))
        settings = {"top-1": {"top_k": 1}, "T = 1": {}, "T = 3": {"temperature": 3},
                    "T = 3, top-2": {"temperature": 3, "top_k": 2}}
        right = {name: write(left, np.random.default_rng(8), **knobs)
                 for name, knobs in settings.items()}
        print("  ".join(f"{name}: {share:.0%}" for name, share in right.items()))
        figure = Figure(figsize=(6, 2.8), layout="constrained")
        axes = figure.add_subplot(title="% of the strings reversed exactly")
        axes.bar(list(right), [100 * s for s in right.values()])
        decoding = out / "19_decoding.svg"
        figure.savefig(decoding)
    """)
    lesson.check("greedy (top-1): over 95% of the strings right", v.right["top-1"], 1.0,
                 tol=0.05)
    lesson.check("greedy's share minus T = 3's: T = 3 errs more",
                 v.right["top-1"] - v.right["T = 3"], 0.5, tol=0.45)
    lesson.check("the share of that gap top-2 wins back: over half",
                 (v.right["T = 3, top-2"] - v.right["T = 3"])
                 / (v.right["top-1"] - v.right["T = 3"]), 0.75, tol=0.25)
    lesson.file(v.decoding, "the share of strings reversed, for each way of drawing")

    lesson.step("What to remember")
    lesson.say("""
        **What to remember:** a policy gradient makes actions more likely in
        proportion to the return that followed them: the loss `−G·log π(a)` has
        that gradient, on average the gradient of the expected reward. A
        baseline subtracted from `G` keeps the average and removes noise; with
        rewards that are always positive it also stops agents from locking onto
        the first arm they liked. The cart-pole learned to balance from nothing
        but 1 point per step, in 2,000 episodes. A language model draws its next
        token from a softmax too: temperature and top-k trade accuracy for variety.
    """)
    lesson.say("""
        **Practise it:** homework exercise 6.2 `reinforce_gradient` (the gradient
        of the loss with a baseline, by hand; `chaingrad exercises start 6` writes
        assignment 6).
    """)
