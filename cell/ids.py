"""Cell ids made by the lab's pattern, e.g. "{operator}-{yyyymmdd}-{n}" -> "CW-20261202-3".

A build saved without a cell id gets one from the pattern: {operator} (the build's
operator), {yyyymmdd} (the day it is saved) and {n} (the next number that day, given the
ids already taken). Pure functions: the caller says which ids are taken."""
from __future__ import annotations

import datetime as dt
import re
import string

FIELDS = ("operator", "yyyymmdd", "n")
DEFAULT_PATTERN = "{operator}-{yyyymmdd}-{n}"
_SEPARATORS = "-_. /"


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot make cell ids, or None. It must name {n}, or two cells of one
    day would get the same id, and name no other field than FIELDS."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]
    except ValueError as exc:
        return f"cell id pattern {pattern!r} is not a pattern: {exc}"
    unknown = sorted(set(names) - set(FIELDS))
    if unknown:
        return f"cell id pattern {pattern!r} names {', '.join(unknown)}; it may use {{operator}}, {{yyyymmdd}}, {{n}}"
    if "n" not in names:
        return f"cell id pattern {pattern!r} has no {{n}}: two cells of one day would get the same id"
    try:
        _render(pattern, "CW", dt.date(2026, 1, 1), 1)
    except (ValueError, TypeError) as exc:     # a format spec that does not fit, e.g. {n:q}
        return f"cell id pattern {pattern!r} cannot be filled in: {exc}"
    return None


def _tidy(text: str) -> str:
    # An empty {operator} must not leave "-20261202-1" or "a--b": drop the separators it strands.
    text = re.sub(r"([-_. /])[-_. /]+", r"\1", text)
    return text.strip(_SEPARATORS)


def _operator_part(operator: str) -> str:
    # A cell id is scanned and printed: one word, no spaces.
    return re.sub(r"\s+", "", operator)


def _render(pattern: str, operator: str, day: dt.date, n) -> str:
    """The pattern filled in; `n` a number (formatted by the pattern's spec, e.g. {n:03d})
    or a text put in as it is (a marker to find the number by)."""
    values = {"operator": _operator_part(operator), "yyyymmdd": day.strftime("%Y%m%d")}
    out = []
    for literal, name, spec, _ in string.Formatter().parse(pattern):
        out.append(literal)
        if name is None:
            continue
        if name == "n" and isinstance(n, str):
            out.append(n)
        else:
            out.append(format(n if name == "n" else values[name], spec or ""))
    return _tidy("".join(out))


def format_cell_id(pattern: str, operator: str, day: dt.date, n: int) -> str:
    return _render(pattern, operator, day, n)


def day_numbers(pattern: str, operator: str, day: dt.date, taken: set[str]) -> list[int]:
    """The numbers {n} that ids in `taken` carry for this operator and day."""
    marker = "\x00"
    template = _render(pattern, operator, day, marker)
    regex = re.compile("^" + re.escape(template).replace(re.escape(marker), r"(\d+)") + "$")
    return [int(match.group(1)) for match in map(regex.match, taken) if match]


def next_cell_id(pattern: str, operator: str, day: dt.date, taken: set[str]) -> str:
    """The id for the next cell of `operator` on `day`: n one above the day's highest, and
    never one of `taken`. ValueError (one line) for a pattern that cannot make ids."""
    problem = pattern_problem(pattern)
    if problem:
        raise ValueError(problem)
    n = max(day_numbers(pattern, operator, day, taken), default=0) + 1
    while (cell_id := format_cell_id(pattern, operator, day, n)) in taken:
        n += 1
    return cell_id
