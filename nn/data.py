"""Small data sets to learn from, all seeded, plus a shuffling batch iterator.

Every generator returns (X, y) numpy arrays: X float64 of shape (n, features), y of
shape (n,) — integer class labels for classification, floats for regression.
`load_digits` and `load_iris` read scikit-learn's bundled copies (no download).
"""
from __future__ import annotations

import numpy as np

from autograd.extras import MissingExtraError, install_hint

from .init import rng_from


def _check_n(n, who, minimum=1):
    if int(n) != n or n < minimum:
        raise ValueError(f"{who}: n must be an integer >= {minimum}, got {n!r}")
    return int(n)


def make_moons(n: int = 100, noise: float = 0.1, seed=0):
    """Two interleaving half circles (classes 0 and 1), like sklearn.datasets.make_moons."""
    n = _check_n(n, "make_moons", 2)
    rng = rng_from(seed)
    n_out, n_in = n // 2, n - n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], 1)])
    y = np.concatenate([np.zeros(n_out, int), np.ones(n_in, int)])
    order = rng.permutation(n)
    return X[order] + rng.normal(0, noise, X.shape), y[order]


def make_circles(n: int = 100, noise: float = 0.05, factor: float = 0.5, seed=0):
    """A small circle (class 1) inside a large one (class 0); `factor` is the radius ratio."""
    n = _check_n(n, "make_circles", 2)
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor must lie in (0, 1), got {factor}")
    rng = rng_from(seed)
    n_out, n_in = n // 2, n - n // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        factor * np.stack([np.cos(t_in), np.sin(t_in)], 1)])
    y = np.concatenate([np.zeros(n_out, int), np.ones(n_in, int)])
    order = rng.permutation(n)
    return X[order] + rng.normal(0, noise, X.shape), y[order]


def make_spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed=0):
    """`classes` interleaved spiral arms (the CS231n spiral), n points in total."""
    n = _check_n(n, "make_spirals", classes)
    rng = rng_from(seed)
    X, y = [], []
    for k, idx in enumerate(np.array_split(np.arange(n), classes)):
        r = np.linspace(0.0, 1.0, len(idx))
        t = np.linspace(k * 4.0, (k + 1) * 4.0, len(idx)) + rng.normal(0, noise, len(idx))
        X.append(np.stack([r * np.sin(t), r * np.cos(t)], 1))
        y.append(np.full(len(idx), k))
    order = rng.permutation(n)
    return np.concatenate(X)[order], np.concatenate(y)[order]


def make_xor(n: int = 4, noise: float = 0.0, seed=0):
    """XOR: inputs near the corners (0,0), (0,1), (1,0), (1,1); y = x0 xor x1.

    n = 4 with noise = 0 is the truth table; larger n cycles through the corners.
    """
    n = _check_n(n, "make_xor")
    rng = rng_from(seed)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    X = corners[np.arange(n) % 4]
    y = (X[:, 0] != X[:, 1]).astype(int)
    return X + rng.normal(0, noise, X.shape) if noise else X, y


def make_line(m: float = 2.0, b: float = 1.0, n: int = 50, noise: float = 0.1, seed=0):
    """Points on the noisy line y = m·x + b, x uniform in [-1, 1]; X has shape (n, 1)."""
    n = _check_n(n, "make_line")
    rng = rng_from(seed)
    x = rng.uniform(-1, 1, n)
    return x[:, None], m * x + b + rng.normal(0, noise, n)


def make_meals(n: int = 50, prices=(5.0, 2.5, 1.5), max_count: int = 5, noise: float = 0.0, seed=0):
    """Meals as counts of (burgers, fries, sodas) and their total price Σ count·price.

    A linear neuron with no activation learns the prices as its weights.
    """
    n = _check_n(n, "make_meals")
    prices = np.asarray(prices, dtype=float)
    if prices.shape != (3,):
        raise ValueError(f"make_meals: prices must be (burger, fries, soda), got {prices.size} values")
    rng = rng_from(seed)
    X = rng.integers(0, max_count + 1, size=(n, 3)).astype(float)
    return X, X @ prices + (rng.normal(0, noise, n) if noise else 0.0)


def train_test_split(X, y, test_fraction: float = 0.2, seed=0):
    """(X_train, X_test, y_train, y_test) after one seeded shuffle."""
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"train_test_split: X has {len(X)} rows but y has {len(y)}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"train_test_split: test_fraction must lie in (0, 1), got {test_fraction}")
    order = rng_from(seed).permutation(len(X))
    n_test = max(1, int(round(len(X) * test_fraction)))
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def batches(X, y, batch_size: int, shuffle: bool = True, seed=None, drop_last: bool = False):
    """Yield (X_batch, y_batch) covering the data once; a seeded shuffle if `shuffle`.

    Pass a numpy Generator as `seed` to get a new order on every epoch.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"batches: X has {len(X)} rows but y has {len(y)}")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batches: batch_size must be a positive integer, got {batch_size!r}")
    order = rng_from(seed).permutation(len(X)) if shuffle else np.arange(len(X))
    stop = len(X) - len(X) % batch_size if drop_last else len(X)
    for start in range(0, stop, int(batch_size)):
        idx = order[start:start + int(batch_size)]
        yield X[idx], y[idx]


def _sklearn_datasets(who: str):
    try:
        from sklearn import datasets
    except ImportError:
        raise MissingExtraError(f"{who} needs scikit-learn, which is not installed: "
                                f"{install_hint('datasets')}", name="sklearn") from None
    return datasets


def load_digits(scale: bool = True):
    """scikit-learn's 8x8 digits: X (1797, 64) in [0, 1] (pixels / 16 when `scale`), y in 0..9."""
    d = _sklearn_datasets("load_digits").load_digits()
    X = d.data.astype(np.float64)
    return (X / 16.0 if scale else X), d.target.astype(np.int64)


def load_iris():
    """scikit-learn's iris flowers: X (150, 4) in centimetres, y in 0..2."""
    d = _sklearn_datasets("load_iris").load_iris()
    return d.data.astype(np.float64), d.target.astype(np.int64)
