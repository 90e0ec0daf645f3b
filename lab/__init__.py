"""The lab store: every station's builds, runs and samples in one PostgreSQL database.

- `connection`: connecting through libpq (URL, key=value or `service=NAME`; credentials only
  from .pgpass, a service file or PG* variables), LabError, redact() for every message that
  names a URL;
- `schema`: the versioned, idempotent schema of the store (`solidstack`), its roles, grants,
  row-level security and the analysts' views;
- `admin`: the lab admin's commands: a login role per station or reader;
- `sync`, `backlog`: the worker that drains a notebook's outbox into the store;
- `query`, `fetch`, `export`: reading the lab (the browser's Lab scope, the CLI's --lab);
- `outcomes`: a run's outcome figures, computed by its station.

Nothing here imports Qt.
"""
