"""Sequence models: one training step of the transformer demo's model and of its LSTM, against PyTorch.

The same architecture, the same weights (loaded through state_dict) and the same batch (32 windows
of 32 characters of standard-library docstrings), float32 on both sides, AdamW step included.
PyTorch runs with one thread and with its default thread count; numpy's BLAS with one thread
(OPENBLAS_NUM_THREADS, set before numpy loads; the demo pins it too). The contenders take turns
round by round (CPU time for one thread; wall-clock for PyTorch's several threads) and the ratio is
the median of the per-round ratios, with its quartiles. One-thread times are the calling thread's CPU
time (time.thread_time): PyTorch's idle pool threads spinning after a several-thread round would
otherwise count against its one-thread step. glibc's default malloc settings, as users
have them (--pinned-malloc: fixed thresholds, labelled). Then where each step goes: forward,
backward and optimizer on both sides, and tracegrad's ops (each op's forward and backward summed
over a step) against the rest (the engine's walk, recording, Python).

    .venv/bin/python benchmarks/sequence.py            # ~1 minute
    .venv/bin/python benchmarks/sequence.py --quick    # fewer rounds
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections import defaultdict

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

import nn  # noqa: E402
from autograd import ops  # noqa: E402
from benchmarks._common import load_note  # noqa: E402
from benchmarks.train import steady_allocator  # noqa: E402
from demos import _chars, transformer  # noqa: E402

BATCH, CONTEXT = 32, 32


def torch_transformer(torch, vocab, cfg, gelu):
    tnn = torch.nn

    class Block(tnn.Module):
        def __init__(self, d, heads):
            super().__init__()
            self.ln1, self.ln2 = tnn.LayerNorm(d), tnn.LayerNorm(d)
            self.attn = tnn.MultiheadAttention(d, heads, batch_first=True)
            self.fc, self.proj = tnn.Linear(d, 4 * d), tnn.Linear(4 * d, d)

        def forward(self, x, mask):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
            return x + self.proj((tnn.functional.gelu if gelu else torch.tanh)(self.fc(self.ln2(x))))

    class Model(tnn.Module):
        def __init__(self):
            super().__init__()
            d = cfg["d"]
            self.tok, self.pos = tnn.Embedding(vocab, d), tnn.Embedding(cfg["context"], d)
            self.blocks = tnn.ModuleList(Block(d, cfg["heads"]) for _ in range(cfg["layers"]))
            self.ln, self.head = tnn.LayerNorm(d), tnn.Linear(d, vocab)

        def forward(self, idx):
            length = idx.shape[1]
            x = self.tok(idx) + self.pos(torch.arange(length))
            mask = torch.triu(torch.ones(length, length, dtype=torch.bool), 1)
            for block in self.blocks:
                x = block(x, mask)
            return self.head(self.ln(x))

    return Model()


def torch_lstm(torch, vocab, hidden, embed):
    tnn = torch.nn

    class Model(tnn.Module):
        def __init__(self):
            super().__init__()
            self.embed = tnn.Embedding(vocab, embed)
            self.rnn = tnn.LSTM(embed, hidden, batch_first=True)
            self.head = tnn.Linear(hidden, vocab)

        def forward(self, idx):
            return self.head(self.rnn(self.embed(idx))[0])

    return Model()


def our_step(model, opt, x, y, phases=None):
    t0 = time.thread_time()
    loss = _chars.logits_loss(model(x), y)
    t1 = time.thread_time()
    opt.zero_grad()
    loss.backward()
    t2 = time.thread_time()
    opt.step()
    if phases is not None:
        phases.append((t1 - t0, t2 - t1, time.thread_time() - t2))
    return loss.item()


def torch_step(torch, model, opt, x, y, phases=None):
    t0 = time.thread_time()
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    t1 = time.thread_time()
    opt.zero_grad()
    loss.backward()
    t2 = time.thread_time()
    opt.step()
    if phases is not None and torch.get_num_threads() == 1:  # (CPU time is one thread's only then)
        phases.append((t1 - t0, t2 - t1, time.thread_time() - t2))
    return loss.item()


def side_by_side(ours, theirs, torch, threads, rounds):
    """Per round: our step (thread CPU time), PyTorch's with one thread (thread CPU time) and with `threads`
    threads (wall-clock: CPU time would add the threads up), in alternating order so that a burst of load from
    another process hits every contender alike. Returns the per-round times as arrays."""
    def one():
        torch.set_num_threads(1)
        start = time.thread_time()
        theirs()
        return time.thread_time() - start

    def many():
        torch.set_num_threads(threads)
        start = time.perf_counter()
        theirs()
        return time.perf_counter() - start

    def mine():
        start = time.thread_time()
        ours()
        return time.thread_time() - start

    for fn in (mine, one, many, mine, one):  # warm-up
        fn()
    t = {"ours": [], "one": [], "many": []}
    contenders = [("ours", mine), ("one", one), ("many", many)]
    for r in range(rounds):
        for name, fn in (contenders if r % 2 == 0 else contenders[::-1]):
            t[name].append(fn())
    torch.set_num_threads(threads)
    return {k: np.array(v) for k, v in t.items()}


def where_the_time_goes(step, repeat=5):
    """CPU seconds per step in each op's forward and backward, by wrapping the op table's functions
    (nested calls count twice: getitem's backward includes the scatter it calls)."""
    spent, originals = defaultdict(float), dict(ops.OPS)

    def clock(key, fn):
        def wrapped(*args, **kwargs):
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += time.thread_time() - start
        return wrapped

    for name, op in originals.items():
        ops.OPS[name] = dataclasses.replace(op, forward=clock((name, "forward"), op.forward),
                                            backward=clock((name, "backward"), op.backward))
    try:
        step()
        spent.clear()
        start = time.thread_time()
        for _ in range(repeat):
            step()
        total = (time.thread_time() - start) / repeat
    finally:
        ops.OPS.update(originals)
    return total, {k: v / repeat for k, v in spent.items()}


def report(name, total, spent):
    print(f"  {name}: the ops' forward and backward, summed over a step ({total * 1e3:.1f} CPU ms with the clocks on):")
    for (op, phase), sec in sorted(spent.items(), key=lambda kv: -kv[1])[:10]:
        print(f"    {op:30s} {phase:8s} {sec * 1e3:7.2f} ms  {100 * sec / total:4.0f}%")
    rest = total - sum(spent.values())
    print(f"    {'engine, recording, optimizer, Python':39s} {rest * 1e3:7.2f} ms  {100 * rest / total:4.0f}%")


def phase_line(who, phases):
    f, b, o = np.median(np.array(phases), axis=0) * 1e3
    return f"    {who:10s} forward {f:6.2f}   backward {b:6.2f}   optimizer {o:5.2f}   (CPU ms, medians)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="7 rounds instead of 25")
    parser.add_argument("--pinned-malloc", action="store_true", help="glibc's malloc thresholds fixed (steady_allocator)")
    args = parser.parse_args()
    allocator = steady_allocator() if args.pinned_malloc else "glibc's default malloc settings"
    import torch
    rounds = 7 if args.quick else 25
    default_threads = torch.get_num_threads()
    corpus = _chars.Corpus(_chars.stdlib_text())
    rng = np.random.default_rng(0)
    x, y = corpus.batch(rng, BATCH, CONTEXT)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    cfg = dict(transformer.FULL)
    print(f"batch {BATCH}, context {CONTEXT}, float32; numpy BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}; "
          f"PyTorch {torch.__version__}, default threads {default_threads}; {allocator}; {load_note() or 'load ok'}")

    ours = transformer.CharTransformer(corpus.vocab, CONTEXT, cfg["d"], cfg["heads"], cfg["layers"]).to(np.float32)
    theirs = torch_transformer(torch, corpus.vocab, cfg, gelu=True)
    lstm = _chars.CharRecurrent(corpus.vocab, hidden=128).to(np.float32)
    tlstm = torch_lstm(torch, corpus.vocab, 128, 32)
    rows = []
    for name, model, tmodel, lr in (("transformer", ours, theirs, 3e-3), ("LSTM", lstm, tlstm, 1e-2)):
        tmodel.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in model.state_dict().items()})
        opt = nn.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
        topt = torch.optim.AdamW(tmodel.parameters(), lr=lr, weight_decay=0.01)
        torch.set_num_threads(1)
        first, tfirst = our_step(model, opt, x, y), torch_step(torch, tmodel, topt, tx, ty)
        print(f"\n{name}: first-step loss tracegrad {first:.5f}, PyTorch {tfirst:.5f} (same weights, same batch)")
        mine, theirs_ = [], []
        t = side_by_side(lambda: our_step(model, opt, x, y, mine), lambda: torch_step(torch, tmodel, topt, tx, ty, theirs_),
                         torch, default_threads, rounds)
        rows.append((name, t))
        print(phase_line("tracegrad", mine[5:]))
        print(phase_line("PyTorch 1", theirs_[3:]))
        report(name, *where_the_time_goes(lambda: our_step(model, opt, x, y)))
    print(f"\none training step, {rounds} rounds (median CPU ms; the several-thread column wall ms); ratio = median "
          f"of the per-round ratios [quartiles]\n"
          f"{'':14s} tracegrad   PyTorch 1 thread   ratio                PyTorch {default_threads} threads   ratio")
    for name, t in rows:
        r1, rn = t["ours"] / t["one"], t["ours"] / t["many"]
        q1, qn = np.percentile(r1, [25, 75]), np.percentile(rn, [25, 75])
        print(f"  {name:12s} {np.median(t['ours']) * 1e3:8.1f}   {np.median(t['one']) * 1e3:10.1f}     "
              f"{np.median(r1):5.2f}× [{q1[0]:.2f}–{q1[1]:.2f}]   {np.median(t['many']) * 1e3:10.1f}        "
              f"{np.median(rn):5.2f}× [{qn[0]:.2f}–{qn[1]:.2f}]")


if __name__ == "__main__":
    main()
