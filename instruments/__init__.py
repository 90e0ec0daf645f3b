"""How hardware is spoken to: driver interfaces per role, SCPI drivers over pyvisa,
the simulated bench (SCPI emulators of the same instrument models, so demo mode runs
the real drivers), the injectable clock and the explicit driver registry."""
