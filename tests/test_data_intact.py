"""The real files in tests/data are the independent truth many tests compare with: they
must be exactly what was copied (tests/data/SHA256SUMS). A test once ran a stand-in
station that wrote its screenshot over fifteen of them."""
from __future__ import annotations

import hashlib

from conftest import TEST_DATA


def test_the_vendor_files_are_unchanged():
    listed = [line.split("  ", 1) for line in (TEST_DATA / "SHA256SUMS").read_text().splitlines() if line.strip()]
    assert len(listed) >= 26
    changed = [name for digest, name in listed
               if hashlib.sha256((TEST_DATA / name).read_bytes()).hexdigest() != digest]
    assert changed == [], f"tests/data changed (restore them from git): {changed}"
