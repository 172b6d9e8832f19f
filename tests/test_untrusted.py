"""Untrusted spec text, by sink: hostile payloads in every field that reaches an output,
through every command and format that prints it (issue 13).

Each (payload, field) is first read on its own: the reader either refuses it with a
located error (whose rendering must itself be safe for a terminal and a CI log) or
accepts it. Per payload, one spec then carries it in every field that accepted it, and
a second spec is written at a file path made of it (the path reaches headings,
messages and the exported source); each command and format runs once on each and its
output is held to the rule of its sink (see archcalc/sinks.py). The exported modules
are imported together in one subprocess, which must create no marker file.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from fuzzing import HOSTILE, MARKER

import archcalc
from archcalc.errors import SpecError

ERROR_LINE = re.compile(r"^.+:\d+:\d+: error: ", re.M)

# A spec with every free-text field and identifier that reaches an output. The `expect:`
# figure is wrong on purpose, so `check` prints the finding with its source.
TEMPLATE = """\
{name_line}title: {title}
source: {source}
notes: {notes}
input: [3, 8, 8]
blocks:
  stage:
    doc: {doc}
    layers:
      - conv: {{out: 4, kernel: 3, padding: 1}}
      - relu
layers:
  - stage
  - conv: {{out: 4, kernel: 1, name: head}}
expect:
  - {{params: 1, source: {expect_source}}}
reference: {{top1: {top1}, source: {reference_source}, dataset: {dataset}}}
"""
TEXT_FIELDS = ("name", "title", "source", "notes", "doc", "expect_source", "reference_source", "dataset")
SAFE = {field: json.dumps(f"plain {field}") for field in TEXT_FIELDS}

# Places that quote what was written in an error message.
ERROR_SPECS = {
    "key": "input: [3, 8, 8]\n{payload}: 1\nlayers: [relu]\n",
    "kind": "input: [3, 8, 8]\nlayers: [{payload}]\n",
    "expression": "input: [3, 8, 8]\nlayers: [{{conv: {{out: {payload}, kernel: 1}}}}]\n",
    "expression_tail": "input: [3, 8, 8]\nlayers: [{{conv: {{out: {tail}, kernel: 1}}}}]\n",
    "from": "input: [3, 8, 8]\nlayers: [{{relu: {{from: {payload}}}}}]\n",
    "node_name": "input: [3, 8, 8]\nlayers: [{{relu: {{name: {payload}}}}}]\n",
    "block_name": "input: [3, 8, 8]\nblocks: {{{payload}: [relu]}}\nlayers: [relu]\n",
    "variable": "input: [3, 8, 8]\nvars: {{{payload}: 1}}\nlayers: [relu]\n",
    "argument": "input: [3, 8, 8]\nlayers: [{{conv: {{out: 4, kernel: 1, {payload}: 2}}}}]\n",
}


def yaml_text(payload: str) -> str:
    """``payload`` as a YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(payload)


def spec_text(payload: str | None = None, fields=(), named: bool = True, top1: float = 50) -> str:
    values = dict(SAFE)
    for field in fields:
        values[field] = yaml_text(payload)
    name = values.pop("name")
    return TEMPLATE.format(name_line=f"name: {name}\n" if named else "", top1=top1, **values)


# --- the sinks' rules ----------------------------------------------------------------------------

def assert_terminal(text: str) -> None:
    """Nothing that acts on a terminal, and no line a GitHub runner reads as a command."""
    assert "\x1b" not in text
    assert "Traceback" not in text
    for line in text.split("\n"):
        assert line.isprintable() or all(c.isprintable() or c == "\u00a0" for c in line), repr(line)
        assert not line.strip().startswith("::"), repr(line)


def assert_exit(result, codes=(0, 1)) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in codes, (result.exit_code, result.output)
    if result.exit_code == 1:
        assert ERROR_LINE.search(result.output) or "FAIL" in result.output, result.output


