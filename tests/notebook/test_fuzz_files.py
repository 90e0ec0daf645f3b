"""The real files in tests/data, damaged the ways files get damaged (cut short, bits flipped,
numbers pushed to extremes, saved in another encoding or with semicolons), imported into a
notebook: each is read or refused with a FormatError, never a traceback; in bounded time
and memory; and a refusal leaves the notebook exactly as it was. Seeded, so a failure
reproduces."""
from __future__ import annotations

import random
import re
import time
import tracemalloc

import pytest

from conftest import TEST_DATA, table_counts
from notebook import Notebook, NotebookError
from notebook.formats import FormatError
from notebook.importer import import_file

SEED = 20261202
MAX_BYTES = 96 * 1024          # each file is first cut to this, so the whole fuzz stays quick
MAX_SECONDS = 20.0             # one import of a damaged ~100 kB file
MAX_PEAK_MB = 200.0            # Python allocations during one import (tracemalloc)
NUMBER = re.compile(rb"(?<![A-Za-z_])-?\d+\.\d+(?:[eE][-+]?\d+)?")
EXTREMES = [b"1e308", b"-1e308", b"nan", b"inf", b"-inf", b"1e-320", b"99999999999999999999999", b"0", b"\xc2\xb2"]

REAL_FILES = sorted(p for folder in ("cycling", "eis") for p in (TEST_DATA / folder).iterdir() if p.is_file())


def _cut(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(0, len(data) + 1)]


def _flip(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(max(1, len(out) // 2000)):
        if out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _extreme(data: bytes, rng: random.Random) -> bytes:
    numbers = list(NUMBER.finditer(data))
    if not numbers:
        return _flip(data, rng)
    out = data
    for match in sorted(rng.sample(numbers, min(5, len(numbers))), key=lambda m: m.start(), reverse=True):
        out = out[:match.start()] + rng.choice(EXTREMES) + out[match.end():]
    return out


def _utf16(data: bytes, rng: random.Random) -> bytes:
    return data.decode("latin-1").encode("utf-16")


def _semicolons(data: bytes, rng: random.Random) -> bytes:
    # a European spreadsheet's CSV: decimal commas, fields separated by semicolons
    return re.sub(rb"(\d)\.(\d)", rb"\1,\2", data.replace(b",", b";"))


def _huge_number(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    k = rng.randrange(len(lines))
    lines[k] = lines[k] + b"1" * (2 * 1024 * 1024)        # one 2 MB number at the end of a line
    return b"\n".join(lines)


MUTATIONS = {"cut": _cut, "flip": _flip, "extreme": _extreme, "utf16": _utf16, "semicolons": _semicolons,
             "huge-number": _huge_number}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
@pytest.mark.parametrize("source", REAL_FILES, ids=lambda p: p.name)
def test_a_damaged_real_file_is_read_or_refused_cleanly(tmp_path, source, mutation):
    rng = random.Random(f"{SEED}-{source.name}-{mutation}")
    damaged = tmp_path / source.name
    damaged.write_bytes(MUTATIONS[mutation](source.read_bytes()[:MAX_BYTES], rng))
    db = tmp_path / "notebook.sqlite"
    Notebook(db).close()
    before = table_counts(db)
    tracemalloc.start()
    started = time.monotonic()
    try:
        with Notebook(db) as nb:
            result = import_file(nb, damaged)
    except (FormatError, NotebookError) as exc:
        message = str(exc)
        assert "\n" not in message.strip() and len(message) < 2000, message
        assert table_counts(db) == before              # a refusal leaves nothing behind
    else:
        assert result.n_samples > 0 or result.n_spectra > 0
        assert table_counts(db)["runs"] == before["runs"] + 1
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.monotonic() - started < MAX_SECONDS
    assert peak / 2**20 < MAX_PEAK_MB
