"""Cell ids by the lab's pattern: the day's next number, never one taken, and patterns
that could not make unique ids refused."""
from __future__ import annotations

import datetime as dt

import pytest

from cell.ids import DEFAULT_PATTERN, next_cell_id, pattern_problem

DAY = dt.date(2026, 12, 2)


def test_the_first_cell_of_the_day_is_number_one():
    assert next_cell_id(DEFAULT_PATTERN, "CW", DAY, set()) == "CW-20261202-1"


def test_the_next_number_is_one_above_the_days_highest():
    taken = {"CW-20261202-1", "CW-20261202-4", "CW-20261201-9", "JD-20261202-7", "CW-031"}
    assert next_cell_id(DEFAULT_PATTERN, "CW", DAY, taken) == "CW-20261202-5"
    assert next_cell_id(DEFAULT_PATTERN, "JD", DAY, taken) == "JD-20261202-8"
    assert next_cell_id(DEFAULT_PATTERN, "CW", dt.date(2026, 12, 1), taken) == "CW-20261201-10"


def test_an_operator_without_a_name_leaves_no_stray_separator():
    assert next_cell_id(DEFAULT_PATTERN, "", DAY, {"20261202-1"}) == "20261202-2"
    assert next_cell_id("LAB_{operator}_{n}", "", DAY, set()) == "LAB_1"
    assert next_cell_id(DEFAULT_PATTERN, "C W", DAY, set()) == "CW-20261202-1"   # one word, for a scanner


def test_a_pattern_with_a_fixed_number_skips_taken_ids():
    # "{n:03d}" pads; ids made by hand in the same form count too
    assert next_cell_id("SSB{yyyymmdd}{n:03d}", "CW", DAY, {"SSB20261202001", "SSB20261202002"}) == "SSB20261202003"


@pytest.mark.parametrize("pattern, problem", [
    ("{operator}-{yyyymmdd}", "has no {n}"),
    ("{operator}-{date}-{n}", "names date"),
    ("{operator-{n}", "is not a pattern"),
    ("{operator}-{n:q}", "cannot be filled in"),
])
def test_patterns_that_cannot_make_unique_ids_are_refused(pattern, problem):
    assert problem in pattern_problem(pattern)
    with pytest.raises(ValueError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        next_cell_id(pattern, "CW", DAY, set())
