"""Emulated commercial cyclers (loopback servers of their remote interfaces) and the simulated channels behind them."""
