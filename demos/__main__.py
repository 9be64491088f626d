"""`python -m demos` lists the demos, `python -m demos NAME` runs one, `all` runs all.

From an install (a wheel ships this folder as `tracegrad.demos`): `python -m tracegrad.demos NAME`.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import pathlib
import sys

from . import DEMOS


def _summary(name: str) -> str:
    """A demo's one-line docstring, read without importing it (listing needs no optional package)."""
    spec = importlib.util.find_spec(f".{name}", __package__)
    return ast.get_docstring(ast.parse(pathlib.Path(spec.origin).read_text(encoding="utf-8"))).splitlines()[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {__package__ or 'demos'}", description=__doc__)
    parser.add_argument("name", nargs="?", help="a demo name, or 'all'")
    parser.add_argument("-o", "--out", default="out", help="folder for the pictures (default: out/)")
    parser.add_argument("--fast", action="store_true", help="smaller runs (used by the tests)")
    args = parser.parse_args(argv)
    if args.name is None:
        print(f"demos (run one with `python -m {__package__} NAME`, or `all`):")
        width = max(map(len, DEMOS))
        for name in DEMOS:
            print(f"  {name:{width}s}  {_summary(name)}")
        return 0
    names = DEMOS if args.name == "all" else [args.name]
    unknown = [n for n in names if n not in DEMOS]
    if unknown:
        print(f"unknown demo {unknown[0]!r}; known: {', '.join(DEMOS)}", file=sys.stderr)
        return 2
    for name in names:
        written = importlib.import_module(f".{name}", __package__).run(pathlib.Path(args.out) / name, fast=args.fast)
        for path in written:
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
