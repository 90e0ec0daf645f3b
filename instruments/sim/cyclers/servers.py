"""Which emulator serves which protocol: the one table `cycler-sim` and demos start
an emulated cycler from (explicit, as the clients' table in instruments.cyclers)."""
from __future__ import annotations

import importlib

from instruments.sim.cyclers.channel import SimChannel

# protocol -> (module, emulator class, server class)
EMULATORS = {
    "neware": ("instruments.sim.cyclers.neware_emulator", "NewareEmulator", "NewareServer"),
    "maccor": ("instruments.sim.cyclers.maccor_emulator", "MaccorEmulator", "MaccorServer"),
    "arbin": ("instruments.sim.cyclers.arbin_emulator", "ArbinEmulator", "ArbinServer"),
}


def serve(protocol: str, channels: list[SimChannel], speed: float = 3600.0, port: int = 0):
    """An emulated cycler of `protocol` serving `channels` on 127.0.0.1:`port` (0: a
    free port; the server's `.port` says which) until its close(). OSError if the port
    is taken."""
    if protocol not in EMULATORS:
        raise ValueError(f"no emulator of {protocol!r}; emulated: {', '.join(EMULATORS)}")
    module, emulator, server = EMULATORS[protocol]
    found = importlib.import_module(module)
    return getattr(found, server)(getattr(found, emulator)(channels, speed=speed), port=port)
