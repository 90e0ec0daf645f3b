"""`main.py lab init / add-station / add-reader` as a lab admin runs them, against the
session's real PostgreSQL server, the passwords in a .pgpass file (PGPASSFILE): what they
make, what they refuse (exit status 2, one line, nothing changed), and that no password of
the server's ever shows in what they print."""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys

import pytest

from conftest import ROOT
from lab.connection import LabError, connect
from lab.schema import LAB_SCHEMA_VERSION
from pgserver import free_port


def main(*args, env=None, timeout=60):
    """main.py in its own process, as a lab admin runs it."""
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.fixture
def cli(capsys):
    """main.main() in this process (the same parser and handlers, without a new Python's
    start-up for each of the many refusals), as a CompletedProcess."""
    import main as entry

    def run(*args):
        capsys.readouterr()
        code = entry.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)
    return run


def assert_no_password(result, server, *extra):
    text = result.stdout + result.stderr
    for password in [*server.passwords(), *extra]:
        assert password not in text
    assert "Traceback" not in text


def refused(result, server, message, *extra):
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and re.search(message, lines[0]), result.stderr
    assert_no_password(result, server, *extra)
    return lines[0]


def roles_and_stations(db):
    with db.connect() as conn:
        roles = conn.execute("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1").fetchall()
        has = conn.execute("SELECT to_regclass('solidstack.stations')").fetchone()[0]
        stations = conn.execute("SELECT role, name, kind FROM solidstack.stations ORDER BY 1").fetchall() if has else None
    return roles, stations


def test_init_creates_then_finds_nothing_to_do(pg_database, pg_server):
    first = main("lab", "init", pg_database.url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("lab store created at lab_admin@127.0.0.1:") and f"schema version {LAB_SCHEMA_VERSION}" in first.stdout
    again = main("lab", "init", pg_database.url, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"url": pg_database.url, "version_before": LAB_SCHEMA_VERSION,
                                        "version": LAB_SCHEMA_VERSION, "changed": False}
    assert_no_password(first, pg_server)
    assert_no_password(again, pg_server)


def test_add_station_prints_the_password_once_and_it_logs_in(pg_database, pg_server):
    assert main("lab", "init", pg_database.url).returncode == 0
    result = main("lab", "add-station", "Glovebox_2", "--url", pg_database.url)
    assert result.returncode == 0, result.stderr
    assert_no_password(result, pg_server)        # the server's own passwords: never
    out = result.stdout
    assert "login role station_glovebox_2 in solidstack_station" in out
    password = re.search(r"password \(shown once; SolidStack keeps no copy\): (\S+)", out).group(1)
    assert out.count(password) == 2              # once alone, once in the .pgpass line to copy
    line = re.search(r"^  (\S+)$", out, re.M).group(1)
    assert line == f"127.0.0.1:{pg_server.port}:{pg_database.name}:station_glovebox_2:{password}"
    url = re.search(r"lab URL .*: (\S+)$", out, re.M).group(1)
    assert url == pg_database.url_for("station_glovebox_2")
    # the station's admin puts the line in .pgpass: the role logs in with the URL as printed
    pg_server.add_password("station_glovebox_2", password, pg_database.name)
    with connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT current_user, pg_has_role('solidstack_station', 'member')").fetchone() == (
            "station_glovebox_2", True)
        assert conn.execute("SELECT name, kind FROM solidstack.stations").fetchall() == [("glovebox_2", "station")]


