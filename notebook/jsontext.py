"""JSON as the notebook stores and the command line prints it: always valid JSON. A
non-finite number (NaN, an infinity: a vendor cell reading `nan`, a ratio over zero)
becomes null, since SQLite's JSON functions and every other JSON reader reject the
`NaN`/`Infinity` that Python's json module writes by default; and stored JSON that does
not parse is reported as damage to that one record, never as a traceback."""
from __future__ import annotations

import json
import math
from pathlib import PurePath
from typing import Any

from notebook.errors import NotebookError


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float (also nested, also numpy scalars and arrays) as
    None, numpy values as Python ones and paths as text."""
    if isinstance(value, dict):
        return {(key.item() if hasattr(key, "item") else key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "tolist"):        # numpy scalars and arrays, without importing numpy here
        return json_safe(value.tolist())
    return value                        # anything else: json.dumps says what it cannot write


def dumps(value: Any, **kwargs) -> str:
    """JSON text that is always JSON: null where a figure is not finite."""
    return json.dumps(json_safe(value), allow_nan=False, **kwargs)


def loads_stored(text: str | None, what: str, default: Any = None) -> Any:
    """Stored JSON (`what` names the record, e.g. "run 3's provenance"); malformed JSON is a
    NotebookError naming the record, so one damaged row never hides the others."""
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise NotebookError(f"{what} is damaged (not valid JSON: {exc}); the rest of the notebook is readable") from None
