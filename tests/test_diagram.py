"""archcalc diagram: nodes, shape-labelled edges and block clusters, in Mermaid, DOT and SVG."""

import re
import xml.etree.ElementTree as ET

import pytest

import archcalc
from archcalc.plot.diagram import build_diagram, layout, to_dot, to_mermaid, to_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_vgg16_full_graph_is_a_chain_with_shapes():
    graph = archcalc.load("vgg16")
    d = build_diagram(graph)
    assert len(d.nodes) == len(graph.nodes) == 40 and len(d.edges) == 39
    assert list(d.clusters) == ["block1", "block2", "block3", "block4", "block5"]
    by_name = {n.name: n for n in d.nodes}
    conv1 = by_name["block1.conv1"]
    assert conv1.cluster == "block1" and conv1.lines == ["conv1", "conv 3×3"]
    assert by_name["block1.maxpool1"].lines == ["maxpool1", "maxpool 2×2 /2"]
    out = next(e for e in d.edges if e.src == conv1.id)
    assert out.shape == (64, 224, 224) and out.label == "64×224×224"
    assert by_name["fc8"].output and by_name["fc8"].lines[-1] == "→ 1000"


def test_depth_collapses_blocks_like_summary():
    d = build_diagram(archcalc.load("vgg16"), depth=1)
    blocks = [n for n in d.nodes if n.kind == "block"]
    assert [(b.name, b.layers) for b in blocks] == [("block1", 5), ("block2", 5), ("block3", 7), ("block4", 7),
                                                    ("block5", 7)]
    assert len(d.nodes) == 14 and len(d.edges) == 13 and d.clusters == {}
    assert [e.label for e in d.edges[:6]] == ["3×224×224", "64×112×112", "128×56×56", "256×28×28",
                                              "512×14×14", "512×7×7"]


def test_resnet18_residuals_and_nested_clusters():
    graph = archcalc.load("resnet18")
    full = build_diagram(graph)
    assert len(full.nodes) == 70 and len(full.edges) == sum(len(n.inputs) for n in graph.nodes) == 77
    assert full.clusters["layer1.0"].parent == "layer1" and full.clusters["layer1"].parent is None
    adds = [n for n in full.nodes if n.kind == "add"]
    assert len(adds) == 8 and all(sum(e.dst == a.id for e in full.edges) == 2 for a in adds)
    # The projection shortcut of layer2.0 sits in its own nested cluster.
    assert full.clusters["layer2.0.shortcut1"].parent == "layer2.0"

    d2 = build_diagram(graph, depth=2)
    assert list(d2.clusters) == ["layer1", "layer2", "layer3", "layer4"]
    blocks = {n.name: n for n in d2.nodes if n.kind == "block"}
    assert sorted(blocks) == [f"layer{i}.{j}" for i in range(1, 5) for j in (0, 1)]
    assert blocks["layer2.0"].cluster == "layer2" and blocks["layer2.0"].layers == 9
    # Internal and shortcut edges vanish into the block: a plain chain of 16 nodes remains.
    assert len(d2.nodes) == 16 and len(d2.edges) == 15
    assert all(e.src != e.dst for e in d2.edges)


def test_training_only_heads_are_marked():
    d = build_diagram(archcalc.load("googlenet"), depth=1)
    aux = [n for n in d.nodes if n.training_only]
    assert {n.name for n in aux} == {"aux1", "aux2"}
    assert {n.name for n in d.nodes if n.output} == {"fc", "aux1", "aux2"}


def test_mermaid_text():
    d = build_diagram(archcalc.load("resnet18"))
    text = to_mermaid(d)
    assert text.startswith("flowchart TB\n")
    assert len(re.findall(r"^\s*subgraph c\d+\[\"[^\"]+\"\]$", text, re.M)) == len(d.clusters)
    assert len(re.findall(r"^\s*end$", text, re.M)) == len(d.clusters)
    edges = re.findall(r'^  (\w+) -->\|"([^"]+)"\| (\w+)$', text, re.M)
    assert len(edges) == len(d.edges)
    assert ("n0", "3×224×224", "n1") in edges
    assert 'subgraph c0["layer1"]' in text and 'n5["conv1<br/>conv 3×3"]' in text


