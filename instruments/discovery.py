"""Finding instruments and remembering which plays which role.

`discover` lists the VISA resources a backend sees, asks each who it is (`*IDN?` for
SCPI instruments; Alicat's `A??M*` and Mark-10's `?` on serial ports) and suggests a
driver and role. The operator's assignment of roles to resources is saved as JSON in
the user's configuration folder and read back by `hardware_bench`."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import platformdirs
import pyvisa

from instruments.keysight_daq970a import check_paths
from instruments.registry import DRIVERS, ROLES, by_name, match

PROBE_TIMEOUT_MS = 800


@dataclass(frozen=True)
class Found:
    resource: str
    identity: str           # what it answered, or why it did not
    driver: str | None      # suggested driver
    role: str | None        # suggested role


def _ask(rm: pyvisa.ResourceManager, resource: str, query: str, termination: str) -> str | None:
    try:
        session = rm.open_resource(resource, read_termination=termination, write_termination=termination,
                                   timeout=PROBE_TIMEOUT_MS)
    except (pyvisa.Error, OSError, ValueError):
        return None
    try:
        reply = session.query(query).strip()
        return reply or None
    except (pyvisa.Error, OSError, UnicodeDecodeError):
        return None
    finally:
        try:
            session.close()
        except (pyvisa.Error, OSError):
            pass  # a probe that failed may leave nothing to close


def identify(rm: pyvisa.ResourceManager, resource: str) -> Found:
    """Ask one resource who it is. Serial ports get the serial protocols first: a
    serial device left holding a half-understood SCPI query confuses what follows."""
    probes = [("*IDN?", "\n")]
    if resource.upper().startswith("ASRL"):
        probes = [("A??M*", "\r"), ("?", "\r")] + probes
    heard = None
    for query, termination in probes:
        reply = _ask(rm, resource, query, termination)
        if reply is None:
            continue
        if query == "?" and reply.split()[-1].upper() in ("N", "KN", "LBF", "KGF"):
            reply = f"Mark-10 force gauge ({reply})"
        info = match(reply)
        if info is not None:
            return Found(resource, reply, info.name, info.roles[0])
        heard = heard or reply
    detail = f"answered {heard!r}, which no driver recognises" if heard else "no answer to *IDN? or the serial protocols we know"
    return Found(resource, detail, None, None)


def discover(rm: pyvisa.ResourceManager) -> list[Found]:
    # "?*" rather than the default "?*::INSTR": LAN instruments are often ::SOCKET resources.
    return [identify(rm, resource) for resource in rm.list_resources("?*")]


# -- the saved role assignment --
def default_assignment_path() -> Path:
    return Path(platformdirs.user_config_dir("SolidStack", appauthor=False)) / "instruments.json"


def check_assignment(assignment: dict) -> None:
    """Refuse an assignment naming an unknown role, an unknown driver, or a driver in a
    role it cannot play; the message names the entry."""
    for role, entry in assignment.items():
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        if not isinstance(entry, dict) or not entry.get("resource") or not entry.get("driver"):
            raise ValueError(f"role {role!r} needs a resource and a driver")
        info = by_name(entry["driver"])
        if role not in info.roles:
            raise ValueError(f"driver {info.name} cannot be the {ROLES[role]} ({role}); it can be {', '.join(info.roles)}")
        if role == "switch" and "paths" in entry:
            try:
                check_paths(entry["paths"])
            except ValueError as exc:
                raise ValueError(f"role 'switch': {exc}") from None


def save_assignment(assignment: dict, path: Path | None = None) -> Path:
    check_assignment(assignment)
    path = Path(path) if path else default_assignment_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(assignment, indent=2))
    os.replace(tmp, path)  # never a half-written file
    return path


MAX_ASSIGNMENT_BYTES = 1_000_000   # an assignment is a few hundred bytes; /dev/zero never ends


def load_assignment(path: Path | None = None) -> dict:
    path = Path(path) if path else default_assignment_path()
    if not path.exists():
        raise FileNotFoundError(f"no instrument assignment at {path}: assign roles with "
                                "`python main.py instruments --assign ROLE=RESOURCE`")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not an instrument assignment file")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_ASSIGNMENT_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot read the instrument assignment {path}: {exc.strerror}") from None
    if len(data) > MAX_ASSIGNMENT_BYTES:
        raise ValueError(f"{path} is over {MAX_ASSIGNMENT_BYTES // 1_000_000} MB, too big for an instrument "
                         "assignment (a few hundred bytes); it was not read further")
    try:
        assignment = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not an instrument assignment: it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    check_assignment(assignment)
    return assignment


def assign(found: list[Found], pairs: list[str]) -> dict:
    """Turn ROLE=RESOURCE pairs into an assignment, the driver from each resource's identity."""
    by_resource = {f.resource: f for f in found}
    assignment = {}
    for pair in pairs:
        role, sep, resource = pair.partition("=")
        if not sep:
            raise ValueError(f"{pair!r}: write ROLE=RESOURCE, e.g. smu=TCPIP0::192.168.1.20::5025::SOCKET")
        f = by_resource.get(resource)
        if f is None:
            raise ValueError(f"{resource!r} was not found; found: {', '.join(by_resource) or 'nothing'}")
        if f.driver is None:
            raise ValueError(f"{resource!r} ({f.identity}) is not an instrument SolidStack has a driver for")
        assignment[role] = {"resource": resource, "driver": f.driver, "identity": f.identity}
    check_assignment(assignment)
    return assignment


def as_dicts(found: list[Found]) -> list[dict]:
    return [asdict(f) for f in found]


DRIVER_NAMES = [d.name for d in DRIVERS]
