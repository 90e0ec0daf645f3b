"""The headless commands of `main.py`, one module per command group: each module owns its
command's arguments (`add_arguments(sub, common)`) and its handler (`run(args)`). main.py
assembles the one parser from them and launches the GUI; nothing here imports Qt."""
