"""Character-level text for the sequence demos: the standard library's own docstrings, read at run
time (nothing downloaded, nothing committed), as integer codes; batches, a unigram baseline, sampling,
and the recurrent language models (LSTM, tanh RNN) the transformer demo compares against."""
from __future__ import annotations

import contextlib
import importlib
import inspect
import warnings

import numpy as np

import nn
from autograd.engine import grad, topological_order
from autograd.mode import no_grad

MODULES = ("json", "collections", "functools", "itertools", "textwrap", "pathlib", "random", "statistics",
           "string", "heapq", "bisect", "fractions", "decimal", "datetime", "calendar", "csv", "argparse",
           "shutil", "tempfile", "logging", "unittest", "typing", "dataclasses", "enum", "abc", "contextlib",
           "copy", "pprint", "difflib", "html", "zipfile", "tarfile", "gzip", "base64", "hashlib", "socket",
           "threading", "queue", "subprocess", "urllib.parse", "email.message", "http.client", "sqlite3", "ast")
ALPHABET = "\n !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"


def stdlib_text(max_chars: int = 400_000) -> str:
    """Docstrings of some standard-library modules and their public members, in a fixed order,
    each cleaned (inspect.cleandoc) and restricted to printable ASCII."""
    parts, keep = [], set(ALPHABET)
    with warnings.catch_warnings():  # reading typing.io's docstring warns that typing.io is deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        for name in MODULES:
            parts += _docstrings(name, keep)
    return "\n\n".join(parts)[:max_chars]


def _docstrings(name, keep) -> list[str]:
    """The docstrings (over 40 characters) of module `name` and of the members it defines."""
    try:
        module = importlib.import_module(name)
    except ImportError:  # a Python built without sqlite3, say
        return []
    docs = [inspect.getdoc(module)]
    for attr in sorted(vars(module)):
        obj = getattr(module, attr)
        if not attr.startswith("_") and getattr(obj, "__module__", None) == module.__name__:
            docs.append(inspect.getdoc(obj))
    return ["".join(ch for ch in doc if ch in keep) for doc in docs if doc and len(doc) > 40]


class Corpus:
    """The text as codes 0..V-1, split 90/10 into training and held-out text."""

    def __init__(self, text: str):
        self.chars = sorted(set(text))
        self.code = {ch: i for i, ch in enumerate(self.chars)}
        data = np.array([self.code[ch] for ch in text], dtype=np.int64)
        cut = int(0.9 * len(data))
        self.train, self.held_out = data[:cut], data[cut:]
        self.vocab = len(self.chars)

    def decode(self, codes) -> str:
        return "".join(self.chars[int(c)] for c in codes)

    def encode(self, text: str) -> np.ndarray:
        return np.array([self.code[ch] for ch in text if ch in self.code], dtype=np.int64)

    def batch(self, rng, size: int, context: int, split: str = "train"):
        """(inputs, targets), each (size, context): random windows, targets shifted by one character."""
        data = self.train if split == "train" else self.held_out
        starts = rng.integers(0, len(data) - context - 1, size)
        windows = data[starts[:, None] + np.arange(context + 1)]
        return windows[:, :-1], windows[:, 1:]

    def unigram_entropy(self) -> float:
        """Cross-entropy (nats per character) of the held-out text under the training text's character
        frequencies: what a model that ignores context scores."""
        counts = np.bincount(self.train, minlength=self.vocab) + 1.0  # +1: no character has probability 0
        p = counts / counts.sum()
        return float(-np.mean(np.log(p[self.held_out])))


@contextlib.contextmanager
def one_blas_thread():
    """Run numpy's matrix products on one thread (threadpoolctl, where installed). At these sizes
    (32×32 windows, 64 features) more BLAS threads only wait on each other: measured 64 ms per
    transformer step with one thread, over 1 s with the default two on a busy 2-core machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def logits_loss(logits, targets):
    """Mean cross-entropy of (N, L, V) logits against (N, L) targets (one node)."""
    n, length, vocab = logits.shape
    return nn.cross_entropy(logits.reshape(n * length, vocab), targets.reshape(-1))


def held_out_loss(model, corpus, context: int, batches: int = 8, size: int = 32, seed: int = 123) -> float:
    rng = np.random.default_rng(seed)
    with no_grad():
        return float(np.mean([logits_loss(model(x), y).item()
                              for x, y in (corpus.batch(rng, size, context, "held") for _ in range(batches))]))


def sample(model, corpus, prompt: str, length: int, context: int, seed: int = 0, temperature: float = 0.8) -> str:
    """Continue `prompt` one character at a time, drawing from softmax(logits / temperature)."""
    rng = np.random.default_rng(seed)
    codes = list(corpus.encode(prompt))
    with no_grad():
        for _ in range(length):
            logits = model(np.array([codes[-context:]])).data[0, -1] / temperature
            p = np.exp(logits - logits.max())
            codes.append(int(rng.choice(len(p), p=p / p.sum())))
    return corpus.decode(codes)


class CharRecurrent(nn.Module):
    """Embedding -> LSTM (or tanh RNN) -> Linear: the recurrent language model of the article's
    architecture section, on the same characters. The embedding is looked up once for the whole
    window (its per-step slices add their gradients in place, see autograd.slices)."""

    def __init__(self, vocab: int, hidden: int = 128, embed: int = 32, kind: str = "LSTM", seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.embed = nn.Embedding(vocab, embed, seed=rng)
        self.rnn = getattr(nn, kind)(embed, hidden, batch_first=True, seed=rng)
        self.head = nn.Linear(hidden, vocab, seed=rng, name="head")

    def forward(self, idx):
        out, _ = self.rnn(self.embed(np.asarray(idx)))  # (N, L, embed) -> (N, L, hidden)
        return self.head(out)


def train(model, corpus, steps: int, context: int, batch: int = 32, lr: float = 3e-3, seed: int = 0,
          progress=None) -> np.ndarray:
    """AdamW (weight decay 0.01) on random windows; returns the losses."""
    rng = np.random.default_rng(seed)
    opt = nn.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    losses = []
    for _ in (progress or iter)(range(steps)):
        x, y = corpus.batch(rng, batch, context)
        loss = logits_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses)


def through_time(model, corpus, length: int = 30, seed: int = 7, state: str = "h") -> np.ndarray:
    """‖∂(last step's loss)/∂h_t‖ for t = 1..length (the recurrent demo's measurement, on text): how much
    each earlier hidden state still moves the last prediction (state="c": the LSTM's memory c_t)."""
    x, y = corpus.batch(np.random.default_rng(seed), 1, length, "held")
    loss = nn.cross_entropy(model(x)[0, length - 1], y[0, length - 1])
    by_label = {n.label: n for n in topological_order(loss) if n.label}
    hs = [by_label[f"{state}{t}"] for t in range(1, length + 1) if f"{state}{t}" in by_label]
    norms = [np.linalg.norm(g.numpy()) for g in grad(loss, hs)]
    return np.array(norms + [np.nan] * (length - len(norms)))  # c at the last step does not reach its h: NaN