def test_dot_text():
    d = build_diagram(archcalc.load("bottleneck"))
    text = to_dot(d)
    assert text.startswith('digraph "bottleneck" {') and text.rstrip().endswith("}")
    assert text.count("{") == text.count("}")
    clusters = re.findall(r'subgraph "cluster_\d+" \{\n\s+label="([^"]+)"', text)
    assert clusters == ["branch1", "branch2", "branch3", "branch4"]
    edges = re.findall(r'^  (\w+) -> (\w+) \[label="([^"]+)"\];$', text, re.M)
    assert len(edges) == len(d.edges) == 11
    # The input fans out to the 4 branches, and the 3×3 max pool (stride 1) keeps its shape.
    assert sum(1 for _, _, shape in edges if shape == "256×28×28") == 5


@pytest.mark.parametrize("spec,depth", [("bottleneck", None), ("resnet18", None), ("googlenet", 2),
                                         ("densenet121", 2), ("nasnet-a-mobile", 3)])
def test_svg_layout_and_drawing(spec, depth):
    d = build_diagram(archcalc.load(spec), depth)
    lay = layout(d)
    rects = list(lay.nodes.values())
    assert len(rects) == len(d.nodes)
    for i, a in enumerate(rects):  # no two nodes overlap
        assert not any(a.overlaps(b) for b in rects[i + 1:])
    for n in d.nodes:  # every node lies inside each of its clusters
        c = n.cluster
        while c is not None:
            assert lay.clusters[c].contains(lay.nodes[n.id]), (n.name, c)
            c = d.clusters[c].parent
    siblings = {}
    for path, c in d.clusters.items():
        siblings.setdefault(c.parent, []).append(lay.clusters[path])
    for group in siblings.values():
        assert not any(a.overlaps(b) for i, a in enumerate(group) for b in group[i + 1:])
    for e in d.edges:  # edges point down the page
        assert lay.nodes[e.dst].y > lay.nodes[e.src].y

    root = ET.fromstring(to_svg(d))
    groups = root.findall(f"{SVG}g")
    kinds = [g.get("class").split()[0] for g in groups]
    assert kinds.count("node") == len(d.nodes)
    assert kinds.count("edge") == len(d.edges)
    assert kinds.count("cluster") == len(d.clusters)
    shapes = [g.get("data-shape") for g in groups if g.get("class") == "edge"]
    assert shapes == [e.label for e in d.edges]
    written = {t.text for t in root.iter(f"{SVG}text") if t.get("class") == "shape"}
    assert written == {e.label for e in d.edges}
    assert float(root.get("width")) >= lay.width and root.find(f"{SVG}title").text == d.title


def test_cli_diagram(run, tmp_path):
    result = run("diagram", "resnet18", "--depth", "2")
    assert result.exit_code == 0 and result.output.startswith("flowchart TB")
    out = tmp_path / "r18.svg"
    assert run("diagram", "resnet18", "-o", str(out)).exit_code == 0
    assert ET.parse(out).getroot().tag == f"{SVG}svg"  # format from the suffix
    assert run("diagram", "resnet18", "-o", str(out)).exit_code == 2  # exists, no --force
    dot = tmp_path / "r18.gv"
    assert run("diagram", "resnet18", "--depth", "1", "-o", str(dot)).exit_code == 0
    assert dot.read_text().startswith('digraph "resnet18"')
    result = run("diagram", "mobilenet-v1", "--set", "alpha=0.5", "--input", "3x160x160", "--format", "dot")
    assert '[label="3×160×160"]' in result.output and '[label="16×80×80"]' in result.output
    assert "Examples:" in run("diagram", "--help").output
