"""`python -m autograd.viz`: the expression whitelist, refusals, and what gets written."""
import os
import pathlib
import subprocess
import sys

import pytest

from autograd.viz.cli import main as cli
from autograd.viz.cli.expr import ALLOWED, ExpressionError, build, parse, parse_inputs

NEURON = ["tanh(w0*x0 + w1*x1 + b)", "x0=2", "w0=-3", "x1=0", "w1=1", "b=6.8813735870195432"]
ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(tmp_path, *args, expect):
    """main() in-process with tmp_path as the working folder; checks the exit code."""
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        code = cli.main(list(args))
    finally:
        os.chdir(old)
    assert code == expect
    return code


# ---- the whitelist ---------------------------------------------------------------------------

REFUSED = [
    ("__import__('os').system('touch MARKER')", "attribute access"),
    ("__import__('os')", "unknown function '__import__'"),
    ("x.real", "attribute access"),
    ("x.__class__", "attribute access"),
    ("().__class__.__bases__[0].__subclasses__()", "attribute access"),
    ("x[0]", "subscripts"),
    ("(lambda: x)()", "lambdas"),
    ("tanh(x)(y)", "calls of anything but a known function name"),
    ("lambda: x", "lambdas"),
    ("[x for x in y]", "comprehensions"),
    ("sum(x for x in y)", "unknown function 'sum'"),
    ("tanh(x=1)", "keyword arguments"),
    ("tanh(x, y)", "exactly one argument, got 2"),
    ("tanh(*x)", "exactly one argument"),
    ("'a' * x", "strings"),
    ("b'a' * x", "bytes"),
    ("True * x", "True/False"),
    ("1j * x", "complex numbers"),
    ("x ** 1000", "the exponent 1000 is too large"),
    ("x ** -101", "the exponent -101 is too large"),
    ("x ** 2 ** 2", "nested powers"),
    ("(x ** 2) ** 3", "nested powers"),
    ("x ** (y ** 2)", "nested powers"),
    ("1e7 * x", "too large"),
    ("1e400 * x", "too large"),
    ("x * 1" + "0" * 400, "the number 100… (401 digits) is too large"),  # no OverflowError
    ("x ** -1" + "0" * 400, "the exponent -100… (401 digits) is too large"),
    ("__import__ * 2", "the name '__import__' (names may not start with '__')"),
    ("x + __builtins__", "names may not start with '__'"),
    ("tanh(__x)", "names may not start with '__'"),
    ("x < y", "comparisons"),
    ("x and y", "and/or"),
    ("x if y else 1", "if/else"),
    ("(y := x)", "assignments"),
    ("open('f', 'w')", "unknown function 'open'"),
    ("eval('1')", "unknown function 'eval'"),
    ("exec('x')", "unknown function 'exec'"),
    ("x % 2", "the operator Mod"),
    ("x // 2", "the operator FloorDiv"),
    ("x @ y", "the operator MatMult"),
    ("~x", "the unary operator Invert"),
    ("not x", "the unary operator Not"),
    ("[x, y]", "lists"),
    ("x, y", "tuples"),
    ("{x: y}", "dicts"),
    ("f'{x}'", "f-strings"),
    ("import os", "not a valid expression"),
    ("x +", "not a valid expression"),
    ("", "an empty expression"),
    ("x" + " + x" * 700, "characters, more than 2000"),
    ("-" * 150 + "x", "nested deeper than 100"),
    ("(" * 300 + "x" + ")" * 300, "not a valid expression"),
]


@pytest.mark.parametrize("text, why", REFUSED)
def test_refused_expressions_say_why_and_what_is_allowed(text, why):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    message = str(caught.value)
    assert why in message
    assert ALLOWED in message


def test_allowed_expressions_build_the_expected_values():
    values = {"x": 2.0, "y": -0.5}
    cases = {
        "x * y + 3": 2.0, "-x ** 2": -4.0, "x / y - -1": -3.0, "x ** -1": 0.5, "2 ** x": 4.0,
        "x ** y": 2.0 ** -0.5, "exp(log(x))": 2.0, "sqrt(x * 8)": 4.0, "relu(y) + abs(y)": 0.5,
        "sigmoid(0 * x)": 0.5, "tanh(x * 0)": 0.0, "x ** 100": 2.0 ** 100, "1e6 * x": 2e6,
    }
    for text, expected in cases.items():
        assert build(parse(text), values).data == pytest.approx(expected), text


