"""How the station is seen and driven: Qt widgets and views. The only package that
imports PySide6 and pyqtgraph."""
