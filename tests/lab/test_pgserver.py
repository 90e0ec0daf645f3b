"""The test server's own rules (tests/pgserver.py): which binaries it takes, and that a
machine without PostgreSQL fails the lab tests with a message saying what to install."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from pgserver import BINARIES, PgServer, PgServerError, find_binaries, wheel_binaries


def fake_bin(folder):
    folder.mkdir(parents=True)
    for name in BINARIES:
        (folder / name).write_text("#!/bin/sh\n")
        (folder / name).chmod(0o755)
    return folder


def test_the_newest_debian_server_is_taken_when_path_has_none(tmp_path):
    debian = tmp_path / "postgresql"
    for version in ("9.6", "14", "16", "15"):
        fake_bin(debian / version / "bin")
    (debian / "17").mkdir()                  # a client-only package: no server binaries
    assert find_binaries(path=str(tmp_path / "empty"), debian=debian) == debian / "16" / "bin"


def test_path_comes_first(tmp_path):
    on_path = fake_bin(tmp_path / "local" / "bin")
    fake_bin(tmp_path / "postgresql" / "16" / "bin")
    assert find_binaries(path=str(on_path), debian=tmp_path / "postgresql") == on_path


def test_no_server_is_a_failure_naming_what_to_install(tmp_path):
    with pytest.raises(PgServerError, match=r"no PostgreSQL server binaries .* apt-get install postgresql"):
        find_binaries(path=str(tmp_path), debian=tmp_path / "none", wheel="no-such-distribution")


def test_without_a_system_server_the_pip_packaged_one_runs(tmp_path):
    """A fresh machine with no PostgreSQL: the server of the pinned pip package pgserver
    (requirements-dev.txt) is found, and starts and answers as the system's does."""
    bundled = find_binaries(path=str(tmp_path), debian=tmp_path / "none")
    assert bundled == wheel_binaries() and bundled.parts[-3:] == ("pgserver", "pginstall", "bin")
    root = Path(tempfile.mkdtemp(prefix="solidstack-pg-"))     # as root, the postgres user must reach it
    pgpass = tmp_path / "pgpass"
    pgpass.touch(mode=0o600)
    server = PgServer(bin=bundled, root=root, pgpass=pgpass)
    try:
        server.start()
        previous = os.environ.get("PGPASSFILE")
        os.environ["PGPASSFILE"] = str(pgpass)
        try:
            with server.admin_connect() as conn:
                version = conn.execute("SHOW server_version_num").fetchone()[0]
        finally:
            if previous is None:
                os.environ.pop("PGPASSFILE", None)
            else:
                os.environ["PGPASSFILE"] = previous
    finally:
        server.stop()
    assert int(version) >= 160000


def test_the_session_server_asks_passwords_and_listens_on_localhost_only(pg_server):
    with pg_server.admin_connect() as conn:
        settings = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name IN"
                                     " ('listen_addresses', 'password_encryption', 'fsync')").fetchall())
        rules = conn.execute("SELECT DISTINCT auth_method FROM pg_hba_file_rules").fetchall()
    assert settings == {"listen_addresses": "127.0.0.1", "password_encryption": "scram-sha-256", "fsync": "off"}
    assert rules == [("scram-sha-256",)]
