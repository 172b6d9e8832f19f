"""The layer graph: named nodes in topological order, each with its output shape.

Nodes are created in spec order and every input must already exist, so the list
is topological by construction and a cycle cannot be written.
"""

from __future__ import annotations

from typing import Any

from archcalc.errors import Location
from archcalc.ops.base import Op, Shape


class Node:
    __slots__ = (
        "index",
        "name",
        "op",
        "args",
        "derived",
        "inputs",
        "shape",
        "block",
        "location",
        "frozen",
        "consumers",
        "inplace_allowed",
        "arg_locations",
    )

    def __init__(
        self,
        name: str,
        op: Op,
        args: dict[str, Any],
        inputs: list["Node"],
        block: str | None,
        location: Location | None,
        frozen: bool = False,
        arg_locations: dict[str, Location] | None = None,
    ) -> None:
        self.index = -1
        self.name = name
        self.op = op
        self.args = args
        self.derived: Any = None  # what op.derive computed from args and inputs
        self.inputs = inputs
        self.shape: Shape = ()
        self.block = block
        self.location = location
        self.frozen = frozen
        self.consumers: list[Node] = []
        self.inplace_allowed = True
        self.arg_locations = arg_locations or {}

    @property
    def kind(self) -> str:
        return self.op.kind

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {self.kind}, {list(self.shape)})"


class Graph:
    """A built network: its nodes in topological order, its outputs and what the spec said about it.

    The builder fills it in (nodes, outputs, expectations, reference, scopes) as it reads the spec.
    """

    def __init__(
        self,
        name: str,
        title: str,
        source: str,
        *,
        variables: dict[str, Any] | None = None,
        file: str | None = None,
        ignore: frozenset[str] = frozenset(),
        ignored: dict[str, frozenset[str]] | None = None,
        tensor_cores: bool = False,
        warnings: list[Any] | None = None,
        spec: Any = None,
    ) -> None:
        self.name = name
        self.title = title
        self.source = source
        self.nodes: list[Node] = []
        self.outputs: list[Node] = []
        self.expectations: list[Any] = []
        self.variables = {} if variables is None else variables
        self.file = file
        self.reference: dict[str, Any] | None = None
        # Block and construct scope name -> the name of the node that is its output.
        self.scopes: dict[str, str] = {}
        # For archcalc.lint: what the builder found on its way, the codes the spec silences
        # (for the file, and per node name), whether it targets tensor cores, the parsed text.
        self.warnings = [] if warnings is None else warnings
        self.ignore = ignore
        self.ignored = {} if ignored is None else ignored
        self.tensor_cores = tensor_cores
        self.spec = spec

    @property
    def input(self) -> Node:
        return self.nodes[0]

    def add(self, node: Node) -> Node:
        node.index = len(self.nodes)
        self.nodes.append(node)
        for src in node.inputs:
            src.consumers.append(node)
        return node

    def finish(self) -> None:
        """Settle what depends on the whole graph: which activations may run in place."""
        outputs = set(map(id, self.outputs))
        for node in self.nodes:
            node.inplace_allowed = self._sole_user(node, outputs)

    @staticmethod
    def _sole_user(node: Node, outputs: set[int]) -> bool:
        """True when nothing but ``node`` will read its input's memory again.

        Views (flatten, dropout, identity) share their input's memory, so the
        question is asked all the way up to the tensor that owns it.
        """
        src = node.inputs[0] if node.inputs else None
        while src is not None:
            if src.op.graph_input or len(src.consumers) != 1 or id(src) in outputs:
                return False
            if not src.op.is_view:
                return True
            src = src.inputs[0]
        return False

    def ancestors(self, node: Node) -> set[int]:
        """Indices of ``node`` and everything it depends on."""
        seen = {node.index}
        stack = [node]
        while stack:
            for src in stack.pop().inputs:
                if src.index not in seen:
                    seen.add(src.index)
                    stack.append(src)
        return seen

    def training_only(self) -> set[int]:
        """Indices of nodes that only auxiliary outputs need (e.g. GoogLeNet's side heads)."""
        if len(self.outputs) < 2:
            return set()
        main = self.ancestors(self.outputs[0])
        extra: set[int] = set()
        for out in self.outputs[1:]:
            extra |= self.ancestors(out)
        return extra - main