def test_names_become_labelled_leaves_shared_by_every_use():
    root = build(parse("x * x + y"), {"x": 3.0, "y": 1.0})
    root.backward()
    (square, y) = root.parents
    x = square.parents[0]
    assert square.parents[1] is x and (x.label, y.label) == ("x", "y")
    assert x.grad == 6.0 and y.grad == 1.0


def test_inputs_are_checked():
    assert parse_inputs(["x0=2", "w0=-3", "b = 6.88"]) == {"x0": 2.0, "w0": -3.0, "b": 6.88}
    for bad, why in [(["__import__=1"], "names may not start with '__'"), (["x=1", "ｘ=2"], "given twice"),
                     (["x:1"], "name=number"), (["1x=1"], "name=number"), (["x=1", "x=2"], "given twice"),
                     (["x=abc"], "not a number"), (["x=inf"], "finite"), (["x=nan"], "finite"),
                     (["x=2e6"], r"\|value\| <= 1e\+06"), (["x=-1e400"], "finite")]:
        with pytest.raises(ExpressionError, match=why):
            parse_inputs(bad)
    with pytest.raises(ExpressionError) as caught:
        parse_inputs(["__x=1"])
    assert str(caught.value).startswith("refused: ") and ALLOWED in str(caught.value)


def test_input_names_are_normalised_like_the_expressions_names():
    # Python's parser reads the fullwidth ｘ (U+FF58) as x; the input must mean the same name
    parsed = parse("ｘ * 2 + ℌ")
    assert parsed.names == ("x", "H")
    values = parse_inputs(["ｘ=1.5", "ℌ=1"])
    assert values == {"x": 1.5, "H": 1.0}
    assert build(parsed, values).data == 4.0


def test_missing_names_are_listed():
    parsed = parse("a * b + c * d")
    with pytest.raises(ExpressionError, match=r"no value for b, d: .* b=1\.0 d=1\.0"):
        build(parsed, {"a": 1.0, "c": 2.0})


def test_an_expression_without_names_is_refused():
    with pytest.raises(ExpressionError, match="no named inputs"):
        parse("2 * 3")


# ---- the command: refusals write nothing --------------------------------------------------------


@pytest.mark.parametrize("args, why", [
    (["__import__('os').system('touch MARKER')"], "attribute access"),
    (["open('MARKER', 'w').write('x')"], "attribute access"),
    (["x ** 1000", "x=2"], "exponent 1000"),
    (["tanh(w*x)", "w=1"], "no value for x"),
    (["tanh(w*x)", "w=1", "x=1e9"], "|value| <= 1e+06"),
    (["x*1" + "0" * 400, "x=1"], "(401 digits) is too large"),
    (["__import__*2", "__import__=1"], "names may not start with '__'"),
    (["x*2", "x=1", "__class__=1"], "names may not start with '__'"),
])
def test_refusals_exit_2_and_write_nothing(tmp_path, capsys, args, why):
    _run(tmp_path, *args, "-o", "out", expect=2)
    err = capsys.readouterr().err
    assert why in err and err.startswith("error: ")
    assert "Traceback" not in err and "OverflowError" not in err
    assert list(tmp_path.iterdir()) == []  # no MARKER, no out/


def test_a_malicious_expression_runs_nothing_in_a_real_process(tmp_path):
    marker = tmp_path / "MARKER"
    for expression in (f"__import__('os').system('touch {marker}')",
                       f"[__import__('os').system('touch {marker}') for _ in [1]]",
                       f"(lambda: __import__('os').system('touch {marker}'))()"):
        done = subprocess.run([sys.executable, "-m", "autograd.viz", expression, "-o", str(tmp_path / "out")],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr
        assert "refused" in done.stderr and "Allowed:" in done.stderr
        assert done.stdout == ""
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_unknown_flags_and_missing_expression_are_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["--format", "pdf", "x", "x=1"])
    assert caught.value.code == 2 and "invalid choice: 'pdf'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        cli.main([])
    assert caught.value.code == 2


# ---- writing the files -------------------------------------------------------------------------


