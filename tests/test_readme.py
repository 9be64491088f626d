"""The README's Python examples run as written (in order, in one namespace, like a reader's session)."""
import pathlib
import re

import numpy as np

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_examples_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)  # the examples write their pictures to the working directory
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102  (our own README)
    assert (tmp_path / "moons_graph.svg").exists() and (tmp_path / "backprop.html").exists()
    if "train_step" in namespace:  # the jit example trained the moons classifier
        model, X, y = namespace["model"], namespace["X"], namespace["y"]
        predicted = model(X).data.argmax(axis=1)
        assert np.mean(predicted == y) > 0.85
        assert len(namespace["train_step"].plans) == 2  # batches of 32 and the last one of 4
