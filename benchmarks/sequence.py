"""Sequence models: one training step of the transformer demo's model and of its LSTM, against PyTorch.

The same architecture, the same weights (loaded through state_dict) and the same batch (32 windows
of 32 characters of standard-library docstrings), float32 on both sides, optimizer step included.
PyTorch runs with one thread and with its default thread count; numpy's BLAS runs with one thread
(OPENBLAS_NUM_THREADS, set before numpy loads). Then where tracegrad's step spends its time: each
op's forward and backward summed over a step, and the rest (the engine's walk, recording, Python).

    .venv/bin/python benchmarks/sequence.py            # ~1 minute
    .venv/bin/python benchmarks/sequence.py --quick    # fewer repeats
"""
from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections import defaultdict

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

from autograd import ops  # noqa: E402
from benchmarks._common import parse_args  # noqa: E402
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


def our_step(model, opt, x, y):
    loss = _chars.logits_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def torch_step(torch, model, opt, x, y):
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def timed(fn, repeat, clock=time.process_time):
    """The fastest of `repeat` calls. One thread: process CPU time, which other processes on a shared
    machine disturb least; several threads: wall-clock time (CPU time would add the threads up)."""
    fn()
    fn()
    times = []
    for _ in range(repeat):
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times)


def where_the_time_goes(step, repeat=5):
    """CPU seconds per step in each op's forward and backward, by wrapping the op table's functions
    (nested calls count twice: getitem's backward includes the scatter it calls)."""
    spent, originals = defaultdict(float), dict(ops.OPS)

    def clock(key, fn):
        def wrapped(*args, **kwargs):
            start = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += time.process_time() - start
        return wrapped

    for name, op in originals.items():
        ops.OPS[name] = dataclasses.replace(op, forward=clock((name, "forward"), op.forward),
                                            backward=clock((name, "backward"), op.backward))
    try:
        step()
        spent.clear()
        start = time.process_time()
        for _ in range(repeat):
            step()
        total = (time.process_time() - start) / repeat
    finally:
        ops.OPS.update(originals)
    return total, {k: v / repeat for k, v in spent.items()}


def report(name, total, spent):
    print(f"  where {name}'s step goes ({total * 1e3:.1f} CPU ms with the clocks on):")
    for (op, phase), s in sorted(spent.items(), key=lambda kv: -kv[1])[:10]:
        print(f"    {op:30s} {phase:8s} {s * 1e3:7.2f} ms  {100 * s / total:4.0f}%")
    rest = total - sum(spent.values())
    print(f"    {'engine, recording, optimizer, Python':39s} {rest * 1e3:7.2f} ms  {100 * rest / total:4.0f}%")


def main():
    args = parse_args(__doc__.splitlines()[0])
    allocator = steady_allocator()
    import torch
    repeat = 5 if args.quick else 15
    default_threads = torch.get_num_threads()
    corpus = _chars.Corpus(_chars.stdlib_text())
    rng = np.random.default_rng(0)
    x, y = corpus.batch(rng, BATCH, CONTEXT)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    cfg = dict(transformer.FULL)
    gelu = hasattr(__import__("autograd").Value, "gelu")
    adamw = hasattr(__import__("nn"), "AdamW")
    print(f"batch {BATCH}, context {CONTEXT}, float32; numpy BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}; "
          f"MLP nonlinearity {'GELU' if gelu else 'tanh'}; optimizer {'AdamW' if adamw else 'Adam'}; {allocator}")

    ours = transformer.CharTransformer(corpus.vocab, CONTEXT, cfg["d"], cfg["heads"], cfg["layers"]).to(np.float32)
    theirs = torch_transformer(torch, corpus.vocab, cfg, gelu)
    lstm = _chars.CharRecurrent(corpus.vocab, hidden=128).to(np.float32)
    tlstm = torch_lstm(torch, corpus.vocab, 128, 32)
    rows = []
    for name, model, tmodel, lr in (("transformer", ours, theirs, 3e-3), ("LSTM", lstm, tlstm, 1e-2)):
        tmodel.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in model.state_dict().items()})
        opt = _chars.optimizer(model, lr)
        topt = (torch.optim.AdamW(tmodel.parameters(), lr=lr, weight_decay=0.01) if adamw
                else torch.optim.Adam(tmodel.parameters(), lr=lr))
        first, tfirst = our_step(model, opt, x, y), torch_step(torch, tmodel, topt, tx, ty)
        print(f"{name}: first-step loss tracegrad {first:.5f}, PyTorch {tfirst:.5f} (same weights, same batch)")
        t_ours = timed(lambda: our_step(model, opt, x, y), repeat)
        torch.set_num_threads(1)
        t_one = timed(lambda: torch_step(torch, tmodel, topt, tx, ty), repeat)
        torch.set_num_threads(default_threads)
        t_default = timed(lambda: torch_step(torch, tmodel, topt, tx, ty), repeat, time.perf_counter)
        rows.append((name, t_ours, t_one, t_default))
        report(name, *where_the_time_goes(lambda: our_step(model, opt, x, y)))
    print(f"\none training step (fastest of {repeat}; CPU ms, wall ms with several threads)\n"
          f"{'':40s} tracegrad   PyTorch 1 thread   ratio   PyTorch {default_threads} threads   ratio")
    for name, t_ours, t_one, t_default in rows:
        print(f"  {name:38s} {t_ours * 1e3:8.1f}   {t_one * 1e3:10.1f}     {t_ours / t_one:6.2f}×   "
              f"{t_default * 1e3:10.1f}        {t_ours / t_default:6.2f}×")


if __name__ == "__main__":
    main()
