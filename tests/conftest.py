"""Shared test set-up: GUI tests run offscreen, real data comes from ../shared/data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before anything imports Qt: tests never need a display.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def pytest_addoption(parser):
    parser.addoption("--hardware", action="store_true", help="also run tests that need real instruments")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--hardware"):
        return
    skip = pytest.mark.skip(reason="needs real instruments: run with --hardware")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "notebook.sqlite"
