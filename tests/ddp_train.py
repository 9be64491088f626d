"""Two-process DistributedDataParallel training of a converted tracegrad MLP (gloo, 127.0.0.1).

    python tests/ddp_train.py OUT.pt [STEPS]

The parent converts the model once and hands it to both workers through
torch.multiprocessing spawn (so it must pickle); each worker trains on its half of the
batch and rank 0 saves the DDP model's state dict (keys `module.…`) to OUT.pt.
tests/test_torch_distributed.py compares it with one process training on the whole batch.
"""
from __future__ import annotations

import copy
import datetime
import os
import socket
import sys

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import nn

LR, BATCH = 0.1, 16


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(BATCH, 3))
    y = np.sin(X.sum(axis=1, keepdims=True))
    return X, y


def model():
    return nn.MLP(3, [8, 1], activation="tanh", seed=0)


def worker(rank: int, world: int, port: int, tmodel, steps: int, out: str):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world, timeout=datetime.timedelta(seconds=60))
    try:
        # spawn hands both workers the same shared-memory parameters: each trains its own copy
        ddp = torch.nn.parallel.DistributedDataParallel(copy.deepcopy(tmodel))
        opt = torch.optim.SGD(ddp.parameters(), lr=LR)
        X, y = (torch.from_numpy(a) for a in data())
        mine = slice(rank * BATCH // world, (rank + 1) * BATCH // world)
        for _ in range(steps):
            opt.zero_grad()
            loss = ((ddp(X[mine]) - y[mine]) ** 2).mean()   # DDP averages the two halves' gradients
            loss.backward()
            opt.step()
        if rank == 0:
            torch.save(ddp.state_dict(), out)
    finally:
        dist.destroy_process_group()
    # All done and saved: leave without the interpreter's teardown, where torch 2.13's gloo sometimes
    # destroys a thread still joinable ("terminate called without an active exception", SIGABRT in
    # ~1 run of 6 here, after the work; an exception above still exits the usual way, reported)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(out: str, steps: int = 5, world: int = 2, timeout: float = 120) -> int:
    torch.set_num_threads(1)
    tmodel = nn.to_torch(model())
    context = mp.spawn(worker, args=(world, free_port(), tmodel, steps, out), nprocs=world, join=False)
    try:
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=timeout)
        while not context.join(timeout=1):
            if datetime.datetime.now() > deadline:
                raise TimeoutError(f"DDP training took over {timeout} s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.kill()
                process.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5))