def assert_github(text: str) -> None:
    """`check --format github`: each problem is one workflow command, and nothing else is."""
    lines = text.rstrip("\n").split("\n")
    assert lines[-1].startswith("archcalc check: ")
    for line in lines[:-1]:
        assert re.fullmatch(r"::error file=[^:,]*(,line=\d+,col=\d+)?::[^\n\r]*", line), repr(line)
        assert line.isprintable(), repr(line)


_DOT_STRING = r'"(?:[^"\\\n]|\\.)*"'
_MERMAID_LABEL = r'"[^"\n]*"'
# Per format: what a node line, an edge line and any other line may look like.
GRAPH_SYNTAX = {
    "dot": (
        rf"\s*n\d+ \[label={_DOT_STRING}(, [a-z]+=(\S+|{_DOT_STRING}))*\];",
        rf"\s*n\d+ -> n\d+ \[label={_DOT_STRING}\];",
        [rf"digraph {_DOT_STRING} {{", r"\s*}", r"\s*(graph|node|edge) \[.*\];",
         rf"\s*subgraph {_DOT_STRING} {{", rf"\s*label={_DOT_STRING}; style=.*;"],
    ),
    "mermaid": (
        rf"\s*n\d+(\[\[{_MERMAID_LABEL}\]\]|\(\[{_MERMAID_LABEL}\]\)|\[{_MERMAID_LABEL}\])",
        rf"  n\d+ -->\|{_MERMAID_LABEL}\| n\d+",
        [r"flowchart TB", r"  %% [^\n]*", r"\s*direction TB", r"\s*end", r"  classDef \w+ [\w:#.,\- ]+",
         r"  class [n\d,]+ \w+", rf"\s*subgraph c\d+\[{_MERMAID_LABEL}\]"],
    ),
}


def assert_graph_text(fmt: str, text: str, nodes: int, edges: int) -> None:
    """DOT or Mermaid: every line a known statement, and exactly the spec's nodes and edges."""
    node, edge, others = GRAPH_SYNTAX[fmt]
    assert "\x00" not in text
    found = {"nodes": 0, "edges": 0}
    for line in text.rstrip("\n").split("\n"):
        if re.fullmatch(node, line):
            found["nodes"] += 1
        elif re.fullmatch(edge, line):
            found["edges"] += 1
        else:
            assert any(re.fullmatch(p, line) for p in others), repr(line)
            assert line.startswith("  %% ") or "click" not in line
    assert found == {"nodes": nodes, "edges": edges}


def assert_svg(data: bytes) -> None:
    root = ET.fromstring(data)
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1].lower()
        assert tag not in ("script", "foreignobject", "iframe"), tag
        assert not any(name.lower().startswith("on") for name in element.attrib), element.attrib
        assert not any("javascript:" in value.lower() for value in element.attrib.values())


def assert_markdown(text: str, columns: int) -> None:
    """Tables (separated by a blank line) whose every row has exactly ``columns`` cells, and
    the totals list under a summary, whose items are archcalc's own labels and figures."""
    lines = [line for line in text.rstrip("\n").split("\n") if line]
    for line in lines:
        if re.fullmatch(r"- \*\*[A-Za-z ]+\*\* [^|<\x1b]*", line):
            continue
        assert line.startswith("|") and line.endswith("|"), repr(line)
        cells = re.split(r"(?<!\\)\|", line)[1:-1]
        assert len(cells) == columns, repr(line)
        assert not re.search(r"<(?!br>)", line), repr(line)


def json_strings(data) -> set[str]:
    if isinstance(data, dict):
        return set().union(*map(json_strings, data.values()), set())
    if isinstance(data, list):
        return set().union(*map(json_strings, data), set())
    return {data} if isinstance(data, str) else set()


def assert_csv(text: str) -> None:
    rows = list(csv.reader(io.StringIO(text)))
    assert len({len(r) for r in rows}) == 1
    for row in rows[1:]:
        assert not any(cell[:1] in ("=", "+", "@") for cell in row)


