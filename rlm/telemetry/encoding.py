"""Rows in the two wire shapes the writers send: COPY text lines and JSON objects.

Each row is encoded in one pass, with a fast path for the common case (printable strings
without backslashes, numbers, datetimes); anything else takes the careful path, which stores
what `pg_safe` stores: NUL as the two characters `\\x00`, lone surrogates as their `\\udcff`
escape, every other character verbatim. The JSON shape is read by json_populate_recordset, so
non-finite floats travel as the strings 'NaN' / 'Infinity' that float8 input accepts.
"""
from __future__ import annotations

import json
import math
from dataclasses import fields
from datetime import datetime
from operator import attrgetter
from typing import Any, Callable, Iterable

import orjson

from rlm.events import CodeExecEvent, LLMCallEvent, TextEvent
from rlm.telemetry.records import SampleRecord, pg_safe

RECORD_CLASSES = {cls.kind: cls for cls in (LLMCallEvent, CodeExecEvent, TextEvent, SampleRecord)}
COLUMNS = {kind: [f.name for f in fields(cls)] for kind, cls in RECORD_CLASSES.items()}
_VALUES = {kind: attrgetter(*cols) for kind, cols in COLUMNS.items()}


def _tuple_getter(names: list[str]) -> Callable[[Any], tuple]:
    if len(names) > 1:
        return attrgetter(*names)
    return lambda item: tuple(getattr(item, name) for name in names)


_FLOATS = {kind: _tuple_getter([f.name for f in fields(cls) if "float" in str(f.type)])
           for kind, cls in RECORD_CLASSES.items()}
_NUL_IN_JSON = b"\\u0000"
# Kinds whose values are all scalars (str, numbers, booleans, datetimes): str() is their COPY text.
_SCALAR_KINDS = {kind for kind, cls in RECORD_CLASSES.items()
                 if not any(word in str(f.type) for f in fields(cls) for word in ("Any", "dict", "list"))}


# -- COPY text format -------------------------------------------------------------------------
def _copy_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_field(value: Any) -> str:
    """One field in COPY's text format: \\N for NULL, backslash escapes for the delimiters."""
    kind = type(value)
    if kind is str:
        # isprintable() is False for NUL, tab, newline, CR and lone surrogates: all take the careful path.
        return value if value.isprintable() and "\\" not in value else _copy_escape(pg_safe(value))
    if value is None:
        return "\\N"
    if kind is int or kind is float:
        return repr(value)
    if kind is datetime:
        return value.isoformat()
    if kind is bool:
        return "t" if value else "f"
    if isinstance(value, (dict, list)):
        return _copy_escape(json.dumps(pg_safe(value)))
    return _copy_escape(pg_safe(str(value)))


def _plain(line: str, columns: int) -> bool:
    """Whether `line` (fields joined by tabs) needs no escaping: no tab inside a field, no
    newline, CR, backslash or NUL, and (if not ASCII) no lone surrogate."""
    if line.count("\t") != columns - 1 or "\\" in line or "\n" in line or "\r" in line or "\x00" in line:
        return False
    if line.isascii():
        return True
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def copy_text(kind: str, items: Iterable) -> str:
    """The COPY FROM STDIN text of `items` (all of one kind), columns as in COLUMNS[kind].

    The fast path joins str() of each value (the text Postgres reads for numbers, booleans and
    datetimes); a row whose text needs escaping is encoded field by field instead."""
    get = _VALUES[kind]
    columns = len(COLUMNS[kind])
    scalar = kind in _SCALAR_KINDS
    lines = []
    for item in items:
        values = get(item)
        line = "\t".join(["\\N" if v is None else v if type(v) is str else str(v) for v in values])
        if not (scalar and _plain(line, columns)):
            line = "\t".join(map(copy_field, values))
        lines.append(line)
    lines.append("")
    return "\n".join(lines)


# -- JSON objects -------------------------------------------------------------------------------
def _json_value(value: Any) -> Any:
    if type(value) is float and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    return pg_safe(value)


def _json_row_careful(kind: str, item) -> bytes:
    row = {name: _json_value(value) for name, value in zip(COLUMNS[kind], _VALUES[kind](item))}
    return orjson.dumps(row, default=str)


def json_row(kind: str, item) -> bytes:
    """`item` as one JSON object keyed by column name (UTF-8 bytes)."""
    try:
        total = sum(filter(None, _FLOATS[kind](item)))  # inf or nan if any float is not finite
        if total - total == 0:
            encoded = orjson.dumps(item)  # dataclasses, datetimes and text at C speed
            if _NUL_IN_JSON not in encoded:
                return encoded
    except (TypeError, ValueError):  # lone surrogates, odd types: the careful path says what it can
        pass
    return _json_row_careful(kind, item)


def json_rows(kind: str, items: Iterable) -> list[bytes]:
    return [json_row(kind, item) for item in items]
