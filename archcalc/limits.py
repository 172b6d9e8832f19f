"""Resource limits that keep a hostile or mistaken spec from hanging archcalc.

Each limit has its own message and a documented default (docs/spec-format.md,
"Limits"). They are plain module-level settings so an embedding program can raise
them; the CLI exposes the ones a real user might hit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Limits:
    max_file_bytes: int = 16 * 1024 * 1024
    max_yaml_values: int = 2_000_000
    max_nesting: int = 100
    # The largest real networks have a few thousand nodes (ResNet-1202: 4,211);
    # building costs about 50 microseconds and 1 KB per node.
    max_nodes: int = 250_000
    # Inputs summed over all nodes: a dense repeat joins every earlier copy, so its
    # edges grow with the square of the count.
    max_edges: int = 1_000_000
    max_repeat: int = 100_000
    max_block_depth: int = 50
    # Layer lists inside layer lists (branches, residuals, repeats, block bodies),
    # counted across block calls; the builder recurses once per level.
    max_layer_depth: int = 100
    max_expression_chars: int = 1_000
    max_expression_nodes: int = 200
    max_integer: int = 10**18


LIMITS = Limits()
