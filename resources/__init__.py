"""Data files shipped with the station (catalog, templates, instrument definitions, icon)
and the application's version, the one source of truth for it.

Files are read through importlib.resources so the same code works from source and
from the PyInstaller bundle, where build.spec maps this folder 1:1.
"""
from __future__ import annotations

import json
from importlib import resources as _resources
from typing import Any

APP_NAME = "SolidStack"
APP_VERSION = "0.1.0"


def read_text(name: str) -> str:
    """Return the text of the resource file `name` (relative to this package)."""
    return _resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def read_bytes(name: str) -> bytes:
    """Return the bytes of the resource file `name` (icons and other binary files)."""
    return _resources.files(__name__).joinpath(name).read_bytes()


def read_json(name: str) -> Any:
    return json.loads(read_text(name))


def file_path(name: str) -> str:
    """A filesystem path to the resource, for libraries that want one (pyvisa-sim).
    The package is a plain folder from source and in the one-folder bundle."""
    return str(_resources.files(__name__).joinpath(name))