# --- which fields accept which payloads ------------------------------------------------------------

def read(text: str, name: str = "spec.yaml"):
    """The graph, or the SpecError, checked: located in the file and safe to print."""
    try:
        return archcalc.load_text(text, name)
    except SpecError as exc:
        assert exc.location is not None and exc.file == name, exc.render()
        assert_terminal(exc.render())
        return exc


ACCEPTED = {
    key: [f for f in TEXT_FIELDS if not isinstance(read(spec_text(payload, [f])), SpecError)]
    for key, payload in HOSTILE.items()
}


def test_the_rules_of_each_field():
    """Identifiers take printable text on one line; free text may add line breaks; no field takes
    a control or format character."""
    free = {"title", "source", "notes", "doc", "expect_source", "reference_source"}
    for key, payload in HOSTILE.items():
        printable = payload.isprintable()
        with_breaks = payload.replace("\n", "").isprintable()
        expected = [f for f in TEXT_FIELDS if printable or (f in free and with_breaks)]
        assert ACCEPTED[key] == expected, key
    assert ACCEPTED["newline_middle"] == ["title", "source", "notes", "doc", "expect_source", "reference_source"]
    assert ACCEPTED["rich_markup"] == list(TEXT_FIELDS)
    assert ACCEPTED["bidi"] == [] and ACCEPTED["escape_clear"] == [] and ACCEPTED["nul"] == []
    assert sorted(set(HOSTILE) - set(WRITTEN)) == ["nul", "osc8_link"]


@pytest.mark.parametrize("key", sorted(HOSTILE))
def test_refusals_are_located_and_printable(key, run, tmp_path):
    """A refused field gives a located error on every output a CI run shows."""
    payload = HOSTILE[key]
    for field in TEXT_FIELDS:
        if field in ACCEPTED[key]:
            continue
        path = tmp_path / f"{field}.yaml"
        path.write_text(spec_text(payload, [field]), encoding="utf-8")
        text = run("check", str(path))
        assert text.exit_code == 1 and ERROR_LINE.search(text.output), text.output
        assert_terminal(text.output)
        assert_github(run("check", str(path), "--format", "github").output)
        summary = run("summary", str(path))
        assert summary.exit_code == 1 and summary.stdout == ""
        assert_terminal(summary.output)


@pytest.mark.parametrize("where", sorted(ERROR_SPECS))
def test_error_messages_quote_hostile_text_safely(where, run, tmp_path):
    """Keys, kinds, expressions, `from:` and names are quoted in messages; the quote is safe."""
    for key, payload in HOSTILE.items():
        text = ERROR_SPECS[where].format(payload=yaml_text(payload), tail=yaml_text("1 + " + payload))
        path = tmp_path / f"{key}.yaml"
        path.write_text(text, encoding="utf-8")
        error = read(text, str(path))
        assert isinstance(error, SpecError), (where, key)
        for args in (["check", str(path)], ["summary", str(path)], ["diagram", str(path)]):
            result = run(*args)
            assert result.exit_code == 1 and ERROR_LINE.search(result.output), result.output
            assert_terminal(result.output)
        assert_github(run("check", str(path), "--format", "github").output)


# --- accepted text, through every command and format -------------------------------------------------

def can_name_a_file(payload: str) -> bool:
    return "\x00" not in payload and "/" not in payload


# Payloads some output can hold; the others are refused in every field (test_the_rules_of_each_field).
WRITTEN = sorted(key for key, payload in HOSTILE.items() if ACCEPTED[key] or can_name_a_file(payload))


