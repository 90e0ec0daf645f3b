"""The Battery Data Format's column vocabulary: which headers name which quantity, and
the factor that brings each unit to ours (seconds, volts, amperes, ampere-hours).

A header is either a preferred label, `Base / unit` (`Test Time / h`), or a machine name,
`base_unit` (`test_time_hour`). The BDF quantity list (Battery Data Alliance ontology,
v1.x, and its earlier README table) fixes most units; time comes in several (`Test Time /
ms` is a term of its own), and files in the wild use more (`/ min`, `/ h`). Legacy names
that older BDF tools wrote are accepted too: `cycle_dimensionless`, `date_time_millisecond`
(Unix time in ms), `Charge Capacity / Ah` for `Charging Capacity / Ah`. Our extension for
three-electrode cells is `Reference Potential / V` (`reference_potential_volt`)."""
from __future__ import annotations

TIME_LABEL_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "min": 60.0, "h": 3600.0, "d": 86400.0}
TIME_WORDS = {"second": 1.0, "millisecond": 1e-3, "microsecond": 1e-6, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
_COUNT = {"1": 1.0, "": 1.0}
_COUNT_WORDS = {"": 1.0, "dimensionless": 1.0}
_AH = {"Ah": 1.0, "mAh": 1e-3}
_AH_WORDS = {"ah": 1.0, "ampere_hour": 1.0, "mah": 1e-3, "milliampere_hour": 1e-3}

# canonical name -> (label bases, machine stems, label units, machine unit words); the
# first label with the first unit is the preferred label that error messages quote
QUANTITIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], dict[str, float], dict[str, float]]] = {
    "t_s": (("Test Time",), ("test_time",), TIME_LABEL_UNITS, TIME_WORDS),
    "voltage_V": (("Voltage",), ("voltage",), {"V": 1.0}, {"volt": 1.0}),
    "current_A": (("Current",), ("current",), {"A": 1.0}, {"ampere": 1.0}),
    "unix_time_s": (("Unix Time", "Date Time"), ("unix_time", "date_time"),
                    {"s": 1.0, "ms": 1e-3}, {"second": 1.0, "millisecond": 1e-3}),
    "cycle": (("Cycle Count",), ("cycle_count",), _COUNT, _COUNT_WORDS),
    "step": (("Step Count",), ("step_count",), _COUNT, _COUNT_WORDS),
    "step_id": (("Step ID",), ("step_id",), _COUNT, _COUNT_WORDS),
    "step_index": (("Step Index",), ("step_index",), _COUNT, _COUNT_WORDS),
    "ref_V": (("Reference Potential",), ("reference_potential",), {"V": 1.0}, {"volt": 1.0}),
    "temperature_degC": (("Ambient Temperature",), ("ambient_temperature",),
                         {"degC": 1.0, "°C": 1.0}, {"celsius": 1.0, "degc": 1.0}),
    "pressure_Pa": (("Applied Pressure",), ("applied_pressure",), {"Pa": 1.0}, {"pa": 1.0, "pascal": 1.0}),
    "charge_capacity_Ah": (("Charging Capacity", "Charge Capacity"), ("charging_capacity", "charge_capacity"),
                           _AH, _AH_WORDS),
    "discharge_capacity_Ah": (("Discharging Capacity", "Discharge Capacity"),
                              ("discharging_capacity", "discharge_capacity"), _AH, _AH_WORDS),
    "net_capacity_Ah": (("Net Capacity",), ("net_capacity",), _AH, _AH_WORDS),
    "cumulative_capacity_Ah": (("Cumulative Capacity",), ("cumulative_capacity",), _AH, _AH_WORDS),
    "step_capacity_Ah": (("Step Capacity",), ("step_capacity",), _AH, _AH_WORDS),
}
LEGACY = {"cycle_dimensionless": ("cycle", 1.0), "step_dimensionless": ("step", 1.0)}
REQUIRED = ("t_s", "voltage_V", "current_A")

EIS_COLUMNS = {
    "frequency_Hz": ("Frequency / Hz", "frequency_hz", "frequency_hertz"),
    "z_real_ohm": ("Real Impedance / ohm", "real_impedance_ohm"),
    "z_imag_ohm": ("Imaginary Impedance / ohm", "imaginary_impedance_ohm"),
}


def key(label: str) -> str:
    """A header compared case-insensitively, spaces squeezed and around its '/' evened."""
    text = " ".join(label.strip().strip('"').lower().split())
    if "/" in text:
        base, unit = text.split("/", 1)
        text = f"{base.strip()} / {unit.strip()}"
    return text


def _lookup() -> dict[str, tuple[str, float]]:
    table = {}
    for name, (labels, stems, units, words) in QUANTITIES.items():
        for label in labels:
            for unit, factor in units.items():
                table[key(f"{label} / {unit}" if unit else label)] = (name, factor)
        for stem in stems:
            for word, factor in words.items():
                table[key(f"{stem}_{word}" if word else stem)] = (name, factor)
    table.update(LEGACY)
    return table


LOOKUP = _lookup()
EIS_LOOKUP = {key(label): name for name, labels in EIS_COLUMNS.items() for label in labels}


def preferred(name: str) -> str:
    """The preferred label of a quantity in its standard unit, e.g. 'Test Time / s'."""
    labels, stems, units, words = QUANTITIES[name]
    unit = next(iter(units))
    return f"{labels[0]} / {unit}" if unit else labels[0]


def machine(name: str) -> str:
    labels, stems, units, words = QUANTITIES[name]
    word = next(iter(words))
    return f"{stems[0]}_{word}" if word else stems[0]


def quantity(label: str) -> tuple[str, float] | None:
    """(our column name, factor to our unit) for a BDF header, or None."""
    return LOOKUP.get(key(label))
