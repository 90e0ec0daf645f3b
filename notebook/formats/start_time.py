"""When a test started, from the wall-clock text instrument software writes in its header
(EC-Lab, Gamry, ZPlot, VersaStudio): local time with no zone. The zone is assumed to be
this computer's, since files are usually imported on or near the lab PC that wrote them,
and the assumption is said in a warning that the import stores with the run."""
from __future__ import annotations

from datetime import datetime, timezone


def start_meta(text: str, formats: tuple[str, ...], source: str, layout: str) -> tuple[dict, list[str]]:
    """({"started_utc": ISO 8601 in UTC, "started_local": ISO 8601 without zone}, [warning])
    from `text` read with the first of `formats` (strptime) that fits; ({}, [warning]) when
    none does, so a garbled date never stops an import. `source` names the file and header
    field in the warning; `layout` says how the vendor lays the date out ("month/day/year")."""
    text = " ".join(text.split())
    for fmt in formats:
        try:
            local = datetime.strptime(text, fmt)
            aware = local.astimezone()          # naive: this computer's zone on that date
        except (ValueError, OverflowError, OSError):
            continue
        offset = aware.strftime("%z")
        zone = f"UTC{offset[:3]}:{offset[3:]}"
        spec = "milliseconds" if local.microsecond else "seconds"
        started = aware.astimezone(timezone.utc).isoformat(timespec=spec)
        note = (f"{source} gives the start {text!r} as local time with no zone ({layout}); "
                f"taken as this computer's zone ({zone}): started_utc {started}")
        return {"started_utc": started, "started_local": local.isoformat(timespec=spec)}, [note]
    return {}, [f"{source}: start time {text[:60]!r} not understood ({layout} expected); "
                "the run's start is not taken from the file"]
