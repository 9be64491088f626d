"""Data generators: shapes, labels, determinism; the batch iterator; the scikit-learn loaders."""
import builtins

import numpy as np
import pytest

import nn

CLASSIFIERS = [
    (nn.make_moons, {"n": 101}, 2),
    (nn.make_circles, {"n": 101}, 2),
    (nn.make_spirals, {"n": 99, "classes": 3}, 3),
    (nn.make_xor, {"n": 101, "noise": 0.1}, 2),
]


@pytest.mark.parametrize("make, kwargs, classes", CLASSIFIERS)
def test_classification_sets_have_shapes_labels_and_seeds(make, kwargs, classes):
    X, y = make(**kwargs, seed=0)
    n = kwargs["n"]
    assert X.shape == (n, 2) and X.dtype == np.float64 and y.shape == (n,)
    assert y.dtype.kind == "i" and set(np.unique(y)) == set(range(classes))
    assert abs(np.bincount(y).max() - np.bincount(y).min()) <= 1    # balanced
    X2, y2 = make(**kwargs, seed=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make(**kwargs, seed=1)
    assert not np.array_equal(X, X3)


def test_moons_without_noise_lie_on_two_half_circles():
    X, y = nn.make_moons(200, noise=0.0, seed=0)
    outer, inner = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*outer.T), 1.0)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1.0)
    assert np.all(outer[:, 1] >= -1e-12) and np.all(inner[:, 1] <= 0.5 + 1e-12)


def test_circles_radii_follow_the_factor():
    X, y = nn.make_circles(100, noise=0.0, factor=0.3, seed=0)
    np.testing.assert_allclose(np.hypot(*X[y == 0].T), 1.0)
    np.testing.assert_allclose(np.hypot(*X[y == 1].T), 0.3)
    with pytest.raises(ValueError, match="factor must lie in"):
        nn.make_circles(10, factor=1.5)


def test_xor_truth_table():
    X, y = nn.make_xor(4)
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])


def test_line_is_y_equals_m_x_plus_b_plus_noise():
    X, y = nn.make_line(m=3.0, b=-1.0, n=500, noise=0.0, seed=0)
    assert X.shape == (500, 1) and y.shape == (500,)
    np.testing.assert_allclose(y, 3.0 * X[:, 0] - 1.0)
    _, noisy = nn.make_line(m=3.0, b=-1.0, n=500, noise=0.2, seed=0)
    assert np.std(noisy - y) == pytest.approx(0.2, rel=0.15)
    slope, intercept = np.polyfit(X[:, 0], noisy, 1)
    assert slope == pytest.approx(3.0, abs=0.1) and intercept == pytest.approx(-1.0, abs=0.05)


def test_meals_are_counts_times_prices():
    X, y = nn.make_meals(30, prices=(4.0, 2.0, 1.0), seed=0)
    assert X.shape == (30, 3) and np.all(X == np.round(X)) and X.min() >= 0 and X.max() <= 5
    np.testing.assert_allclose(y, X @ [4.0, 2.0, 1.0])
    with pytest.raises(ValueError, match=r"prices must be \(burger, fries, soda\), got 2 values"):
        nn.make_meals(5, prices=(1.0, 2.0))


def test_generators_refuse_bad_sizes():
    with pytest.raises(ValueError, match=r"make_moons: n must be an integer >= 2, got 1"):
        nn.make_moons(1)
    with pytest.raises(ValueError, match=r"make_line: n must be an integer >= 1, got 2.5"):
        nn.make_line(n=2.5)


def test_batches_cover_the_data_once_in_a_seeded_order():
    X, y = np.arange(10.0)[:, None], np.arange(10)
    got = list(nn.batches(X, y, 4, seed=0))
    assert [len(b[1]) for b in got] == [4, 4, 2]
    seen = np.concatenate([b[1] for b in got])
    assert sorted(seen) == list(range(10)) and list(seen) != list(range(10))
    assert all(np.array_equal(xb[:, 0], yb) for xb, yb in got)    # rows stay paired
    again = np.concatenate([b[1] for b in nn.batches(X, y, 4, seed=0)])
    np.testing.assert_array_equal(seen, again)
    rng = np.random.default_rng(0)                                # a Generator: new order per epoch
    epoch1 = np.concatenate([b[1] for b in nn.batches(X, y, 4, seed=rng)])
    epoch2 = np.concatenate([b[1] for b in nn.batches(X, y, 4, seed=rng)])
    assert not np.array_equal(epoch1, epoch2)


def test_batches_without_shuffle_and_drop_last():
    X, y = np.zeros((10, 2)), np.arange(10)
    assert [list(b) for _, b in nn.batches(X, y, 4, shuffle=False, drop_last=True)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    with pytest.raises(ValueError, match="X has 10 rows but y has 9"):
        next(nn.batches(X, y[:9], 4))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        next(nn.batches(X, y, 0))


def test_train_test_split_partitions_the_rows():
    X, y = np.arange(20.0)[:, None], np.arange(20)
    Xtr, Xte, ytr, yte = nn.train_test_split(X, y, test_fraction=0.25, seed=0)
    assert len(yte) == 5 and len(ytr) == 15
    assert sorted(np.concatenate([ytr, yte])) == list(range(20))
    np.testing.assert_array_equal(Xtr[:, 0], ytr)


def test_scikit_learn_sets():
    pytest.importorskip("sklearn")
    X, y = nn.load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,) and X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    assert nn.load_digits(scale=False)[0].max() == 16.0
    X, y = nn.load_iris()
    assert X.shape == (150, 4) and set(np.unique(y)) == {0, 1, 2}


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ImportError, match=r"load_digits needs scikit-learn.*pip install 'tracegrad\[datasets\]'"):
        nn.load_digits()
    with pytest.raises(ImportError, match="load_iris needs scikit-learn"):
        nn.load_iris()
