"""Command line: draw an expression's graph and write its backprop player.

    python -m autograd.viz "tanh(w0*x0 + w1*x1 + b)" x0=2 w0=-3 x1=0 w1=1 b=6.88 -o out/

builds the expression from Values labelled by the names, runs backward, and writes
`graph.svg` (or `graph.png`) and `player.html` into the output folder, printing
both paths. The expression is checked against a whitelist first (see
`autograd.viz.cli.expr`); a refused one exits with code 2 having computed and written
nothing. Everything is produced in memory before the folder is touched, and the
files are written under temporary names and then renamed, so a failure leaves no
half-written file behind.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import re
import secrets
import sys

from .expr import ALLOWED, ExpressionError, build, check_inputs, parse, parse_inputs

EXIT_REFUSED = 2  # bad expression or inputs (argparse uses 2 for usage errors too)
EXIT_FAILED = 1   # could not draw or write

EXAMPLE = 'python -m autograd.viz "tanh(w0*x0 + w1*x1 + b)" x0=2 w0=-3 x1=0 w1=1 b=6.88 -o out/'


class OutputError(RuntimeError):
    """The output folder or a file in it could not be written."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracegrad" if os.path.basename(sys.argv[0]) == "tracegrad" else "python -m autograd.viz",
        description="Draw the computation graph of an expression and write a step-by-step "
                    "backpropagation player (one self-contained HTML file).",
        epilog=f"Example: {EXAMPLE}\n\n{ALLOWED}\nAn expression that starts with '-' must follow "
               "'--' (python -m autograd.viz -o out -- \"-x*y\" x=1 y=2).\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("expression", help='e.g. "tanh(w*x + b)"')
    parser.add_argument("inputs", nargs="*", metavar="name=value",
                        help="a number for every name of the expression, e.g. x=2 w=-3")
    parser.add_argument("-o", "--output", default="out", metavar="FOLDER",
                        help="folder for graph.svg/png and player.html (default: out; created if missing)")
    parser.add_argument("--format", choices=("svg", "png"), default="svg", help="graph file format")
    parser.add_argument("--forward", action="store_true",
                        help="the player shows the forward pass before the backward steps")
    return parser


def _make_files(expression: str, inputs: list[str], fmt: str, forward: bool) -> dict[str, bytes]:
    """Check, build and draw: {file name: content}. Raises ExpressionError before computing anything."""
    parsed = parse(expression)
    values = parse_inputs(inputs)
    unused = check_inputs(parsed, values)
    if unused:
        print(f"note: {', '.join(unused)} given but not used by the expression", file=sys.stderr)
    # Only now, with everything checked, is anything computed.
    from ..graph.draw import draw
    from ..player.page import player
    from ..graph.render import pipe

    root, problem = _compute(parsed, values)
    if problem:
        print(f"warning: {problem}; the graph and the player show the inf/nan values as computed",
              file=sys.stderr)
    # every input of the expression is a leaf we differentiate by, not a parameter to train
    graph = draw(root, params=[])
    html = player(root, forward=forward, params=[]).html
    return {f"graph.{fmt}": pipe(graph.source, format=fmt), "player.html": html.encode("utf-8")}


def _compute(parsed, values):
    """Build the expression and run backward; (root, "") or, when a value or a gradient is inf
    or NaN, (root, what detect_anomaly says about the first op that made one)."""
    from autograd.mode import AnomalyError, detect_anomaly

    try:
        with detect_anomaly():
            root = build(parsed, values)
            root.backward()
        return root, ""
    except AnomalyError as error:
        # the file:line it names is inside this tool: leave it out
        problem = re.sub(r",? created at (?:<[^>]*>|\S+):\d+", "", str(error))
        problem = re.sub(r" at (?:<[^>]*>|\S+):\d+", "", problem).replace(" (node '')", "")
    root = build(parsed, values)  # again without stopping at the first inf/nan, to draw it
    root.backward()
    return root, problem


def _write_all(folder: pathlib.Path, files: dict[str, bytes]) -> list[pathlib.Path]:
    """Write every file or none: temporaries first, then renames; undo on failure."""
    created = not folder.exists()
    if not created and not folder.is_dir():
        raise OutputError(f"{str(folder)!r} exists and is not a folder; choose another with -o")
    temporaries: list[pathlib.Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            temporary = folder / f".{name}.{secrets.token_hex(4)}.tmp"
            with open(temporary, "xb") as file:
                temporaries.append(temporary)
                file.write(content)
        written = []
        for temporary, name in zip(temporaries, files):
            os.replace(temporary, folder / name)
            written.append(folder / name)
        return written
    except OSError as error:
        for temporary in temporaries:
            with contextlib.suppress(OSError):
                temporary.unlink()
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if we made it and it is still empty
        raise OutputError(f"cannot write into {str(folder)!r}: {error.strerror or error}. "
                          "Choose a writable folder with -o.") from error


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        files = _make_files(args.expression, args.inputs, args.format, args.forward)
    except ExpressionError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except ArithmeticError as error:  # e.g. a derivative rule dividing by zero at these inputs
        print(f"error: the gradient cannot be computed at these inputs ({type(error).__name__}: "
              f"{error}); try other values", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # drawing or rendering: say what failed, no traceback
        from ..graph.render import RenderError

        if not isinstance(error, (RenderError, ValueError)):
            raise
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        written = _write_all(pathlib.Path(args.output), files)
    except OutputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