def test_write_all_writes_every_file_or_none(tmp_path, monkeypatch):
    folder = tmp_path / "new" / "out"
    written = cli._write_all(folder, {"a.svg": b"<svg/>", "b.html": b"<html/>"})
    assert [p.name for p in written] == ["a.svg", "b.html"]
    assert sorted(p.name for p in folder.iterdir()) == ["a.svg", "b.html"]

    fresh = tmp_path / "fresh"
    real_open = open

    def failing_open(path, mode="r", *args, **kwargs):
        if str(path).startswith(str(fresh / ".b.html")):
            raise OSError(28, "No space left on device")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", failing_open)
    with pytest.raises(cli.OutputError, match="No space left on device.*-o"):
        cli._write_all(fresh, {"a.svg": b"<svg/>", "b.html": b"<html/>"})
    assert not fresh.exists()  # its temporary removed, the folder it created removed too


def test_an_output_path_that_is_a_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "taken").write_text("mine")
    with pytest.raises(cli.OutputError, match="exists and is not a folder"):
        cli._write_all(tmp_path / "taken", {"a.svg": b""})
    with pytest.raises(cli.OutputError, match="cannot write into"):
        cli._write_all(tmp_path / "taken" / "below", {"a.svg": b""})
    assert (tmp_path / "taken").read_text() == "mine"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write into read-only folders")
def test_a_read_only_folder_is_a_clear_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(cli.OutputError, match="Permission denied"):
            cli._write_all(locked, {"a.svg": b""})
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


# ---- writing the graph and the player -----------------------------------------------------------


def test_the_issue_example_writes_the_graph_and_the_player(tmp_path):
    done = subprocess.run([sys.executable, "-m", "autograd.viz", *NEURON, "-o", str(tmp_path / "out")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    graph, page = tmp_path / "out" / "graph.svg", tmp_path / "out" / "player.html"
    assert done.stdout.split() == [str(graph), str(page)]
    svg = graph.read_text()
    assert svg.lstrip().startswith(("<?xml", "<svg", "<!DOCTYPE")) and ">w0<" in svg and ">x1<" in svg
    assert "grad 1" in svg  # w0's gradient, from the real backward
    html = page.read_text()
    assert html.count("<svg") == 1
    assert "dL/dw0 += dL/d(w0·x0) · d(w0·x0)/dw0 = 0.5 × 2 = 1" in html
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["graph.svg", "player.html"]


def test_png_and_forward_steps(tmp_path, capsys):
    _run(tmp_path, "x * y + exp(x)", "x=1", "y=2", "--format", "png", "--forward", "-o", "pics", expect=0)
    out = capsys.readouterr().out.split()
    assert out == [str(pathlib.Path("pics") / "graph.png"), str(pathlib.Path("pics") / "player.html")]
    assert (tmp_path / "pics" / "graph.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    html = (tmp_path / "pics" / "player.html").read_text()
    assert '"kind":"forward"' in html and "exp(x) = exp(1) = 2.718" in html


def test_fullwidth_names_work_in_the_expression_and_the_inputs(tmp_path, capsys):
    _run(tmp_path, "ｘ*2", "ｘ=1", "-o", "out", expect=0)
    assert ">x<" in (tmp_path / "out" / "graph.svg").read_text()


def test_unused_inputs_are_noted_not_refused(tmp_path, capsys):
    _run(tmp_path, "x * 2", "x=1", "unused=3", "-o", "out", expect=0)
    assert "unused given but not used" in capsys.readouterr().err


def test_failures_after_checking_exit_1_and_write_nothing(tmp_path, capsys, monkeypatch):
    from autograd import Value

    def division_by_zero(self, grad=None):
        raise ZeroDivisionError("float division by zero")

    with monkeypatch.context() as patch:
        patch.setattr(Value, "backward", division_by_zero)
        _run(tmp_path, "x / y", "x=1", "y=0", "-o", "out", expect=1)
    assert "gradient cannot be computed at these inputs" in capsys.readouterr().err

    monkeypatch.setenv("TRACEGRAD_DOT", "/nonexistent/dot")  # a renderer that cannot run
    _run(tmp_path, "x * 2", "x=1", "-o", "out", expect=1)
    assert "Cannot run the Graphviz renderer '/nonexistent/dot'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_output_folder_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "taken").write_text("mine")
    _run(tmp_path, "x * 2", "x=1", "-o", "taken/out", expect=1)
    err = capsys.readouterr().err
    assert "cannot write into 'taken/out'" in err and "-o" in err
    assert (tmp_path / "taken").read_text() == "mine" and len(list(tmp_path.iterdir())) == 1
