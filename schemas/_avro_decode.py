"""Fast and careful Avro binary decoders for the schemas the pipeline uses.

Why this exists: fastavro's schemaless_reader costs ~6 us per small record on
our hardware, more than half the per-event budget of the stream job. A decoder
generated for one schema (straight-line Python, no per-field dispatch) is about
1.6x faster. It is optimistic: on anything unusual it gives up, and the
careful decoder - a plain schema walker with every check - decodes the record
again, either returning it or raising a DecodeError that names the field and
the problem. Tests check both against fastavro.

Both decoders return ints for int/long logical types (the schemas are stripped
of those first) and require the record to use the whole input.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from schemas.errors import (
    CORRUPT,
    INVALID_UTF8,
    TRAILING_BYTES,
    TRUNCATED,
    UNKNOWN_ENUM_INDEX,
    DecodeError,
)

if TYPE_CHECKING:  # the native decoder's type, from its stub (schemas/_avrofast.pyi)
    from schemas._avrofast import Decoder as NativeDecoder

try:  # the native decoder (schemas/_avrofast.c), built at install time when a compiler exists
    from schemas import _avrofast
except ImportError:  # pragma: no cover - exercised only on machines without a C compiler
    _avrofast = None  # type: ignore[assignment]

__all__ = [
    "CompiledDecoder",
    "careful_decode",
    "compile_decoder",
    "named_types",
    "native_available",
    "native_decoder",
    "strip_number_logical_types",
]

#: Compiled decoder: (data, offset) -> record; raises anything on bad input.
CompiledDecoder = Callable[[bytes, int], Any]

_PRIMITIVES = frozenset(("null", "boolean", "int", "long", "float", "double", "bytes", "string"))
_MAX_PREVIEW = 24


def strip_number_logical_types(schema: Any) -> Any:
    """Copy `schema` without logicalType on int/long types and without fastavro's
    private keys, so that fastavro re-parses it and returns the raw numbers
    (e.g. epoch ms for timestamp-millis) instead of datetime objects."""
    if isinstance(schema, list):
        return [strip_number_logical_types(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    numeric = schema.get("type") in ("int", "long")
    for key, value in schema.items():
        if key.startswith("__") or (key == "logicalType" and numeric):
            continue
        out[key] = strip_number_logical_types(value)
    return out


def _type_name(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "union"
    t = schema.get("type")
    return t if isinstance(t, str) else _type_name(t)


def _preview(data: bytes) -> str:
    head = bytes(data[:_MAX_PREVIEW]).hex()
    return head + ("..." if len(data) > _MAX_PREVIEW else "")


class _Careful:
    """Schema walker with every check; raises DecodeError naming the field."""

    def __init__(self, data: bytes, pos: int, names: dict[str, Any], what: str) -> None:
        self.data = data
        self.pos = pos
        self.start = pos
        self.names = names
        self.what = what

    def fail(self, reason: str, detail: str) -> DecodeError:
        return DecodeError(
            reason,
            f"cannot decode {self.what}: {detail} (message is {len(self.data)} bytes, "
            f"starts {_preview(self.data)})",
        )

    def varint(self, path: str) -> int:
        data = self.data
        n = 0
        shift = 0
        while True:
            if self.pos >= len(data):
                raise self.fail(TRUNCATED, f"data ends inside the varint of {path}")
            if shift > 63:
                raise self.fail(CORRUPT, f"varint of {path} is longer than 10 bytes")
            b = data[self.pos]
            self.pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        if n >> 64:
            raise self.fail(CORRUPT, f"varint of {path} does not fit in 64 bits")
        return (n >> 1) ^ -(n & 1)

    def take(self, size: int, path: str, what: str) -> bytes:
        if size < 0:
            raise self.fail(CORRUPT, f"negative length {size} for {what} {path}")
        end = self.pos + size
        if end > len(self.data):
            left = len(self.data) - self.pos
            raise self.fail(
                TRUNCATED,
                f"{what} {path} needs {size} bytes at offset {self.pos}, only {left} left",
            )
        chunk = bytes(self.data[self.pos : end])
        self.pos = end
        return chunk

    def read(self, schema: Any, path: str) -> Any:
        if isinstance(schema, list):
            index = self.varint(path)
            if not 0 <= index < len(schema):
                raise self.fail(
                    CORRUPT,
                    f"union branch {index} of {path} does not exist ({len(schema)} branches)",
                )
            return self.read(schema[index], path)
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return self.primitive(schema, path)
            return self.read(self.names[schema], path)
        t = schema["type"]
        if t == "record" or t == "error":
            return {
                f["name"]: self.read(f["type"], f"{path}.{f['name']}" if path else f["name"])
                for f in schema["fields"]
            }
        if t == "enum":
            symbols = schema["symbols"]
            index = self.varint(path)
            if not 0 <= index < len(symbols):
                raise self.fail(
                    UNKNOWN_ENUM_INDEX,
                    f"enum {path} has index {index}, outside the {len(symbols)} known symbols "
                    f"{', '.join(symbols)} (written with a newer schema?)",
                )
            return symbols[index]
        if t == "fixed":
            return self.take(schema["size"], path, "fixed")
        if t == "array":
            items: list[Any] = []
            while True:
                count = self.blockcount(path)
                if count == 0:
                    return items
                items.extend(
                    self.read(schema["items"], f"{path}[{len(items)}]") for _ in range(count)
                )
        if t == "map":
            entries: dict[str, Any] = {}
            while True:
                count = self.blockcount(path)
                if count == 0:
                    return entries
                for _ in range(count):
                    key = self.string(path, "map key in")
                    entries[key] = self.read(schema["values"], f"{path}[{key!r}]")
        if isinstance(t, str) and t in _PRIMITIVES:
            return self.primitive(t, path)
        return self.read(t, path)

    def blockcount(self, path: str) -> int:
        count = self.varint(path)
        if count < 0:
            self.varint(path)  # byte size of the block; not needed
            count = -count
        return count

    def string(self, path: str, what: str = "string") -> str:
        raw = self.take(self.varint(path), path, what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.fail(
                INVALID_UTF8, f"{what} {path} is not valid UTF-8 ({exc.reason})"
            ) from None

    def primitive(self, t: str, path: str) -> Any:
        if t == "string":
            return self.string(path)
        if t in ("long", "int"):
            return self.varint(path)
        if t == "boolean":
            b = self.take(1, path, "boolean")[0]
            if b > 1:
                raise self.fail(CORRUPT, f"boolean {path} is byte {b}, not 0 or 1")
            return b == 1
        if t == "null":
            return None
        if t == "bytes":
            return self.take(self.varint(path), path, "bytes")
        if t == "float":
            return struct.unpack("<f", self.take(4, path, "float"))[0]
        return struct.unpack("<d", self.take(8, path, "double"))[0]


def _collect_names(schema: Any, names: dict[str, Any]) -> None:
    if isinstance(schema, list):
        for s in schema:
            _collect_names(s, names)
    elif isinstance(schema, dict):
        t = schema.get("type")
        if t in ("record", "error", "enum", "fixed") and "name" in schema:
            names.setdefault(schema["name"], schema)
        if t in ("record", "error"):
            for f in schema["fields"]:
                _collect_names(f["type"], names)
        elif t == "array":
            _collect_names(schema["items"], names)
        elif t == "map":
            _collect_names(schema["values"], names)
        elif isinstance(t, dict | list):
            _collect_names(t, names)


def named_types(schema: Any) -> dict[str, Any]:
    """Fullname -> definition for every named type in a parsed schema."""
    names: dict[str, Any] = {}
    _collect_names(schema, names)
    return names


def careful_decode(
    schema: Any, data: bytes, pos: int, names: Mapping[str, Any], what: str, exact: bool = True
) -> tuple[Any, int]:
    """Decode one value at `pos`; returns it and the offset after it.

    With `exact` the value must end exactly at the end of `data`. `schema` is
    fastavro-parsed (full names); raises DecodeError naming the field on any problem.
    """
    walker = _Careful(data, pos, dict(names), what)
    value = walker.read(schema, "")
    if exact and walker.pos != len(data):
        raise walker.fail(
            TRAILING_BYTES,
            f"{len(data) - walker.pos} bytes left over after the record ended at offset {walker.pos}",
        )
    return value, walker.pos


class _Gen:
    """Emits straight-line decoding code for one schema, or gives up (None)."""

    def __init__(self, names: Mapping[str, Any]) -> None:
        self.names = names
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self.count = 0
        self.active: set[str] = set()

    def var(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def emit(self, ind: int, line: str) -> None:
        self.lines.append("    " * ind + line)

    def varint(self, ind: int, target: str) -> None:
        e = self.emit
        e(ind, "b = data[pos]")
        e(ind, "pos += 1")
        e(ind, "if b > 127:")
        e(ind + 1, "n = b & 127")
        e(ind + 1, "s = 7")
        e(ind + 1, "while b > 127:")
        e(ind + 2, "if s > 63:")
        e(ind + 3, "raise Fail")
        e(ind + 2, "b = data[pos]")
        e(ind + 2, "pos += 1")
        e(ind + 2, "n |= (b & 127) << s")
        e(ind + 2, "s += 7")
        e(ind + 1, "if n >> 64:")
        e(ind + 2, "raise Fail")
        e(ind, "else:")
        e(ind + 1, "n = b")
        e(ind, f"{target} = (n >> 1) ^ -(n & 1)")

    def sized(self, ind: int, target: str, decode: bool) -> None:
        self.varint(ind, "n")
        self.emit(ind, "end = pos + n")
        self.emit(ind, "if n < 0 or end > size:")
        self.emit(ind + 1, "raise Fail")
        self.emit(ind, f"{target} = data[pos:end]{'.decode()' if decode else ''}")
        self.emit(ind, "pos = end")

    def gen(self, schema: Any, ind: int, target: str) -> bool:
        e = self.emit
        if isinstance(schema, list):
            self.varint(ind, "u")
            for i, branch in enumerate(schema):
                e(ind, f"{'if' if i == 0 else 'elif'} u == {i}:")
                if not self.gen(branch, ind + 1, target):
                    return False
            e(ind, "else:")
            e(ind + 1, "raise Fail")
            return True
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return self.primitive(schema, ind, target)
            if schema in self.active or schema not in self.names:
                return False  # recursive type: leave it to fastavro
            return self.gen(self.names[schema], ind, target)
        t = schema["type"]
        if "logicalType" in schema:
            return False  # decimal, uuid...: keep fastavro's conversions
        if t == "record" or t == "error":
            name = schema.get("name", "")
            self.active.add(name)
            items = []
            for f in schema["fields"]:
                v = self.var()
                if not self.gen(f["type"], ind, v):
                    return False
                items.append(f"{f['name']!r}: {v}")
            self.active.discard(name)
            e(ind, f"{target} = {{{', '.join(items)}}}")
            return True
        if t == "enum":
            const = f"S{len(self.consts)}"
            self.consts[const] = tuple(schema["symbols"])
            self.varint(ind, "n")
            e(ind, f"if n < 0 or n >= {len(schema['symbols'])}:")
            e(ind + 1, "raise Fail")
            e(ind, f"{target} = {const}[n]")
            return True
        if t == "fixed":
            e(ind, f"end = pos + {int(schema['size'])}")
            e(ind, "if end > size:")
            e(ind + 1, "raise Fail")
            e(ind, f"{target} = data[pos:end]")
            e(ind, "pos = end")
            return True
        if isinstance(t, str) and t in _PRIMITIVES:
            return self.primitive(t, ind, target)
        if isinstance(t, dict | list):
            return self.gen(t, ind, target)
        return False  # array, map: rare here, fastavro handles them

    def primitive(self, t: str, ind: int, target: str) -> bool:
        e = self.emit
        if t == "string":
            self.sized(ind, target, decode=True)
        elif t == "bytes":
            self.sized(ind, target, decode=False)
        elif t in ("long", "int"):
            self.varint(ind, target)
        elif t == "boolean":
            e(ind, "b = data[pos]")
            e(ind, "pos += 1")
            e(ind, "if b > 1:")
            e(ind + 1, "raise Fail")
            e(ind, f"{target} = b == 1")
        elif t == "null":
            e(ind, f"{target} = None")
        else:
            width, fmt = (4, "<f") if t == "float" else (8, "<d")
            const = f"U{len(self.consts)}"
            self.consts[const] = struct.Struct(fmt).unpack_from
            e(ind, f"if pos + {width} > size:")
            e(ind + 1, "raise Fail")
            e(ind, f"({target},) = {const}(data, pos)")
            e(ind, f"pos += {width}")
        return True


class Fail(Exception):
    """The compiled decoder met something it does not handle; decode carefully."""


def compile_decoder(
    schema: Any, names: Mapping[str, Any], exact: bool = True
) -> CompiledDecoder | None:
    """Generate a decoder for a parsed, stripped schema; None when unsupported.

    With `exact` it returns the value and insists the input ends with it;
    otherwise it returns (value, offset after it), for records packed back to back.
    """
    gen = _Gen(names)
    gen.emit(0, "def decode(data, pos):")
    gen.emit(1, "size = len(data)")
    if not gen.gen(schema, 1, "result"):
        return None
    if exact:
        gen.emit(1, "if pos != size:")
        gen.emit(2, "raise Fail")
        gen.emit(1, "return result")
    else:
        gen.emit(1, "return result, pos")
    source = "\n".join(gen.lines) + "\n"
    namespace: dict[str, Any] = {"Fail": Fail, **gen.consts}
    exec(compile(source, f"<avro decoder {_type_name(schema)}>", "exec"), namespace)
    decode: CompiledDecoder = namespace["decode"]
    return decode


def native_available() -> bool:
    """Whether the native decoder was built (it needs a C compiler at install time)."""
    return _avrofast is not None


def _native_leaf(schema: Any, names: Mapping[str, Any]) -> Any:
    """The native decoder's spec of a non-union type, or None if it does not cover it."""
    assert _avrofast is not None
    kinds = {
        "null": _avrofast.KIND_NULL,
        "boolean": _avrofast.KIND_BOOLEAN,
        "int": _avrofast.KIND_LONG,
        "long": _avrofast.KIND_LONG,
        "float": _avrofast.KIND_FLOAT,
        "double": _avrofast.KIND_DOUBLE,
        "bytes": _avrofast.KIND_BYTES,
        "string": _avrofast.KIND_STRING,
    }
    if isinstance(schema, str):
        if schema in kinds:
            return kinds[schema]
        return _native_leaf(names[schema], names) if schema in names else None
    if not isinstance(schema, dict) or "logicalType" in schema:
        return None  # decimal, uuid...: keep fastavro's conversions
    t = schema.get("type")
    if t == "enum":
        return (_avrofast.KIND_ENUM, tuple(schema["symbols"]))
    if isinstance(t, str) and t in kinds:
        return kinds[t]
    return None


def native_decoder(schema: Any, names: Mapping[str, Any]) -> NativeDecoder | None:
    """A native decoder for a parsed, stripped flat record schema; None when the
    extension is not built or the schema has nested records, arrays, maps or fixed."""
    if _avrofast is None or not isinstance(schema, dict):
        return None
    if schema.get("type") not in ("record", "error"):
        return None
    fields: list[tuple[str, Any]] = []
    for f in schema["fields"]:
        ftype = f["type"]
        if isinstance(ftype, list):
            branches = tuple(_native_leaf(b, names) for b in ftype)
            if any(b is None for b in branches):
                return None
            fields.append((f["name"], ("union", branches)))
        else:
            leaf = _native_leaf(ftype, names)
            if leaf is None:
                return None
            fields.append((f["name"], leaf))
    decoder: NativeDecoder = _avrofast.Decoder(tuple(fields))
    return decoder