def hostile_files(key: str, tmp_path):
    """The spec carrying HOSTILE[key] in every field that accepts it, and a spec at a path made
    of it (when a file can have that name; its graph takes the path as its name)."""
    payload = HOSTILE[key]
    top1 = 20 + 60 * sorted(HOSTILE).index(key) / len(HOSTILE)  # apart on the landscape
    files = []
    if ACCEPTED[key]:
        path = tmp_path / "fields.yaml"
        path.write_text(spec_text(payload, ACCEPTED[key], top1=top1), encoding="utf-8")
        files.append(path)
    if can_name_a_file(payload):
        path = tmp_path / (payload + ".yaml")
        path.write_text(spec_text(named=False, top1=top1 + 0.5), encoding="utf-8")
        files.append(path)
    return files


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny.yaml"
    path.write_text("name: tiny\ninput: [3, 8, 8]\nlayers: [relu]\n", encoding="utf-8")
    return str(path)


def test_the_template_graph():
    graph = archcalc.load_text(spec_text(), "spec.yaml")
    assert [n.name for n in graph.nodes] == ["input", "stage1.conv1", "stage1.relu1", "head"]
    assert sum(len(n.inputs) for n in graph.nodes) == 3


@pytest.mark.parametrize("key", WRITTEN)
def test_text_outputs_obey_their_sink(key, run, tmp_path, tiny):
    for path in hostile_files(key, tmp_path):
        spec = str(path)
        graph = archcalc.load(spec)
        nodes, edges = len(graph.nodes), sum(len(n.inputs) for n in graph.nodes)
        for args in (["summary", spec], ["memory", spec], ["compare", spec, tiny], ["compare", tiny, spec],
                     ["compare", spec, tiny, "--by-block"], ["summary", spec, "--depth", "1"],
                     ["memory", spec, "--layers"], ["roofline", spec, "--device", "a100"],
                     ["sweep", spec, "--batch", "1,2", "--device", "a100"]):
            result = run(*args)
            assert_exit(result, (0,))
            assert_terminal(result.output)
        check = run("check", spec, tiny)
        assert_exit(check, (1,))
        assert_terminal(check.output)
        assert_github(run("check", spec, tiny, "--format", "github").output)
        json.loads(run("check", spec, "--format", "json").stdout)
        for args in (["summary", spec, "--format", "json"], ["compare", spec, tiny, "--format", "json"],
                     ["memory", spec, "--format", "json"]):
            assert graph.title in json_strings(json.loads(run(*args).stdout))  # JSON keeps text exactly
        assert_csv(run("summary", spec, "--format", "csv").stdout)
        assert_csv(run("sweep", spec, "--batch", "1,2", "--device", "a100", "--format", "csv").stdout)
        assert_markdown(run("summary", spec, "--format", "markdown").stdout, 8)
        assert_markdown(run("compare", spec, tiny, "--format", "markdown").stdout, 3)
        assert_markdown(run("compare", spec, tiny, "--format", "markdown", "--by-block").stdout, 3)
        assert_graph_text("dot", run("diagram", spec, "--format", "dot").stdout, nodes, edges)
        assert_graph_text("mermaid", run("diagram", spec, "--format", "mermaid").stdout, nodes, edges)
        svg = tmp_path / "diagram.svg"
        assert_exit(run("diagram", spec, "-o", str(svg), "--force"), (0,))
        assert_svg(svg.read_bytes())


def test_plots_obey_their_sink(run, tmp_path):
    """matplotlib never reads spec text as mathtext, and the SVG it writes is well-formed.

    Spec names (and file names standing in for them) reach the landscape's labels, titles
    the layer chart's heading: one landscape of every hostile spec, and one layer chart
    whose title holds every payload a title accepts, keep this to two drawings.
    """
    pytest.importorskip("matplotlib")
    files = []
    for key in sorted(HOSTILE):
        (tmp_path / key).mkdir()
        files += hostile_files(key, tmp_path / key)
    out = tmp_path / "landscape.svg"
    result = run("plot", "landscape", *map(str, files), "-o", str(out))
    assert_exit(result, (0,))
    assert_svg(out.read_bytes())
    labels = [e for e in ET.fromstring(out.read_bytes()).iter() if e.get("id", "").startswith("label:")]
    assert len(labels) == len({archcalc.load(f).name for f in files})  # one point per spec name
    title = " · ".join(HOSTILE[key] for key in sorted(HOSTILE) if "title" in ACCEPTED[key])
    path = tmp_path / "titled.yaml"
    path.write_text(spec_text(title, ["title"]), encoding="utf-8")
    out = tmp_path / "layers.svg"
    assert_exit(run("plot", "layers", str(path), "-o", str(out)), (0,))
    assert_svg(out.read_bytes())


