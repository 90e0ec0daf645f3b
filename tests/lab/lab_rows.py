"""Rows written straight into the lab store with plain parameterised SQL, as a station's sync
would: a build and its layers, a run, its steps. For tests that check what the store's rules
and views make of hand-made rows."""
from __future__ import annotations

import uuid as uuidlib


def new_uuid() -> str:
    return str(uuidlib.uuid4())


def insert_build(conn, layers, *, name="cell 1", operator="AB", area_cm2=1.0, pressure_mpa=5.0,
                 temperature_c=25.0) -> str:
    """A build with `layers` = [(material, thickness_um, lot), ...] bottom to top; its uuid."""
    build = new_uuid()
    conn.execute("INSERT INTO solidstack.builds (uuid, local_id, created_utc, name, template, description, operator,"
                 " area_cm2, stack_pressure_mpa, densification_pressure_mpa, temperature_c, stack_json)"
                 " VALUES (%s, 1, '2026-12-01T10:00:00.000Z', %s, 'custom', 'hand-made', %s, %s, %s, 300, %s, '{}')",
                 (build, name, operator, area_cm2, pressure_mpa, temperature_c))
    for position, (material, thickness, lot) in enumerate(layers):
        conn.execute("INSERT INTO solidstack.build_layers (build_uuid, position, material, thickness_um,"
                     " areal_mass_mg_cm2, lot) VALUES (%s, %s, %s, %s, 1.0, %s)",
                     (build, position, material, thickness, lot))
    return build


def insert_run(conn, build_uuid: str | None, *, status="running", local_id=1) -> str:
    run = new_uuid()
    conn.execute("INSERT INTO solidstack.runs (uuid, local_id, build_uuid, protocol, protocol_json, status,"
                 " started_utc, n_samples, provenance_json) VALUES (%s, %s, %s, 'cc', '{}', %s,"
                 " '2026-12-01T11:00:00.000Z', 0, '{}')", (run, local_id, build_uuid, status))
    return run


def insert_steps(conn, run_uuid: str, steps) -> None:
    """`steps` = [(step, cycle, current_a, charge_mah, v_mean), ...]."""
    for step, cycle, current, charge, v_mean in steps:
        conn.execute("INSERT INTO solidstack.run_steps (run_uuid, step, cycle, label, current_a, t_start, t_end,"
                     " n_samples, charge_mah, v_mean, v_end) VALUES (%s, %s, %s, 'cc', %s, %s, %s, 10, %s, %s, %s)",
                     (run_uuid, step, cycle, current, 100.0 * step, 100.0 * step + 90, charge, v_mean, v_mean))
