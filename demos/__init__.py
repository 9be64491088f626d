"""Runnable reproductions of the article's ideas; `python -m demos` lists them.

Each demo module has a one-line docstring and `run(out: pathlib.Path, fast: bool = False)
-> list[pathlib.Path]` returning the files it wrote. Most also have a `compute(...)` that
returns the numbers behind the pictures (the tests check those).
"""
DEMOS = ["neuron", "activations", "nonlinearity", "meal_prices", "layers", "recurrent", "backprop",
         "gradient_descent", "learning_rate", "moons", "digits", "cnn", "flagship",
         "transformer"]
