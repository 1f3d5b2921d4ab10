"""Declares the one C extension; everything else about the project is in pyproject.toml.

schemas/_avrofast.c is the native Avro decoder. It is optional: without a C compiler the
install still succeeds and decoding falls back to the generated pure-Python decoder.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "schemas._avrofast",
            sources=["schemas/_avrofast.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
