"""What the SCPI drivers share: a command confirmed by `*OPC?` (the instrument has
carried it out when the call returns, and a socket never stalls on Nagle's algorithm
between two short writes: pyvisa-py cannot set TCP_NODELAY), and reply parsers that
raise Garbled saying what was expected."""
from __future__ import annotations

from typing import Callable

import numpy as np

from instruments.connection import Connection, Garbled
from instruments.errors import InstrumentError

# IEEE 488.2's Standard Event Status Register: the bits that say a command went wrong
ESR_BITS = {32: "command error (CME)", 16: "execution error (EXE)", 4: "query error (QYE)"}


def expect_opc(reply: str) -> str:
    if reply.strip() != "1":
        raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected *OPC? = 1")
    return "1"


def count(reply: str) -> int:
    try:
        return int(float(reply))
    except ValueError:
        raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected a count") from None


def check_esr(connection: Connection, name: str, context: str) -> None:
    """InstrumentError naming `context` when *ESR? has an error bit set (reading it clears it)."""
    esr = connection.query("*ESR?", count)
    problems = [text for bit, text in ESR_BITS.items() if esr & bit]
    if problems:
        raise InstrumentError(name, context, f"the instrument reported {', '.join(problems)} (*ESR? = {esr})")


def number(what: str) -> Callable[[str], float]:
    def parse(reply: str) -> float:
        try:
            return float(reply)
        except ValueError:
            raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected {what}") from None
    return parse


def numbers(expected: int) -> Callable[[str], np.ndarray]:
    """Parser of a comma-separated list that must hold `expected` numbers."""
    def parse(reply: str) -> np.ndarray:
        try:
            values = np.array(reply.split(","), dtype=float)
        except ValueError:
            raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected numbers") from None
        if values.size != expected:
            raise Garbled(f"truncated reply: {values.size} values, expected {expected}")
        return values
    return parse


class ScpiDriver:
    def __init__(self, connection: Connection, name: str):
        self.connection = connection
        self.name = name

    def _write(self, command: str) -> None:
        """Send a command and wait for `*OPC?`."""
        self.connection.query(command + ";*OPC?", expect_opc)

    def identify(self) -> str:
        return self.connection.query("*IDN?")
