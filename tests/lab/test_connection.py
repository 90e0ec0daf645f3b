"""lab/connection.py: passwords taken out of every form of URL, a URL with one refused, and
libpq's failures turned into words naming where and what to fix (against the real server)."""
from __future__ import annotations

import pytest

from lab.connection import LabError, connect, describe, redact, url_has_password
from pgserver import free_port


@pytest.mark.parametrize("url, clean", [
    ("postgresql://st:s3cret@lab.example:5432/lab", "postgresql://st@lab.example:5432/lab"),
    ("postgres://:s3cret@lab/lab", "postgres://lab/lab"),
    ("postgresql://st:p%40ss@h1:5432,h2:5433/lab?sslmode=verify-full", "postgresql://st@h1:5432,h2:5433/lab?sslmode=verify-full"),
    ("postgresql://st@h/lab?password=s3cret&sslmode=require", "postgresql://st@h/lab?sslmode=require"),
    ("postgresql://st@h/lab?sslmode=require&password=s3cret", "postgresql://st@h/lab?sslmode=require"),
    ("postgresql://st@h/lab?password=s3cret", "postgresql://st@h/lab"),
    ("host=lab port=5432 password=s3cret dbname=lab", "host=lab port=5432 dbname=lab"),
    ("host=lab password = 's3 cret\\' x' dbname=lab", "host=lab dbname=lab"),
    ("service=lab", "service=lab"),
    ("postgresq://u:s3cret@h/db", "postgresq://u@h/db"),
    ("see postgresql://u:s3cret@h/db for details", "see postgresql://u@h/db for details"),
])
def test_redact_takes_the_password_out_of_every_form(url, clean):
    assert redact(url) == clean
    assert "cret" not in redact(url)


@pytest.mark.parametrize("url, has", [
    ("postgresql://st:x@h/db", True), ("postgresql://st@h/db?password=x", True), ("host=h password=x", True),
    ("postgresql://st@h/db", False), ("service=lab", False), ("postgresql://st:@h/db", False),
    ("garbage:x@y", False),
])
def test_url_has_password(url, has):
    assert url_has_password(url) is has


def test_describe_names_role_host_port_and_database(monkeypatch):
    monkeypatch.delenv("PGHOST", raising=False)
    monkeypatch.delenv("PGPORT", raising=False)
    assert describe("postgresql://st:x@lab:6543/archive") == "st@lab:6543/archive"
    assert describe("host=lab dbname=archive") == "lab:5432/archive"
    assert describe("service=lab") == "service 'lab'"


def test_connect_refuses_a_url_holding_a_password_before_connecting():
    with pytest.raises(LabError, match="holds a password") as caught:
        connect(f"postgresql://st:s3cret@127.0.0.1:{free_port()}/db")
    assert "s3cret" not in str(caught.value)


def test_connect_names_a_server_that_is_not_there():
    port = free_port()
    with pytest.raises(LabError, match=rf"no PostgreSQL server answers at st@127\.0\.0\.1:{port}/db"):
        connect(f"postgresql://st@127.0.0.1:{port}/db")


def test_connect_sets_application_name_and_stays_out_of_autocommit(pg_database):
    conn = connect(pg_database.url)
    try:
        assert conn.autocommit is False
        assert conn.execute("SHOW application_name").fetchone()[0] == "SolidStack"
    finally:
        conn.close()


def test_connect_through_a_service_file(pg_database, tmp_path, monkeypatch):
    services = tmp_path / "pg_service.conf"
    services.write_text(f"[lab]\nhost=127.0.0.1\nport={pg_database.server.port}\ndbname={pg_database.name}\n"
                        "user=lab_admin\nsslmode=disable\n")
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    conn = connect("service=lab")
    try:
        assert (conn.info.dbname, conn.info.user) == (pg_database.name, "lab_admin")
    finally:
        conn.close()
    with pytest.raises(LabError, match="service"):
        connect("service=nope")


def test_tls_demanded_by_the_url_is_honoured(pg_database):
    """The test server has no certificate: sslmode=require in the URL must fail, not fall back."""
    with pytest.raises(LabError, match="TLS|SSL"):
        connect(pg_database.url + "?sslmode=require")


def test_a_server_older_than_the_store_needs_is_refused(pg_database, monkeypatch):
    """This machine has no PostgreSQL 13 to connect to: the floor is raised above the real
    server's version instead, which takes the same path."""
    import lab.connection
    monkeypatch.setattr(lab.connection, "MIN_SERVER_VERSION", 10_000_000)
    with pytest.raises(LabError, match=r"runs PostgreSQL \d+\.\d+.*needs PostgreSQL 14 or newer"):
        connect(pg_database.url)
