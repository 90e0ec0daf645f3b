"""Tools that drive the station's widgets but are not part of the station: the Qt-driving
benchmark drivers (`bench_*.py`, run by `benchmarks/`), the screenshot makers for `docs/`
and the icon renderer (run by `packaging/make_icons.py`). Not shipped in the packaged build."""