def test_rich_markup_is_shown_as_written(run, tmp_path, tiny):
    """A name that looks like markup is printed as it is, not styled, linked or refused."""
    for name in ("[/bold]", "[link=https://example.com]x[/link]", "[bold red]loud", "a :smile: :warning:"):
        path = tmp_path / "markup.yaml"
        path.write_text(f"name: {yaml_text(name)}\ninput: [3, 8, 8]\nlayers: [relu]\n", encoding="utf-8")
        out = run("compare", str(path), tiny).output
        assert name in out
    described = run("kinds", "conv").output
    assert "kernel size: n or [h, w]" in described


def test_on_a_terminal_the_only_escapes_are_archcalc_styles():
    """Printed to a real terminal, the reports hold escape sequences: only the colours archcalc
    chose (SGR, ``ESC [ ... m``), never one from a graph's text, even a graph made in Python."""
    from rich.console import Console

    from archcalc.memory import estimate_memory
    from archcalc.report import compare
    from archcalc.report.memory import memory_renderable
    from archcalc.report.rows import DEFAULT_COLUMNS, summary_rows
    from archcalc.report.text import summary_renderable

    graph = archcalc.load_text(spec_text(), "spec.yaml")
    graph.name, graph.title = "\x1b]8;;https://example.com\x1b\\n[red]", "\x1b[2J\x9b31m\n\u202ex"
    analysis = archcalc.analyze(graph)
    console = Console(file=io.StringIO(), force_terminal=True, color_system="standard", width=200)
    console.print(summary_renderable(analysis, summary_rows(analysis), DEFAULT_COLUMNS))
    console.print(memory_renderable(estimate_memory(graph)))
    console.print(compare.renderable([analysis, analysis], by_block=True))
    out = console.file.getvalue()
    assert "\x1b[1m" in out  # the bold headings: styling is there
    for line in re.sub(r"\x1b\[[0-9;]*m", "", out).split("\n"):
        assert line.isprintable() and not line.strip().startswith("::"), repr(line)


def test_a_long_path_folded_by_rich_never_starts_a_line_with_two_colons(run, tmp_path):
    """rich folds a word longer than the width at any character, so a ``::`` inside a long path
    (no space before it) can land at the start of a line: the sweep's heading, in a folder whose
    name puts the fold just before the ``::`` at one of these widths (found in a full test run,
    where the path depended on the temporary folder's length)."""
    folder = tmp_path / ("d" * 60)
    folder.mkdir()
    spec = folder / "::warning::x.yaml"
    spec.write_text(spec_text(named=False), encoding="utf-8")
    for width in range(40, 140):
        result = run("sweep", str(spec), "--batch", "1,2", "--device", "a100", env={"COLUMNS": str(width)})
        assert_exit(result, (0,))
        assert_terminal(result.output)


