"""Input checks and store opening shared by the query commands.

Every check runs before the store is opened, so a typo costs nothing and a query never
creates or migrates a store by accident.
"""

from __future__ import annotations

import difflib
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer

from graphstore import Direction, GraphStore, NodeRef, format_ref, open_store
from graphstore.factory import sqlite_path_from_url
from ingest.errors import ConfigError
from jobs.cli_common import (
    EXIT_NOT_FOUND,
    fail,
    get_settings,
    parse_time,
)
from transforms.rules import EDGE_TYPES, NODE_TYPES

__all__ = [
    "DIRECTIONS",
    "not_found",
    "open_graph",
    "parse_direction",
    "parse_edge_filter",
    "parse_edge_type",
    "parse_node",
    "parse_window",
    "positive",
    "require_node",
]

DIRECTIONS: tuple[Direction, ...] = ("out", "in", "both")


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    folded = {c.lower(): c for c in choices}
    match = folded.get(word.lower()) or next(
        iter(difflib.get_close_matches(word, choices, n=1, cutoff=0.6)), None
    )
    return f"did you mean {match!r}? " if match else ""


def parse_node(text: str, what: str = "node") -> NodeRef:
    """``"profile:p1"`` -> ``("profile", "p1")``, or a ConfigError naming the accepted form."""
    node_type, sep, node_id = text.strip().partition(":")
    if not sep or not node_type or not node_id:
        raise ConfigError(
            f"{what} {text!r} is not of the form TYPE:ID (e.g. profile:p-1a2b); "
            f"node types: {', '.join(NODE_TYPES)}"
        )
    if node_type not in NODE_TYPES:
        raise ConfigError(
            f"unknown node type {node_type!r} in {what} {text!r}; "
            f"{_did_you_mean(node_type, NODE_TYPES)}node types: {', '.join(NODE_TYPES)}"
        )
    return (node_type, node_id)


def parse_edge_type(text: str) -> str:
    if text not in EDGE_TYPES:
        raise ConfigError(
            f"unknown edge type {text!r}; {_did_you_mean(text, EDGE_TYPES)}"
            f"edge types: {', '.join(EDGE_TYPES)}"
        )
    return text


def parse_edge_filter(text: str | None) -> str | None:
    """An optional --edge-type: None (every type) or a known edge type."""
    return None if text is None else parse_edge_type(text)


def parse_direction(text: str) -> Direction:
    for d in DIRECTIONS:
        if text == d:
            return d
    raise ConfigError(f"--direction {text!r} is not one of out, in, both")


def positive(option: str, value: int) -> int:
    if value < 1:
        raise ConfigError(f"{option} {value} must be a positive whole number (1 or more)")
    return value


def parse_window(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    start = parse_time(since, "--since") if since is not None else None
    end = parse_time(until, "--until") if until is not None else None
    if start is not None and end is not None and start > end:
        raise ConfigError(f"--since {since} is after --until {until}; swap them")
    return start, end


# --------------------------------------------------------------------------- the store


def _check_sqlite_file(url: str) -> None:
    """Queries never create a store: opening a missing SQLite file would make an empty one."""
    path = sqlite_path_from_url(url)
    if path == ":memory:":
        raise ConfigError(
            f"store {url} is a new, empty in-memory database with no graph to query; "
            "point --store at a graph file, e.g. sqlite:///./rdg.db"
        )
    file = Path(path)
    if not file.is_file():
        fail(
            f"no graph store at {file.absolute()}; run `rdg demo` or `rdg run` to build one, "
            "or point --store / RDG_STORE at an existing graph"
        )
    try:
        with closing(sqlite3.connect(file)) as conn:  # the file exists: this creates nothing
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError:
        fail(f"{file} is not a SQLite database, so not a graph store; check --store / RDG_STORE")
    if not {"nodes", "edges"} <= tables:
        fail(
            f"{file} is a SQLite database without graph tables, not a graph store; "
            "check --store / RDG_STORE, or build a graph with `rdg demo` or `rdg run`"
        )


@contextmanager
def _quiet_driver() -> Iterator[None]:
    """The Cassandra driver logs connection failures with tracebacks; the error we raise
    already says what failed, so keep them out of the output unless -v was given."""
    driver = logging.getLogger("cassandra")
    saved = driver.level
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        driver.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        driver.setLevel(saved)


@contextmanager
def open_graph(ctx: typer.Context, store: str | None) -> Iterator[tuple[GraphStore, str]]:
    """The configured store, opened for reading (never created), and its URL."""
    url = get_settings(ctx, store=store).store
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    options: dict[str, Any] = {}
    if scheme == "sqlite":
        _check_sqlite_file(url)
    elif scheme in ("cassandra", "scylla"):
        options["create_schema"] = False
    try:
        with _quiet_driver():
            graph = open_store(url, **options)
    except ConfigError as exc:
        if "has no graph tables" in str(exc):
            fail(
                f"no graph in {url}: the keyspace has no graph tables; run `rdg run` with this "
                "--store first, or check the keyspace name"
            )
        raise
    try:
        yield graph, url
    finally:
        graph.close()


def not_found(what: str, url: str) -> NoReturn:
    fail(f"{what} not found in {url}", EXIT_NOT_FOUND)


def require_node(graph: GraphStore, ref: NodeRef, url: str) -> None:
    if graph.get_node(ref) is None:
        not_found(f"node {format_ref(ref)}", url)


# --------------------------------------------------------------------------- commands
