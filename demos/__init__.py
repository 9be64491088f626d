"""Runnable reproductions of the article's ideas; `python -m demos` lists them.

Each demo module has a one-line docstring and `run(out: pathlib.Path, fast: bool = False)
-> list[pathlib.Path]` returning the files it wrote.
"""
DEMOS = ["neuron"]
