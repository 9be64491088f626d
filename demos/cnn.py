"""A small CNN on the 8x8 digits: filters, feature maps, confusion matrix, and backprop through conv layers."""
from __future__ import annotations

import contextlib
import pathlib

import numpy as np

import nn
from autograd import Value
from autograd.mode import no_grad

from . import _plot
from .digits import plot_training

EPOCHS = 12


def build_model(seed: int = 0) -> nn.Sequential:
    """Two conv blocks (conv 3×3, batch norm, ReLU, 2×2 max pool: 8×8 → 4×4 → 2×2), then a linear layer."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, seed=seed), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, seed=seed + 1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10, seed=seed + 2))


BLOCKS = (4, 8)  # the model's first 4 modules are block 1, the next 4 block 2


def one_blas_thread():
    """numpy's BLAS on one thread: these matrices are small, and on a busy machine waking more
    threads per product costs more than it saves (measured: 5-10× slower training under load)."""
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1)


def load(seed: int = 0):
    """The digits as (N, 1, 8, 8) images in [0, 1], split 80/20 (the same split as the MLP demo)."""
    X, y = nn.load_digits()
    X = X.reshape(-1, 1, 8, 8)
    return nn.train_test_split(X, y, test_fraction=0.2, seed=seed)


def predict(model, X) -> np.ndarray:
    model.eval()
    with no_grad():
        return model(X).numpy().argmax(axis=1)


def compute(epochs: int = EPOCHS, batch_size: int = 64, lr: float = 3e-3, seed: int = 0, progress=None) -> dict:
    """Train build_model() with cross-entropy and Adam on 80% of the digits; test on the rest."""
    X_train, X_test, y_train, y_test = load(seed)
    model = build_model(seed)
    opt = nn.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    losses, test_accuracy = [], []
    with one_blas_thread():
        for _ in (progress or iter)(range(epochs)):
            model.train()
            for xb, yb in nn.batches(X_train, y_train, batch_size, seed=rng):
                loss = nn.cross_entropy(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
            test_accuracy.append(float(np.mean(predict(model, X_test) == y_test)))
        predicted = predict(model, X_test)
        train_accuracy = float(np.mean(predict(model, X_train) == y_train))
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y_test, predicted), 1)
    return {"model": model, "loss": np.array(losses), "test_accuracy": np.array(test_accuracy),
            "accuracy": float(np.mean(predicted == y_test)), "train_accuracy": train_accuracy,
            "confusion": confusion, "X_test": X_test, "y_test": y_test, "predicted": predicted}


def feature_maps(model, image) -> list[np.ndarray]:
    """[input (1, 8, 8), after block 1 (16, 4, 4), after block 2 (32, 2, 2)] for one image, in eval mode."""
    model.eval()
    maps, x = [image], image[None]
    with no_grad():
        start = 0
        for stop in BLOCKS:
            for m in model[start:stop]:
                x = m(x)
            maps.append(x.numpy()[0])
            start = stop
    return maps


def least_sure_digit(model, X, y) -> int:
    """The index of the correctly classified test digit with the highest loss: its gradients are not ~0."""
    model.eval()
    with no_grad():
        logits = model(X).numpy()
    z = logits - logits.max(axis=1, keepdims=True)
    loss = np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]
    loss[logits.argmax(axis=1) != y] = -np.inf
    return int(np.argmax(loss))


def one_digit_loss(model, image, label):
    """The loss of one digit through the trained network (eval mode: batch norm uses its running statistics).

    The digit enters as a named constant, so the player draws and explains it as `digit`."""
    model.eval()
    digit = Value(np.asarray(image, dtype=np.float64)[None], label="digit", requires_grad=False)
    return nn.cross_entropy(model(digit), np.array([label]))


# ---- pictures -------------------------------------------------------------------------------


def plot_filters(model, path):
    w = model[0].weight.data[:, 0]  # (16, 3, 3)
    fig, axes = _plot.figure(ncols=8, nrows=2, width=1.3, height=1.45,
                             title="The 16 learned 3×3 filters of the first conv layer (blue < 0 < red)")
    for k, ax in enumerate(axes):
        m = np.abs(w[k]).max()
        ax.imshow(w[k], cmap="RdBu_r", vmin=-m, vmax=m)
        ax.set(xticks=[], yticks=[], title=f"filter {k}")
        ax.grid(False)
    return _plot.save(fig, path)


def plot_feature_maps(maps, label, path):
    rows = [("input", maps[0][:1]), ("block 1", maps[1]), ("block 2", maps[2][:16])]
    fig, axes = _plot.figure(ncols=16, nrows=3, width=0.9, height=1.1,
                             title=f"One test digit (a {label}) and its feature maps: after block 1 (16 channels, "
                                   f"4×4), after block 2 (the first 16 of 32 channels, 2×2)")
    axes = axes.reshape(3, 16)
    for r, (name, fm) in enumerate(rows):
        for k in range(16):
            ax = axes[r, k]
            ax.set(xticks=[], yticks=[])
            ax.grid(False)
            if k < len(fm):
                ax.imshow(fm[k], cmap="gray_r" if r == 0 else "viridis")
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(name, fontsize=10)
    return _plot.save(fig, path)


def run(out: pathlib.Path, fast: bool = False) -> list[pathlib.Path]:
    from tqdm.auto import tqdm

    from autograd.viz.player import player

    r = compute(epochs=3 if fast else EPOCHS, progress=lambda it: tqdm(it, desc="cnn epochs", unit="epoch"))
    print(f"test accuracy {r['accuracy']:.1%} on {len(r['y_test'])} held-out digits "
          f"(train {r['train_accuracy']:.1%})")
    model = r["model"]
    k = least_sure_digit(model, r["X_test"], r["y_test"])
    image, label = r["X_test"][k], int(r["y_test"][k])
    title = f"Digits: a CNN (2 conv blocks + linear), test accuracy {r['accuracy']:.1%}"
    paths = [plot_training(r, out / "cnn.png", title), plot_filters(model, out / "cnn_filters.png"),
             plot_feature_maps(feature_maps(model, image), label, out / "cnn_feature_maps.png")]
    loss = one_digit_loss(model, image, label)
    page = player(loss, title=f"Backprop through the trained CNN: the test digit it is least sure of (a {label}), "
                              f"cross-entropy {loss.item():.3f}")
    paths.append(page.save(out / "cnn_backprop.html"))
    print(f"backprop player: {len(page)} steps")
    return paths
