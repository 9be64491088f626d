"""Short training runs that must actually learn: moons, XOR, meal prices, a line, spirals."""
import numpy as np

import nn
from autograd import no_grad


def accuracy(scores, y):
    return np.mean((scores > 0) == (y > 0))


def test_micrograds_moons_demo_reaches_full_training_accuracy():
    X, y = nn.make_moons(100, noise=0.1, seed=0)
    signs = 2 * y - 1
    model = nn.MLP(2, [16, 16, 1], activation="relu", seed=0)
    opt = nn.SGD(model.parameters(), lr=1.0)
    schedule = nn.LambdaLR(opt, lambda k: 1.0 - 0.9 * k / 100)
    losses = []
    for _ in range(100):
        scores = model(X).reshape(-1)
        loss = nn.hinge(scores, signs) + nn.l2_penalty(model, 1e-4)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        losses.append(loss.item())
    with no_grad():
        final = model(X).data[:, 0]
    assert accuracy(final, signs) == 1.0
    assert losses[-1] < 0.1 * losses[0]


def test_example_mode_training_follows_the_batch_mode_trajectory():
    X, y = nn.make_moons(20, noise=0.1, seed=1)
    signs = 2 * y - 1
    runs = []
    for example_mode in (False, True):
        model = nn.MLP(2, [4, 1], activation="relu", seed=0)
        opt = nn.SGD(model.parameters(), lr=0.3)
        for _ in range(5):
            scores = [model(list(r)) for r in X] if example_mode else model(X).reshape(-1)
            loss = nn.hinge(scores, signs)
            opt.zero_grad()
            loss.backward()
            opt.step()
        runs.append(model.state_dict())
    for k in runs[0]:
        np.testing.assert_allclose(runs[1][k], runs[0][k], rtol=1e-6, atol=1e-9)


def test_xor_needs_a_hidden_layer_and_learns_with_one():
    X, y = nn.make_xor(4)
    model = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    opt = nn.Adam(model.parameters(), lr=0.1)
    for _ in range(300):
        loss = nn.binary_cross_entropy_with_logits(model(X).reshape(-1), y.astype(float))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    assert accuracy(model(X).data[:, 0], 2 * y - 1) == 1.0


def test_a_linear_neuron_learns_the_meal_prices():
    X, totals = nn.make_meals(40, prices=(5.0, 2.5, 1.5), seed=0)
    neuron = nn.Neuron(3, activation="linear", seed=0)
    opt = nn.SGD(neuron.parameters(), lr=0.02, momentum=0.9)
    for _ in range(400):
        loss = nn.mse(neuron(X), totals)
        opt.zero_grad()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(neuron.weight.data, [5.0, 2.5, 1.5], atol=0.02)
    assert abs(neuron.bias.data) < 0.05


def test_gradient_descent_fits_a_noisy_line():
    X, y = nn.make_line(m=2.0, b=-0.5, n=200, noise=0.05, seed=0)
    line = nn.Linear(1, 1, seed=0)
    opt = nn.SGD(line.parameters(), lr=0.5)
    schedule = nn.StepLR(opt, step_size=50, gamma=0.5)
    for _ in range(200):
        loss = nn.mse(line(X).reshape(-1), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    slope, intercept = np.polyfit(X[:, 0], y, 1)     # the least-squares answer
    np.testing.assert_allclose([line.weight.data[0, 0], line.bias.data[0]], [slope, intercept], atol=1e-3)


def test_spirals_with_cross_entropy_and_minibatches():
    X, y = nn.make_spirals(150, classes=3, noise=0.1, seed=0)
    model = nn.MLP(2, [32, 32, 3], activation="relu", seed=0)
    opt = nn.Adam(model.parameters(), lr=0.02)
    schedule = nn.CosineLR(opt, total_steps=60 * 5)
    order = np.random.default_rng(0)
    for _ in range(60):
        for xb, yb in nn.batches(X, y, 32, seed=order):
            loss = nn.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
    with no_grad():
        predicted = model(X).data.argmax(axis=1)
    assert np.mean(predicted == y) > 0.95
