"""benchmarks/versus.py imports two checkouts into one process: each keeps its own modules (a
Value of one is not a Value of the other), and both train the digits step to the same numbers.
Run in a subprocess: load() takes autograd and nn out of sys.modules."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1] + "/benchmarks")
import versus
sys.path.remove(sys.argv[1] + "/benchmarks")
del sys.modules["versus"]
a, b = versus.load(versus.HERE), versus.load(versus.HERE)
assert "autograd" not in sys.modules and "nn" not in sys.modules
import numpy as np
state = b.init_state()
sa, sb = a.TracegradStep(state, np.float64), b.TracegradStep(state, np.float64)
assert type(sa.model.layers[0].weight) is not type(sb.model.layers[0].weight)
rng = np.random.default_rng(0)
x, y = rng.random((32, 64)), rng.integers(0, 10, 32)
for _ in range(3):
    la, lb = sa(x, y), sb(x, y)
    assert la.data == lb.data, (la.data, lb.data)
print("ok")
"""


def test_two_checkouts_in_one_process():
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_a_folder_that_is_no_checkout_is_refused(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "versus.py"), str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "no tracegrad checkout" in out.stderr


def test_a_batch_below_one_is_refused():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "versus.py"), "--batch", "0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "--batch must be at least 1" in out.stderr
