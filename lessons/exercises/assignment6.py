"""Assignment 6: diffusion and reinforcement learning (lessons 18 and 19).

The closed-form jump of a diffusion model's forward process, and the REINFORCE gradient
of a softmax policy with a baseline, by hand (checked against chaingrad's backward).
"""

from __future__ import annotations

import numpy as np

from chaingrad.autograd import Tensor
from chaingrad.nn import functional as F

from .api import assignment, cases, close, exercise, expect_close, number

assignment(6, "Diffusion and reinforcement learning", intro="""
    Lesson 18 buries data in noise and learns to take it out again; lesson 19 learns
    from rewards with policy gradients. Here you write the formula at the heart of
    each, with numpy only.
""", imports="""
    import numpy as np
""")


def _noised(x0, alpha_bar_t, eps):
    return np.sqrt(alpha_bar_t) * x0 + np.sqrt(1 - alpha_bar_t) * eps


@exercise(points=1, readonly=True, stub='''
def noised(x0, alpha_bar_t, eps):
    """The forward process of a diffusion model in one jump, q(x_t | x_0):

        x_t = sqrt(alpha_bar_t) * x0 + sqrt(1 - alpha_bar_t) * eps

    x0 and eps are numpy arrays of the same shape (points, and noise drawn from N(0, I));
    alpha_bar_t is a number between 0 and 1, the product (1 - beta_1)...(1 - beta_t).
    Return x_t (a new array; leave x0 and eps as they are).
    Worked number: x0 = [1, 0], alpha_bar_t = 0.8, eps = [0.5, -1] give
    [sqrt(0.8) + 0.5 sqrt(0.2), -sqrt(0.2)] = [1.118, -0.4472].
    """
    raise NotImplementedError
''')
def noised(student):
    """The closed-form jump to step t"""
    public = [(np.array([1.0, 0.0]), 0.8, np.array([0.5, -1.0])),
              (np.array([[2.0, -1.0], [0.0, 3.0]]), 0.25, np.array([[1.0, 1.0], [-2.0, 0.5]]))]
    hidden = {"1,000 points with little noise left": lambda rng: (
                  rng.normal(size=(1000, 2)), float(rng.uniform(0.9, 0.999)),
                  rng.normal(size=(1000, 2))),
              "a point buried in noise": lambda rng: (
                  rng.normal(size=2), float(rng.uniform(0.001, 0.05)), rng.normal(size=2))}
    mistakes = [  # (what a typical mistake computes, what to say)
        (lambda x0, a, eps: a * x0 + (1 - a) * eps,
         "The factors are square roots: sqrt(alpha_bar_t) and sqrt(1 - alpha_bar_t), so "
         "that the variances, not the standard deviations, add up to 1."),
        (lambda x0, a, eps: np.sqrt(1 - a) * x0 + np.sqrt(a) * eps,
         "The roots are swapped: the data keeps sqrt(alpha_bar_t), the noise gets "
         "sqrt(1 - alpha_bar_t)."),
        (lambda x0, a, eps: np.sqrt(a) * x0 + (1 - a) * eps,
         "The noise's factor is sqrt(1 - alpha_bar_t), a standard deviation, not a variance."),
    ]
    for x0, a, eps in cases(public, hidden):
        got = student.noised(x0, a, eps)
        hint = next((said for wrong, said in mistakes if close(got, wrong(x0, a, eps))), None)
        expect_close(got, _noised(x0, a, eps),
                     f"your noised(x0 = {number(x0)}, alpha_bar_t = {number(a)}, "
                     f"eps = {number(eps)})",
                     "sqrt(alpha_bar_t)·x0 + sqrt(1 − alpha_bar_t)·eps", hint=hint)


def _finite(got):
    try:
        return bool(np.all(np.isfinite(np.asarray(got, dtype=float))))
    except (TypeError, ValueError):
        return True  # not numbers at all: expect_close says so


def _engine_gradient(theta, arm, reward, baseline):
    """The gradient of -(reward - baseline) log softmax(theta)[arm], by chaingrad's backward."""
    theta = Tensor(np.array(theta, dtype=float), requires_grad=True)
    loss = -(reward - baseline) * F.log_softmax(theta)[arm]
    loss.backward()
    return theta.grad


@exercise(points=2, readonly=True, by_hand=True, stub='''
def reinforce_gradient(theta, arm, reward, baseline):
    """REINFORCE for a softmax policy: the agent pulled `arm` with probability
    pi = softmax(theta) and got `reward`. The loss is

        loss = -(reward - baseline) * log pi[arm]

    Return d loss / d theta, a numpy array shaped like theta, worked out by hand (no
    backward): the gradient of log pi[arm] is e_arm - pi, where e_arm is 1 at `arm` and 0
    elsewhere, so  d loss / d theta = -(reward - baseline) * (e_arm - pi).
    Compute the softmax stably: subtract theta.max() before np.exp.
    Worked number: theta = [0, 0, 0], arm = 2, reward = 3.5, baseline = 2 give
    -1.5 * ([0, 0, 1] - [1/3, 1/3, 1/3]) = [0.5, 0.5, -1].
    """
    raise NotImplementedError
''')
def reinforce_gradient(student):
    """The REINFORCE gradient with a baseline"""
    public = [(np.zeros(3), 2, 3.5, 2.0), (np.zeros(3), 2, 3.5, 0.0),
              (np.array([1.0, -1.0, 0.5, 2.0]), 0, 1.0, 1.5)]
    hidden = {"ten arms and a worse-than-usual reward": lambda rng: (
                  rng.normal(size=10), int(rng.integers(10)), float(rng.uniform(-2, 0)),
                  float(rng.uniform(0.5, 2))),
              "large scores (a stable softmax)": lambda rng: (
                  rng.normal(size=4) + 800.0, int(rng.integers(4)), float(rng.normal()),
                  0.0)}
    for theta, arm, reward, baseline in cases(public, hidden):
        got = student.reinforce_gradient(theta, arm, reward, baseline)
        expected = _engine_gradient(theta, arm, reward, baseline)
        shifted = theta - theta.max()
        pi = np.exp(shifted) / np.exp(shifted).sum()
        one_hot = np.eye(len(theta))[arm]
        hint = None
        if close(got, -reward * (one_hot - pi)) and reward != 0 and baseline != 0:
            hint = "Subtract the baseline from the reward: -(reward - baseline)·(e_arm − pi)."
        elif close(got, -(reward - baseline) * one_hot):
            hint = ("log pi[arm] depends on every score through the softmax's sum: its "
                    "gradient is e_arm − pi, not e_arm.")
        elif not _finite(got):
            hint = ("Not a finite number: with large scores np.exp overflows; subtract "
                    "theta.max() from theta before np.exp (the softmax does not change).")
        elif close(got, (reward - baseline) * (one_hot - pi)):
            hint = ("That is the gradient of the expected reward (to climb); the loss is its "
                    "negative: -(reward - baseline)·(e_arm − pi).")
        expect_close(got, expected,
                     f"your reinforce_gradient(theta = {number(theta)}, arm = {arm}, "
                     f"reward = {number(reward)}, baseline = {number(baseline)})",
                     "−(reward − baseline)·(e_arm − softmax(theta))", hint=hint)
