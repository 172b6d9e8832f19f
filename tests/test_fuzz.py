"""Fuzzing the spec pipeline with hypothesis.

Every built-in spec is mutated (keys deleted, duplicated and renamed, values
swapped for other types, random strings and numbers, zero/negative/huge sizes,
random `from:` targets and expressions), its text is mangled, and raw random YAML
is thrown at the loader. Each case must either analyse or raise a SpecError with
a file, line and column (see fuzzing.py); any other exception fails the test.

Specs written at random from the grammar of the language reach deeper into the
builder. About 2,000 examples a run (800 + 400 + 300 + 150 + 350), derandomized
so CI sees the same cases every time. Minimal failing cases found this way live
in tests/corpus/ (test_corpus.py).
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml
from fuzzing import HOSTILE, run_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc.library import builtin_paths
from archcalc.ops import REGISTRY
from archcalc.spec.language import CONSTRUCT_KEYS, META_KEYS, SHORTCUTS, TOP_KEYS
from archcalc.spec.yaml_loader import LList, LMap, load_yaml

pytestmark = pytest.mark.slow

TEXTS = {name: path.read_text(encoding="utf-8") for name, path in builtin_paths().items()}


def plain(value):
    if isinstance(value, LMap):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, LList):
        return [plain(v) for v in value]
    return value


TREES = {name: plain(load_yaml(text, name)) for name, text in TEXTS.items()}


def _strings(tree) -> set[str]:
    found: set[str] = set()
    stack = [tree]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            found.update(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and len(value) < 40:
            found.add(value)
    return found


WORDS = sorted(set().union(*(_strings(t) for t in TREES.values())))
FIELDS = sorted({f.name for op in REGISTRY.kinds() for f in op.fields})
KEYS = sorted(
    {*REGISTRY.ops, *CONSTRUCT_KEYS, *META_KEYS, *TOP_KEYS, *FIELDS, *SHORTCUTS,
     "layers", "index", "dense", "shortcut", "params", "blocks", "doc"}
)

NASTY_EXPRESSIONS = [
    "10 ** 10 ** 10", "__import__('os')", "x.y", "[1][0]", "(lambda: 1)()", "1 / 0", "1 // 0", "5 % 0",
    "(-8) ** 0.5", "2 ** -70", "max()", "min(1)", "round(1.5, 400)", "int(1e17) * 1e17", "1e308 * 10",
    "$in", "$h * $w", "$in // 1000", "$nope", "make_divisible(32 * 0.75, 8)", "make_divisible(1, 0)",
    "make_divisible(-5, 8)", "ceil(-0.5)", "floor(1e18)", "abs(-3)", "1 if $in > 3 else 0", "not 1",
    "1 < 2 < 3", "1 in 2", "1 is 1", "a if b else c", "((((((((((1))))))))))", "-" * 300 + "1",
    "(" * 120 + "1" + ")" * 120, "1 +", "", " ", "$", "$$in", "'text'", "f'{1}'", "1e400", "1_0",
    "max(1, 2) * min(3, 4) - $in", "2 * width", "num_classes + 1", "True + 1", "0 ** -1",
    # lists and the functions of RegNet-style specs
    "[0] * 10 ** 9", "[1, 2] + [3]", "-[1]", "[1, 2][10 ** 18]", "[1, 2][-3]", "[1, 2][0.5]", "[1][0:1]",
    "len(1)", "len([])", "max([])", "[[1, 2], [3]][1][0]", "[" * 60 + "1" + "]" * 60, "[" * 150 + "]" * 150,
    "int([1])", "log(0)", "log(-1, 2)", "log(8, 1)", "log2(0.0)", "exp(1e3)", "exp(-1e3)", "sqrt(-1)",
    "log(1e-300) * 1e300", "(1, 2)", "$in[0]", "[$in, $h][1]", "len([$in] * $in)",
]

numbers = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([0, -1, 1, 2, 3, 7, 64, 2**31, 10**9, 10**18, 10**18 + 1, 10**30, -(10**19)]),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False),
    st.sampled_from([1e-5, 0.5, 1.5, 2.0, 1e300, -0.0]),
)


@st.composite
def expressions(draw):
    if draw(st.booleans()):
        return draw(st.sampled_from(NASTY_EXPRESSIONS))
    atoms = st.one_of(
        st.integers(-5, 300).map(str), st.sampled_from(["$in", "$h", "$w", "i", "width", "alpha", "stride"]),
        st.sampled_from(WORDS),
    )
    parts = [draw(atoms)]
    for _ in range(draw(st.integers(0, 4))):
        parts += [draw(st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "<", "==", "and", "or", ","])),
                  draw(atoms)]
    text = " ".join(parts)
    wrap = draw(st.sampled_from(["{}", "max({})", "make_divisible({}, 8)", "({}) if $in else 1", "int({})"]))
    return wrap.format(text)


scalars = st.one_of(
    numbers, st.booleans(), st.none(), st.text(max_size=12), st.sampled_from(WORDS), expressions(),
    st.sampled_from(["yes", "no", "on", "off", "same", "valid", "~", "null", ".inf", "1e-5", "0x10"]),
    st.sampled_from(sorted(HOSTILE.values())),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(st.sampled_from(KEYS), scalars, max_size=3),
    st.lists(st.lists(scalars, max_size=3), max_size=3),
)
keys = st.one_of(st.sampled_from(KEYS), st.sampled_from(WORDS), st.text(min_size=1, max_size=10),
                 st.sampled_from(sorted(HOSTILE.values())))
layer_items = st.one_of(
    st.sampled_from(sorted(REGISTRY.ops)),
    st.builds(lambda k, v: {k: v}, st.sampled_from(KEYS), values),
    st.builds(lambda k, v, f: {k: v, "from": f}, st.sampled_from(sorted(REGISTRY.ops)), values,
              st.one_of(st.sampled_from(WORDS), st.lists(st.sampled_from(WORDS), max_size=3))),
)


def slots(tree):
    """Every (container, key-or-index) in a tree, in document order."""
    found = []
    stack = [tree]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                found.append((value, key))
                stack.append(item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                found.append((value, index))
                stack.append(item)
    return found


def mutate(draw, tree) -> None:
    found = slots(tree)
    if not found:
        return
    container, key = draw(st.sampled_from(found))
    action = draw(st.sampled_from(
        ["delete", "duplicate", "replace", "replace", "rename", "from", "insert", "meta", "size"]
    ))
    if action == "delete":
        del container[key]
    elif action == "duplicate":
        if isinstance(container, list):
            container.insert(key, copy.deepcopy(container[key]))
        else:
            container[draw(keys)] = copy.deepcopy(container[key])
    elif action == "replace":
        container[key] = draw(values)
    elif action == "size":
        container[key] = draw(st.sampled_from([0, -1, -64, 1, 10**6, 10**12, 10**18, 10**19, 2.5, "0", "-3"]))
    elif action == "rename" and isinstance(container, dict):
        new = draw(keys)
        items = [(new if k == key else k, v) for k, v in container.items()]
        container.clear()
        container.update(items)
    elif action in ("from", "meta") and isinstance(container, list):
        item = container[key]
        if isinstance(item, str):
            item = container[key] = {item: None}
        if isinstance(item, dict):
            if action == "from":
                item["from"] = draw(st.one_of(st.sampled_from(WORDS), st.lists(st.sampled_from(WORDS), max_size=3),
                                              scalars))
            else:
                item[draw(st.sampled_from(META_KEYS))] = draw(scalars)
    elif action == "insert" and isinstance(container, list):
        container.insert(key, draw(layer_items))
    else:
        container[key] = draw(values)


@st.composite
def mutated_specs(draw):
    name = draw(st.sampled_from(sorted(TREES)))
    tree = copy.deepcopy(TREES[name])
    for _ in range(draw(st.integers(1, 3))):
        mutate(draw, tree)
    return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)


@st.composite
def mangled_texts(draw):
    text = TEXTS[draw(st.sampled_from(sorted(TEXTS)))]
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["insert", "delete", "dup_line", "swap", "token", "indent", "long_number"]))
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        if action == "insert":
            line = lines[i]
            at = draw(st.integers(0, len(line)))
            junk = draw(st.text(alphabet=":{}[]-,'\"&*!<>|# \t\n$()%@`?~=", max_size=4))
            lines[i] = line[:at] + junk + line[at:]
        elif action == "delete":
            line = lines[i]
            a = draw(st.integers(0, len(line)))
            b = draw(st.integers(a, len(line)))
            lines[i] = line[:a] + line[b:]
        elif action == "dup_line":
            lines.insert(i, lines[i])  # duplicate keys, duplicate layers
        elif action == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif action == "token":
            words = lines[i].split(" ")
            k = draw(st.integers(0, len(words) - 1))
            words[k] = str(draw(st.one_of(scalars, keys)))
            lines[i] = " ".join(words)
        elif action == "long_number":  # more digits than Python reads as an integer (4,300)
            lines[i] = re.sub(r"\b\d+\b", draw(st.sampled_from(["7" * 5000, "9" * 4301, "1" * 4300])), lines[i], count=1)
        else:
            lines[i] = " " * draw(st.integers(0, 6)) + lines[i].lstrip(" ")
    return "".join(lines)


yaml_trees = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=20,
)
raw_texts = st.one_of(
    st.text(alphabet="abcinputlayers:{}[]-,'\"&*!<> \n\t#0123456789.e_$()|>?%@~", max_size=200),
    st.text(max_size=100),
    yaml_trees.map(lambda t: yaml.safe_dump(t, allow_unicode=True)),
    st.builds(
        lambda tree, layers: yaml.safe_dump({"input": [3, 32, 32], **({"layers": layers} if layers else {}), **tree}),
        st.dictionaries(st.sampled_from(TOP_KEYS), yaml_trees, max_size=3),
        st.lists(layer_items, max_size=5),
    ),
)

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@settings(FUZZ, max_examples=800)
@given(mutated_specs())
def test_mutated_builtin_specs(text):
    run_text(text)


@settings(FUZZ, max_examples=400)
@given(mangled_texts())
def test_mangled_spec_text(text):
    run_text(text)


@settings(FUZZ, max_examples=300)
@given(raw_texts)
def test_random_yaml(text):
    run_text(text)


@settings(FUZZ, max_examples=150)
@given(
    st.sampled_from(sorted(TEXTS)),
    st.dictionaries(st.sampled_from(WORDS + ["num_classes", "alpha", "width", "nope"]), scalars, max_size=3),
    st.one_of(st.none(), st.lists(st.one_of(numbers, st.text(max_size=3)), max_size=4)),
)
def test_overrides_and_input_shape(name, overrides, input_shape):
    run_text(TEXTS[name], overrides=overrides, input_shape=input_shape)


# Random specs written from the grammar of the language, to reach deep into the builder.
SIMPLE_KINDS = ["relu", "batchnorm", "flatten", "global_avgpool", "dropout", "identity", "sigmoid", "lrn",
                "softmax", "hardswish"]
small = st.one_of(st.integers(1, 6), st.integers(1, 6), st.integers(-1, 6),
                  st.sampled_from(["$in", "$in // 2", "w", "2 * w", "$h", "i + 1", "$w - 1"]))
conv_args = st.fixed_dictionaries(
    {"out": small},
    optional={"kernel": small, "stride": st.integers(0, 3), "padding": st.one_of(small, st.just("same")),
              "groups": st.sampled_from([1, 1, 1, 2, 3]), "dilation": st.integers(1, 2), "bias": st.booleans()},
)
dwconv_args = st.fixed_dictionaries(
    {"kernel": small}, optional={"stride": st.integers(1, 3), "padding": st.sampled_from([0, 1, "same"]),
                                 "multiplier": st.integers(1, 2)},
)
pool_args = st.fixed_dictionaries(
    {"kernel": small}, optional={"stride": st.integers(1, 3), "padding": st.integers(0, 2), "ceil_mode": st.booleans()}
)
local_names = st.sampled_from(["a", "b", "c", "stem", "input", "b1", "r"])
references = st.sampled_from(["a", "b", "c", "stem", "input", "b1", "b1.a", "r", "a.0", "rep.1", "rep"])


def _with_meta(draw, item):
    if draw(st.integers(0, 3)) == 0:
        item["name"] = draw(local_names)
    if draw(st.integers(0, 7)) == 0:
        item["from"] = draw(st.one_of(references, st.lists(references, min_size=1, max_size=3)))
    if draw(st.integers(0, 8)) == 0:
        item["when"] = draw(st.sampled_from(["w > 2", "i == 0", "$in > 4", True, "not w"]))
    if draw(st.integers(0, 8)) == 0:
        item["frozen"] = draw(st.booleans())
    return item


@st.composite
def grammar_items(draw, depth=0):
    choice = draw(st.integers(0, 12 if depth < 2 else 5))
    if choice == 0:
        return draw(st.sampled_from(SIMPLE_KINDS))
    if choice in (1, 2):
        if draw(st.booleans()):
            return _with_meta(draw, {"dwconv": draw(dwconv_args)})
        return _with_meta(draw, {"conv": draw(conv_args)})
    if choice == 3:
        return _with_meta(draw, {draw(st.sampled_from(["maxpool", "avgpool"])): draw(pool_args)})
    if choice == 4:
        return _with_meta(draw, {draw(st.sampled_from(["linear", "adaptive_avgpool", "channel_shuffle"])): draw(small)})
    if choice == 5:
        block = draw(st.sampled_from(["block_a", "block_b"]))
        params = ["w", "s"] if block == "block_a" else ["x"]
        return _with_meta(draw, {block: draw(st.one_of(
            st.lists(small, min_size=1, max_size=len(params)),
            st.dictionaries(st.sampled_from(params), small),
            st.dictionaries(st.sampled_from(["w", "s", "x"]), small),
        ))})
    branch = st.lists(grammar_items(depth + 1), max_size=3)
    if choice in (6, 7):
        join = draw(st.sampled_from(["concat", "add", "multiply", "mean"]))
        return _with_meta(draw, {join: draw(st.lists(branch, min_size=1, max_size=3))})
    if choice in (8, 9):
        item = {"residual": draw(branch)}
        if draw(st.booleans()):
            item["shortcut"] = draw(st.one_of(st.sampled_from(["auto", "identity", "projection", "optional", "none"]),
                                              branch))
        return _with_meta(draw, item)
    if choice in (10, 11):
        item = {"repeat": draw(st.sampled_from([1, 2, 3, 2, 0])), "layers": draw(branch)}
        if draw(st.booleans()):
            item["index"] = "i"
        if draw(st.integers(0, 3)) == 0:
            item["dense"] = True
        return _with_meta(draw, item)
    return _with_meta(draw, {"layers": draw(branch)})


@st.composite
def grammar_specs(draw):
    spec = {
        "name": "fuzz",
        "input": draw(st.sampled_from([[3, 16, 16], [8, 7, 7], [16, 32, 32], [10], [4, 1, 1]])),
        "vars": {"w": draw(st.integers(1, 8)), "i": 0},
    }
    if draw(st.booleans()):
        spec["defaults"] = {"conv": {"kernel": draw(st.integers(1, 3)), "padding": draw(st.sampled_from([0, 1, "same"]))}}
    spec["blocks"] = {
        "block_a": {"params": {"w": 4, "s": 1}, "layers": draw(st.lists(grammar_items(2), max_size=3))},
        "block_b": {"params": ["x"], "layers": draw(st.lists(grammar_items(1), max_size=3))},
    }
    spec["layers"] = draw(st.lists(grammar_items(), min_size=1, max_size=6))
    if draw(st.integers(0, 6)) == 0:
        spec["outputs"] = draw(st.lists(references, min_size=1, max_size=3))
    return yaml.safe_dump(spec, sort_keys=False)


@settings(FUZZ, max_examples=350)
@given(grammar_specs())
def test_specs_from_the_grammar(text):
    run_text(text)
