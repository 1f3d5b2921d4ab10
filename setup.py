"""Declares the C extensions; everything else about the project is in pyproject.toml.

schemas/_avrofast.c is the native Avro decoder, ingest/_columns.c the group-by kernels
of the columnar operators and graphstore/cassandra/_recentrows.c the per-row loop of the
Cassandra store's neighbor scans. All are optional: without a C compiler the install still
succeeds and the pure-Python equivalents are used (slower; `make test` says so).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "schemas._avrofast",
            sources=["schemas/_avrofast.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
        Extension(
            "ingest._columns",
            sources=["ingest/_columns.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
        Extension(
            "graphstore.cassandra._recentrows",
            sources=["graphstore/cassandra/_recentrows.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
    ]
)
