"""The tensor path on scikit-learn's 8x8 digits: an MLP, its test accuracy and confusion matrix."""
from __future__ import annotations

import pathlib

import numpy as np

import nn
from autograd.jit import jit
from autograd.mode import no_grad

from . import _plot


def compute(epochs: int = 20, hidden: int = 64, batch_size: int = 64, seed: int = 0, progress=None) -> dict:
    """Train MLP(64, [hidden, 10]) with cross-entropy and Adam on 80% of the digits; test on the rest."""
    X, y = nn.load_digits()
    X_train, X_test, y_train, y_test = nn.train_test_split(X, y, test_fraction=0.2, seed=seed)
    model = nn.MLP(64, [hidden, 10], activation="relu", seed=seed)
    opt = nn.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(seed)

    @jit  # the same step, recorded once and then replayed: the same numbers, less Python per batch
    def train_step(xb, yb):
        loss = nn.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    losses, test_accuracy = [], []
    for _ in (progress or iter)(range(epochs)):
        for xb, yb in nn.batches(X_train, y_train, batch_size, seed=rng):
            losses.append(train_step(xb, yb).item())
        test_accuracy.append(float(np.mean(predict(model, X_test) == y_test)))
    predicted = predict(model, X_test)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y_test, predicted), 1)
    return {"model": model, "loss": np.array(losses), "test_accuracy": np.array(test_accuracy),
            "accuracy": float(np.mean(predicted == y_test)),
            "train_accuracy": float(np.mean(predict(model, X_train) == y_train)),
            "confusion": confusion, "X_test": X_test, "y_test": y_test, "predicted": predicted}


def predict(model, X) -> np.ndarray:
    with no_grad():
        return model(X).numpy().argmax(axis=1)


def run(out: pathlib.Path, fast: bool = False) -> list[pathlib.Path]:
    from tqdm.auto import tqdm

    r = compute(epochs=6 if fast else 20, progress=lambda it: tqdm(it, desc="digits epochs", unit="epoch"))
    print(f"test accuracy {r['accuracy']:.1%} on {len(r['y_test'])} held-out digits "
          f"(train {r['train_accuracy']:.1%})")
    paths = [plot_training(r, out / "digits.png", f"Digits: MLP 64-64-10 (ReLU), test accuracy {r['accuracy']:.1%}")]

    wrong = np.flatnonzero(r["predicted"] != r["y_test"])[:8]
    fig, axes = _plot.figure(ncols=max(len(wrong), 1), width=1.6, height=1.9, title="Digits the network got wrong")
    for a, k in zip(np.atleast_1d(axes), wrong):
        a.imshow(r["X_test"][k].reshape(8, 8), cmap="gray_r")
        a.set_title(f"{r['y_test'][k]} read as {r['predicted'][k]}", fontsize=11)
        a.axis("off")
    paths.append(_plot.save(fig, out / "mistakes.png"))
    return paths


def plot_training(r, path: pathlib.Path, title: str) -> pathlib.Path:
    """The test set's confusion matrix beside the loss per batch and the test accuracy per epoch
    (the results of a `compute()`: this demo's and the CNN demo's)."""
    fig, ax = _plot.figure(ncols=2, width=5.6, height=5.0, title=title)
    C = r["confusion"]
    ax[0].imshow(C, cmap="Blues")
    for (i, j), v in np.ndenumerate(C):
        if v:
            ax[0].text(j, i, str(v), ha="center", va="center", fontsize=10,
                       color="w" if v > C.max() / 2 else ("k" if i == j else _plot.RED))
    ax[0].set(title="Confusion matrix (test set)", xlabel="predicted digit", ylabel="true digit",
              xticks=range(10), yticks=range(10))
    ax[0].grid(False)
    steps_per_epoch = len(r["loss"]) / len(r["test_accuracy"])
    ax[1].plot(r["loss"], color=_plot.BLUE, lw=1, alpha=0.8, label="training loss (per batch)")
    ax[1].set(title="Training", xlabel="optimizer step", ylabel="cross-entropy loss")
    twin = ax[1].twinx()
    epochs_end = (np.arange(len(r["test_accuracy"])) + 1) * steps_per_epoch
    twin.plot(epochs_end, r["test_accuracy"], "o-", color=_plot.GREEN, lw=2, label="test accuracy (per epoch)")
    twin.set_ylim(0, 1.02)
    twin.set_ylabel("test accuracy", color=_plot.GREEN)
    twin.grid(False)
    lines = ax[1].get_lines() + twin.get_lines()
    ax[1].legend(lines, [line.get_label() for line in lines], loc="center right")
    return _plot.save(fig, path)
