"""The browser's date filter is in the user's local calendar days, while the notebook
stores UTC instants: just after midnight east of UTC, "until yesterday" must not list a
run started today."""
from __future__ import annotations

import os
import time
from datetime import date

import pytest

import cell
from notebook import Notebook
from notebook.search import RunQuery, local_day_bounds


@pytest.fixture
def berlin_winter():
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"      # UTC+1 in December
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_local_days_are_turned_into_utc_instants(db_path, berlin_winter):
    with Notebook(db_path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc"))
        # 00:30 on 2 December in Berlin is 23:30 on 1 December in UTC
        nb.conn.execute("INSERT INTO runs (build_id, protocol, protocol_json, status, started_utc, provenance_json)"
                        " VALUES (?, 'p', '{}', 'completed', '2026-12-01T23:30:00+00:00', '{}')", (build_id,))
        nb.conn.commit()

        def found(first: date, last: date) -> int:
            since, until = local_day_bounds(first, last)
            return len(nb.find_runs(RunQuery(since=since, until=until)))

        assert found(date(2026, 12, 1), date(2026, 12, 1)) == 0     # its local day is the 2nd
        assert found(date(2026, 12, 2), date(2026, 12, 2)) == 1
        # the command line's UTC days still see it on the 1st
        assert len(nb.find_runs(RunQuery(since=date(2026, 12, 1), until=date(2026, 12, 1)))) == 1


def test_an_imported_neware_export_starts_when_its_first_record_says(db_path, berlin_winter):
    """The nested export stamps each record with the cycler PC's clock (no zone): the first
    record, 2026-03-06 12:37:25 at test time 0, is 11:37:25 UTC in Berlin's winter."""
    from conftest import TEST_DATA
    from notebook.importer import import_file
    with Notebook(db_path) as nb:
        result = import_file(nb, TEST_DATA / "cycling" / "nw_regular_export_ife_example.csv")
        assert nb.run(result.run_id)["started_utc"] == "2026-03-06T11:37:25+00:00"
        assert any("taken as this computer's zone (UTC+01:00)" in w for w in result.warnings)
        # it ended 27:55:43 of test time later (the file's last Total Time)
        assert nb.run(result.run_id)["ended_utc"] == "2026-03-07T15:33:08+00:00"
