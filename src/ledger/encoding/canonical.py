"""One canonical encoding (RFC 8785, JCS) and one strict JSON reader (DESIGN §6).

Everything hashed or signed goes through :func:`canonical`. The ledger only ever encodes JSON
restricted to objects with ASCII keys, arrays, strings, booleans, null and integers within
±(2^53−1) — :func:`loads_strict` guarantees that at the boundary. For that subset, sorted,
compact ``json.dumps`` with ``ensure_ascii=False`` yields exactly the RFC 8785 bytes (RFC 8785
§3.2.2.2 escapes only ``"``, ``\\`` and C0 controls, in the same short forms and lowercase
``\\u00XX`` Python uses; integers in that range serialise identically; ASCII keys sort the same
by UTF-16 code unit as by code point). The hot path is
orjson with sorted keys, which writes those same bytes about ten times faster than ``json.dumps``
(a rebuild encodes millions of projection rows); what orjson refuses (integers beyond ±(2^53−1),
non-string keys, types it does not know) goes to ``json.dumps`` as before, so the output never
depends on which path ran. ``tests/unit/test_canonical.py`` proves both against the ``rfc8785``
package by property test.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeAlias

import orjson

from ledger.errors import InvalidJSON

MAX_SAFE_INTEGER = 2**53 - 1

JSONValue: TypeAlias = "None | bool | int | str | list[JSONValue] | dict[str, JSONValue]"
"""A value of the subset the ledger encodes: what it writes (reports, proofs, state files)."""
JSONObject: TypeAlias = dict[str, Any]
"""A JSON object: an envelope or body read at the boundary (:func:`loads_strict`) or from the log
and validated by its schema (EVENTS.md, DESIGN §6), or a report the ledger builds (``verify
--json``, proofs, state files). Members are read by the names and types the schema or report
gives them, which the type checker cannot follow into nested objects."""

_encoder = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)


# The passthrough options make orjson refuse dates, dataclasses and subclasses of str, int, dict
# and list (it would encode them natively) so that they take json.dumps's path, as they always did.
_FAST = (orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER | orjson.OPT_PASSTHROUGH_DATETIME
         | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS)  # fmt: skip


def canonical(value: object) -> bytes:
    """RFC 8785 canonical bytes of a value already validated by :func:`loads_strict`."""
    try:
        return orjson.dumps(value, option=_FAST)
    except TypeError:  # orjson.JSONEncodeError: what only json.dumps encodes, or refuses as it did
        return _encoder.encode(value).encode("utf-8")


def canonical_str(value: object) -> str:
    try:
        return orjson.dumps(value, option=_FAST).decode("utf-8")
    except TypeError:
        return _encoder.encode(value)


def loads_trusted(text: str | bytes) -> Any:
    """Decode JSON this system wrote or already validated (leaves, projection rows): orjson,
    three times faster than ``json.loads``. Input from outside goes through :func:`loads_strict`."""
    return orjson.loads(text)


_MAX_INT_CHARS = len(str(-MAX_SAFE_INTEGER))  # the sign and 16 digits


def _reject_float(text: str) -> int:
    raise InvalidJSON(f"numbers must be integers, not {text!r}")


def _reject_constant(text: str) -> int:
    raise InvalidJSON(f"{text} is not JSON")


def _parse_int(text: str) -> int:
    # Bounded before conversion: int() of a 5,000-digit literal raises ValueError (Python's
    # int_max_str_digits) and a long one costs quadratic time. ±(2^53−1) has 16 digits.
    if len(text) > _MAX_INT_CHARS:
        shown = f"{text[:20]}…({len(text)} characters)"
        raise InvalidJSON(f"integer {shown} is outside ±(2^53−1)")
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise InvalidJSON(f"integer {text} is outside ±(2^53−1)")
    return value


def _pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise InvalidJSON(f"duplicate key {duplicate!r}")
    return obj


_decoder = json.JSONDecoder(
    object_pairs_hook=_pairs,
    parse_float=_reject_float,
    parse_int=_parse_int,
    parse_constant=_reject_constant,
)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _check_text(value: object) -> None:
    """Refuse lone surrogates anywhere: they have no UTF-8 form, so no canonical bytes."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidJSON("string contains a lone surrogate") from None
        elif isinstance(item, dict):
            for key, sub in item.items():
                if not key.isascii():
                    raise InvalidJSON(f"key {key!r} is not one EVENTS.md defines")
                stack.append(sub)
        elif isinstance(item, list):
            stack.extend(item)


def loads_strict(text: str | bytes) -> Any:
    """Parse JSON as DESIGN §6 accepts it, or raise :class:`InvalidJSON` with the reason."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidJSON("not UTF-8") from None
    if text.startswith("\ufeff"):
        raise InvalidJSON("starts with a byte-order mark (BOM, U+FEFF): save the file as UTF-8 without BOM")
    try:
        value, end = _decoder.raw_decode(text.strip())
    except InvalidJSON:
        raise
    except RecursionError:
        raise InvalidJSON("nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise InvalidJSON(f"not JSON: {exc.msg} at column {exc.colno}") from None
    if end != len(text.strip()):
        raise InvalidJSON("trailing data after the JSON value")
    # Decoded UTF-8 holds no surrogates; only a \\uD8xx–\\uDFxx escape can smuggle one in.
    if _SURROGATE_ESCAPE.search(text):
        _check_text(value)
    return value


def check_value(value: object) -> None:
    """Check a Python value built in code (not parsed) is inside the canonical subset."""
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, (bool, str)):
            if isinstance(item, str):
                _check_text(item)
            continue
        if isinstance(item, int):
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                raise InvalidJSON(f"integer {item} is outside ±(2^53−1)")
        elif isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str) or not key.isascii():
                    raise InvalidJSON(f"key {key!r} is not one EVENTS.md defines")
                stack.append(sub)
        elif isinstance(item, list):
            stack.extend(item)
        else:
            raise InvalidJSON(f"{type(item).__name__} is not a JSON value the ledger accepts")
