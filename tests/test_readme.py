"""Every Python block of the README runs on its own (a reader may copy any one of them into a fresh
interpreter), in a fresh namespace and an empty working folder; and the how-to-run commands it
gives exist (the make targets, the venv's python)."""
import os
import pathlib
import re

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_its_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("k", range(len(BLOCKS)), ids=[f"block{k}" for k in range(len(BLOCKS))])
def test_each_readme_block_runs_on_its_own(k, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write their pictures to the working directory
    namespace = {"__name__": "__readme__"}
    exec(compile(BLOCKS[k], f"{README}:block{k}", "exec"), namespace)  # noqa: S102  (our own README)
    if "draw(one).render" in BLOCKS[k]:
        # outfile= writes that file only: no DOT source left beside it
        assert sorted(p.name for p in tmp_path.iterdir()) == ["backprop.html", "moons_graph.svg"]
    if "train_step" in namespace:  # the jit example trained the moons classifier
        model, X, y = namespace["model"], namespace["X"], namespace["y"]
        predicted = model(X).data.argmax(axis=1)
        assert np.mean(predicted == y) > 0.85
        assert len(namespace["train_step"].plans) == 2  # batches of 32 and the last one of 4


def test_the_run_instructions_name_commands_that_exist():
    text = README.read_text()
    assert ".venv/bin/python -m demos NAME" in text or ".venv/bin/python -m demos neuron" in text
    makefile = (ROOT / "Makefile").read_text()
    for target in re.findall(r"^make (\w+)", text, re.M) + ["notebook", "demos"]:
        assert re.search(rf"^{target}:", makefile, re.M), target
    assert "DEMO ?= flagship" in makefile and "$(RUN) -m demos $(DEMO)" in makefile
    assert "jupyter = [" in (ROOT / "pyproject.toml").read_text()
    assert os.path.exists(ROOT / "demos" / "tour.ipynb")


def test_every_readme_picture_is_regenerated_by_readme_images():
    """`python -m demos._readme_images` remakes every docs/img picture the README shows."""
    from demos import _readme_images

    shown = set(re.findall(r"docs/img/([\w.-]+)", README.read_text(encoding="utf-8")))
    made = set(_readme_images.PICKS.values()) | {name for name, _, _ in _readme_images.SHOTS.values()}
    assert shown and shown <= made, sorted(shown - made)
