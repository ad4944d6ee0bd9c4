"""Rows in the two wire shapes the writers send: COPY CSV lines and JSON objects.

Each row is encoded in one pass, with a fast path for the common case (strings without NUL or
lone surrogates, numbers, datetimes); anything else takes the careful path, which stores
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
_NUL_IN_JSON = b"\\u0000"  # also matches an escaped backslash before "u0000": then the careful path, same result


# -- COPY, CSV format ----------------------------------------------------------------------------
# CSV rather than COPY's text format: a string needs only its quotes doubled (one fast scan, no
# copy when there are none), while the text format escapes every newline, tab and backslash.
# NULL is an unquoted empty field, the empty string a quoted one.
_UNQUOTED = (int, float, bool, datetime)  # their str() is text Postgres reads as is
_NUMBERS = (int, float, bool)
dumps = orjson.dumps  # a datetime as quoted ISO 8601, several times faster than str()


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def csv_field(value: Any) -> str:
    """One field of a COPY CSV row, whatever the value (the careful path)."""
    if value is None:
        return ""
    if type(value) in _UNQUOTED:
        return str(value)
    if isinstance(value, (dict, list)):
        return _quote(json.dumps(pg_safe(value)))
    return _quote(pg_safe(value if isinstance(value, str) else str(value)))


def _storable(line: str) -> bool:
    """No NUL and no lone surrogate in `line`: what pg_safe would change is absent."""
    if "\x00" in line:
        return False
    if line.isascii():
        return True
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def copy_csv(kind: str, items: Iterable) -> str:
    """The COPY FROM STDIN (FORMAT csv) text of `items` (all of one kind), columns as in COLUMNS[kind]."""
    lines = copy_csv_lines(kind, items)
    lines.append("")
    return "\n".join(lines)


def copy_csv_lines(kind: str, items: Iterable) -> list[str]:
    """One COPY CSV line (without its newline) per item, so a writer can cut a batch by size.

    The fast path quotes strings and takes str() of numbers and booleans; a row holding
    NUL, a lone surrogate or a value of another type is encoded field by field instead."""
    get = _VALUES[kind]
    lines = []
    for item in items:
        values = get(item)
        try:  # one expression: a function call per field would double the cost
            line = ",".join(["" if v is None else '"' + v.replace('"', '""') + '"' if type(v) is str else
                             str(v) if type(v) in _NUMBERS else dumps(v).decode() if type(v) is datetime else
                             None for v in values])  # type: ignore[misc]
        except TypeError:  # a value of another type (None in the list): the careful path
            line = None
        if line is None or not _storable(line):
            line = ",".join(map(csv_field, values))
        lines.append(line)
    return lines


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
