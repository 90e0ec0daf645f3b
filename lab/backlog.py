"""What a notebook has not yet pushed to the lab store, read from its outbox (schema v5):
how many runs have something pending, how many samples wait in pending chunks, and how
many outbox records there are in all. Reads only; cheap enough to ask after every drain
(one pass over the outbox, each pending chunk found by its primary key)."""
from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass

# The runs an outbox row concerns: by its kind, the run id is `ref` itself, or found
# through the row it names (an event, a note, a run tag). A removed tag names only its uuid.
_PENDING_RUNS = """
SELECT COUNT(DISTINCT run_id) FROM (
    SELECT ref AS run_id FROM outbox WHERE kind IN ('run', 'chunk', 'step', 'spectrum')
    UNION ALL SELECT e.run_id FROM outbox o JOIN events e ON e.id = o.ref WHERE o.kind = 'event'
    UNION ALL SELECT n.run_id FROM outbox o JOIN notes n ON n.id = o.ref WHERE o.kind = 'note' AND n.run_id IS NOT NULL
    UNION ALL SELECT t.run_id FROM outbox o JOIN run_tags t ON t.rowid = o.ref WHERE o.kind = 'run_tag'
)"""
_PENDING_SAMPLES = """
SELECT COALESCE(SUM(c.n), 0) FROM outbox o
JOIN sample_chunks c ON c.run_id = o.ref AND c.first_index = o.sub WHERE o.kind = 'chunk'"""


@dataclass(frozen=True)
class Backlog:
    runs: int       # distinct runs with anything pending
    samples: int    # samples in pending chunks
    records: int    # outbox rows

    @property
    def empty(self) -> bool:
        return self.records == 0

    def as_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        """"2 runs / 5,000 samples", as the status bar and the command line say it."""
        return f"{self.runs} run{'' if self.runs == 1 else 's'} / {self.samples:,} samples"


def backlog(conn: sqlite3.Connection) -> Backlog:
    """The notebook's backlog, read in one snapshot (a writer adding rows meanwhile does not
    make the three figures disagree)."""
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        records = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        if records == 0:
            return Backlog(0, 0, 0)
        runs = conn.execute(_PENDING_RUNS).fetchone()[0]
        samples = conn.execute(_PENDING_SAMPLES).fetchone()[0]
        return Backlog(int(runs), int(samples), int(records))
    finally:
        if own:
            conn.rollback()
