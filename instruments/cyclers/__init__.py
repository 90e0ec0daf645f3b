"""Commercial battery cyclers watched through their own remote interfaces: the
protocol-neutral client interface and record shape (base.py) and one client module
per protocol. Register a protocol here, explicitly (no entry points: frozen builds
keep working and the list stays visible)."""
from __future__ import annotations

from instruments.cyclers.base import CyclerClient, CyclerError

# protocol -> (module, client class, default port)
PROTOCOLS = {"neware": ("instruments.cyclers.neware", "NewareClient", 502),
             "maccor": ("instruments.cyclers.maccor", "MaccorClient", 57570),
             "arbin": ("instruments.cyclers.arbin", "ArbinClient", 9031)}


def parse_host(text: str, protocol: str) -> tuple[str, int]:
    """"HOST[:PORT]" -> (host, port), the protocol's default port when none is given."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown cycler protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    host, sep, port = text.rpartition(":") if ":" in text else (text, "", "")
    if not sep:
        return text, PROTOCOLS[protocol][2]
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST[:PORT] (a port is 1 to 65535)")
    return host, int(port)


def client_for(protocol: str, host: str, port: int, timeout_s: float = 10.0) -> CyclerClient:
    """A client of `protocol` for the cycler at host:port (not yet connected)."""
    # A literal import per protocol, not importlib on a name: PyInstaller must see each client module.
    if protocol == "neware":
        from instruments.cyclers.neware import NewareClient as client
    elif protocol == "maccor":
        from instruments.cyclers.maccor import MaccorClient as client
    elif protocol == "arbin":
        from instruments.cyclers.arbin import ArbinClient as client
    else:
        raise ValueError(f"unknown cycler protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    return client(host, port, timeout_s=timeout_s)


__all__ = ["CyclerClient", "CyclerError", "PROTOCOLS", "client_for", "parse_host"]