@pytest.mark.parametrize("brk", ["\n", "\r", "\r\n", "\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_python_comments_split_on_every_python_line_break(brk):
    import ast

    from archcalc.sinks import python_comment

    lines = python_comment(f"title{brk}import os{brk}\x00")
    assert lines == ["# title", "# import os", "# \\x00"]
    assert ast.parse("\n".join(lines)).body == []


def test_exported_modules_run_no_spec_text(run, tmp_path):
    """`export` writes spec text and file names only into comments split on every Python line
    break, or through repr(): importing the modules runs nothing else (no marker file)."""
    pytest.importorskip("torch")
    out = tmp_path / "out"
    out.mkdir()
    modules = []
    for key in sorted(HOSTILE):
        (tmp_path / key).mkdir()
        for i, path in enumerate(hostile_files(key, tmp_path / key)):
            module = f"m_{key}_{i}"
            assert_exit(run("export", str(path), "-o", str(out / f"{module}.py")), (0,))
            modules.append(module)
    assert len(modules) > len(HOSTILE)
    code = "; ".join(f"import {m}" for m in modules) + "; print('imported')"
    done = subprocess.run([sys.executable, "-c", code], cwd=out, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "imported" in done.stdout, done.stderr
    assert not (out / MARKER).exists()


# --- the reproducers of issue 13, one each --------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ('name: "x\\nimport os; open(\\"MARKER\\", \\"w\\") #"\n', "1:7: error: `name` holds U+000A"),
    ('name: x\ntitle: "a\\rimport os #"\n', "2:8: error: a value holds U+000D, a control character"),
])
def test_reproducer_export_of_a_line_break_in_name_or_title_is_refused(text, message, run, tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(text + "input: [3, 8, 8]\nlayers: [relu]\n")
    result = run("export", str(path), "-o", str(tmp_path / "r.py"))
    assert result.exit_code == 1 and f"{path}:{message}" in result.output
    assert not (tmp_path / "r.py").exists()


def test_reproducer_workflow_command_in_a_key(run, tmp_path):
    path = tmp_path / "k.yaml"
    path.write_text('input: [3, 8, 8]\n"x\\n::add-mask::secret": 1\nlayers: [relu]\n')
    out = run("check", str(path)).output
    assert f"{path}:2:1: error: a key holds U+000A" in out
    assert not any(line.strip().startswith("::") for line in out.splitlines())


def test_reproducer_workflow_command_in_a_file_name(run, tmp_path):
    path = tmp_path / "x\n::stop-commands::token.yaml"
    path.write_text("input: [3, 8, 8]\nlayers: [relu]\nexpect: [{params: 1}]\n")
    out = run("check", str(path)).output
    assert "x\\n\\x3a:stop-commands\\x3a:token.yaml" in out  # shown, the break and every "::" escaped
    assert not any(line.strip().startswith("::") for line in out.splitlines())


def test_reproducer_escape_sequences_in_title_and_messages(run, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text('title: "\\e[2J\\e]8;;http://x\\e\\\\link"\ninput: [3, 8, 8]\nlayers: [relu]\n')
    result = run("summary", str(path))
    assert result.exit_code == 1 and "U+001B" in result.output and "\x1b" not in result.output
    path.write_text('input: [3, 8, 8]\nlayers: [{conv: {out: "1 +\\n\\u202e2", kernel: 1}}]\n')
    result = run("summary", str(path))
    assert result.exit_code == 1 and "U+202E" in result.output and "\u202e" not in result.output


def test_reproducer_markup_in_compare_does_not_fail(run, tmp_path, tiny):
    path = tmp_path / "m.yaml"
    path.write_text('name: "[/bold]"\ninput: [3, 8, 8]\nlayers: [relu]\n')
    result = run("compare", str(path), tiny)
    assert result.exit_code == 0 and "[/bold]" in result.output


def test_reproducer_mermaid_title_adds_no_statement(run, tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text('title: "t\\n  click n0 href \\"javascript:alert(1)\\"\\n  n9[evil]"\n'
                    "input: [3, 8, 8]\nlayers: [relu]\n")
    out = run("diagram", str(path), "--format", "mermaid").stdout
    assert_graph_text("mermaid", out, 2, 1)
    assert out.splitlines()[1].startswith("  %% t   click n0 href #quot;javascript:alert(1)#quot;   n9[evil]")


def test_reproducer_markdown_header_is_escaped(run, tmp_path, tiny):
    path = tmp_path / "md.yaml"
    path.write_text('name: "a | b <img src=x onerror=alert(1)>"\ninput: [3, 8, 8]\nlayers: [relu]\n')
    out = run("compare", str(path), tiny, "--format", "markdown").stdout
    assert out.splitlines()[0] == "|  | a \\| b &lt;img src=x onerror=alert(1)&gt; | tiny |"
    assert_markdown(out, 3)


def test_reproducer_mathtext_dollars_plot(run, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "p.yaml"
    path.write_text("name: 'net$\\frac$'\ntitle: 'Cost in $'\ninput: [3, 8, 8]\nlayers: [relu]\n"
                    "reference: {top1: 50}\n")
    result = run("plot", "landscape", str(path), "-o", str(tmp_path / "none.svg"))
    assert result.exit_code == 1 and "net$\\frac$: no MACs, so no place" in result.output
    path.write_text(path.read_text().replace("[relu]", "[{conv: {out: 4, kernel: 3}}]"))
    for kind in ("layers", "landscape"):
        result = run("plot", kind, str(path), "-o", str(tmp_path / f"{kind}.svg"))
        assert result.exit_code == 0, result.output
        assert_svg((tmp_path / f"{kind}.svg").read_bytes())


def test_reproducer_control_characters_cannot_break_svg_or_dot(run, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text('title: "a\\x07b"\ninput: [3, 8, 8]\nlayers: [relu]\n')
    assert run("diagram", str(path), "-o", str(tmp_path / "c.svg")).exit_code == 1
    path = tmp_path / "n.yaml"
    path.write_text('name: "a\\0b"\ninput: [3, 8, 8]\nlayers: [relu]\n')
    result = run("diagram", str(path), "--format", "dot")
    assert result.exit_code == 1 and "U+0000" in result.output and "\x00" not in result.output
    # A graph made in Python is not read through the rules; the writers escape on their own.
    from archcalc.plot.diagram import build_diagram, to_dot, to_svg

    graph = archcalc.load_text("input: [3, 8, 8]\nlayers: [relu]\n", "g.yaml")
    graph.name, graph.title = "a\x00b\"", "t\x07<script>]]>"
    assert_graph_text("dot", to_dot(build_diagram(graph)), 2, 1)
    assert_svg(to_svg(build_diagram(graph)).encode())


def test_reproducer_alias_repeated_name_is_reported_at_the_alias():
    text = "input: [3, 8, 8]\nlayers:\n  - &c {conv: {out: 4, kernel: 3, padding: 1}, name: a}\n  - relu\n  - *c\n"
    error = read(text)
    assert isinstance(error, SpecError)
    assert (error.line, error.column) == (5, 5)
    assert error.message == "duplicate node name 'a': conv 'a' is already defined at line 3, and the alias *c repeats it"
    assert error.notes == ["spec.yaml:3:54: the name is written here, in the anchored text"]


def test_reproducer_long_sum_gets_its_own_message(monkeypatch):
    from archcalc.limits import LIMITS

    monkeypatch.setattr(LIMITS, "max_expression_chars", 100_000)
    monkeypatch.setattr(LIMITS, "max_expression_nodes", 100_000)
    terms = "+".join(["1"] * 1000)
    error = read(f'input: [3, 8, 8]\nlayers: [{{conv: {{out: "{terms}", kernel: 1}}}}]\n')
    assert isinstance(error, SpecError) and (error.line, error.column) == (2, 23)
    assert "expression nests 1000 levels deep; the limit is 100" in error.message
    graph = read(f'input: [3, 8, 8]\nlayers: [{{conv: {{out: "{"+".join(["1"] * 90)}", kernel: 1}}}}]\n')
    assert graph.nodes[1].shape == (90, 8, 8)


def test_reproducer_failed_allocation_is_one_line(run, tmp_path):
    pytest.importorskip("torch")
    path = tmp_path / "big.yaml"
    path.write_text("name: big\ninput: [1]\nlayers: [{linear: {out: 1000000000000}}]\n")
    result = run("profile", str(path), "--allow-large", "--no-flops")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: 'big' at batch 1 in float32: cpu could not allocate 3.6 TiB (the network needs about "
        "10.9 TiB in all); lower the batch size or the spec's sizes")
