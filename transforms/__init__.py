"""Event -> graph: the per-topic graph rules, dedup, and write coalescing.

See ``docs/graph-model.md`` for the contract these implement.
"""

from transforms.operator import GraphOperator, GraphSettings, GraphWrites
from transforms.rules import EDGE_TYPES, NODE_TYPES, RULES, GraphRule, extract

__all__ = [
    "EDGE_TYPES",
    "NODE_TYPES",
    "RULES",
    "GraphOperator",
    "GraphRule",
    "GraphSettings",
    "GraphWrites",
    "extract",
]