def test_add_station_to_a_pgpass_file_prints_no_password(pg_database, pg_server, tmp_path):
    assert main("lab", "init", pg_database.url).returncode == 0
    target = tmp_path / "station.pgpass"
    result = main("lab", "add-station", "gb1", "--url", pg_database.url, "--pgpass-file", target, "--json")
    assert result.returncode == 0, result.stderr
    line = target.read_text().strip()
    password = line.rsplit(":", 1)[1]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert line == f"127.0.0.1:{pg_server.port}:{pg_database.name}:station_gb1:{password}"
    assert_no_password(result, pg_server, password)
    out = json.loads(result.stdout)
    assert out["role"] == "station_gb1" and out["password"] is None and out["url"] == pg_database.url_for("station_gb1")
    with pytest.raises(LabError, match="asks a password"):     # not in the session's .pgpass: refused
        connect(out["url"])
    env = {**os.environ, "PGPASSFILE": str(target)}
    check = subprocess.run([sys.executable, "-c", "import sys; from lab.connection import connect; "
                            "c = connect(sys.argv[1]); print(c.info.user)", out["url"]],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert check.stdout.strip() == "station_gb1", check.stderr


def test_add_station_and_reader_without_password(pg_database, pg_server):
    assert main("lab", "init", pg_database.url).returncode == 0
    result = main("lab", "add-station", "certified", "--url", pg_database.url, "--no-password")
    assert result.returncode == 0 and "no password set" in result.stdout
    reader = main("lab", "add-reader", "desk", "--url", pg_database.url, "--no-password", "--json")
    assert json.loads(reader.stdout)["role"] == "reader_desk"
    with pg_database.connect() as conn:
        rows = conn.execute("SELECT rolname, rolcanlogin, rolpassword IS NULL FROM pg_authid"
                            " WHERE rolname IN ('station_certified', 'reader_desk') ORDER BY 1").fetchall()
        member = conn.execute("SELECT pg_has_role('reader_desk', 'solidstack_reader', 'member'),"
                              " pg_has_role('reader_desk', 'solidstack_station', 'member')").fetchone()
    assert rows == [("reader_desk", True, True), ("station_certified", True, True)]
    assert member == (True, False)


def test_a_name_taken_or_bad_is_refused_and_nothing_changes(pg_database, pg_server, cli):
    assert cli("lab", "init", pg_database.url).returncode == 0
    assert cli("lab", "add-station", "alpha", "--url", pg_database.url, "--no-password").returncode == 0
    before = roles_and_stations(pg_database)
    refused(main("lab", "add-station", "ALPHA", "--url", pg_database.url), pg_server,   # once as its own process
            "the name 'alpha' is already taken in this lab store")
    with pg_database.connect() as conn:      # a role of that name made outside the lab store
        conn.execute("CREATE ROLE station_gamma")
    before = roles_and_stations(pg_database)
    refused(cli("lab", "add-station", "gamma", "--url", pg_database.url), pg_server,
            "a role 'station_gamma' already exists on this server")
    # the role of a reader is another, but the name is the lab's: taken once
    refused(cli("lab", "add-reader", "alpha", "--url", pg_database.url), pg_server,
            "the name 'alpha' is already taken in this lab store")
    for bad in ("glove box", "a-b", "x" * 41, "", "é"):
        refused(cli("lab", "add-station", bad, "--url", pg_database.url), pg_server, "is not a usable name")
    assert roles_and_stations(pg_database) == before


def test_bad_urls_and_servers_get_one_clear_line(pg_database, pg_server, cli):
    secret = "hunter2-never-printed"
    url = pg_database.url
    dead = f"postgresql://lab_admin@127.0.0.1:{free_port()}/x"
    with_password = url.replace("lab_admin@", f"lab_admin:{secret}@")
    cases = [
        (["lab", "init", with_password], "holds a password.*pgpass"),
        (["lab", "init", f"host=127.0.0.1 password={secret} dbname=x"], "holds a password"),
        (["lab", "add-station", "a", "--url", f"{url}?password={secret}"], "holds a password"),
        (["lab", "init", dead], r"no PostgreSQL server answers at lab_admin@127\.0\.0\.1:\d+/x"),
        (["lab", "init", "http://example.org"], "is not a PostgreSQL URL"),
        (["lab", "init", f"postgresq://u:{secret}@h/db"], "is not a PostgreSQL URL"),
        (["lab", "init", f"{url}?sslmod=require"], "unknown setting 'sslmod'"),
        (["lab", "init", pg_server.url("no_such_db")], "no such database"),
        (["lab", "init", pg_server.url(pg_database.name, "nobody")], "asks a password"),
        (["lab", "add-station", "a", "--url", url], "not a SolidStack lab store yet.*lab init"),
    ]
    before = roles_and_stations(pg_database)
    refused(main(*cases[0][0]), pg_server, cases[0][1], secret)      # once as its own process
    for args, message in cases:
        refused(cli(*args), pg_server, message, secret)
    assert roles_and_stations(pg_database) == before


def test_a_wrong_password_in_pgpass_is_named_but_not_shown(pg_database, pg_server, tmp_path):
    wrong = tmp_path / "pgpass"
    wrong.write_text(f"127.0.0.1:{pg_server.port}:*:lab_admin:not-the-password\n")
    wrong.chmod(0o600)
    result = main("lab", "init", pg_database.url, env={**os.environ, "PGPASSFILE": str(wrong)})
    refused(result, pg_server, r"refused the password.*\.pgpass", "not-the-password")


def test_a_station_may_not_init_nor_add_stations(lab_store, pg_server, cli):
    station_url = lab_store.add_station("alpha")
    before = roles_and_stations(lab_store.db)
    refused(cli("lab", "init", station_url), pg_server,
            "'station_alpha' may not set up the lab store: it needs to be a superuser")
    refused(cli("lab", "add-station", "beta", "--url", station_url), pg_server,
            "'station_alpha' may not create roles")
    assert roles_and_stations(lab_store.db) == before
