"""The per-cycle table of a plating/stripping run, recomputed from the samples."""
from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6 import QtWidgets

from analysis.plating import plate_strip_table

HEADERS = {
    "cycle": "Cycle",
    "plate_mAh": "Plated (mAh)",
    "strip_mAh": "Stripped (mAh)",
    "plate_overpotential_mV": "Plating |η| mean (mV)",
    "strip_overpotential_mV": "Stripping |η| mean (mV)",
    "plate_end_mV": "Plating |η| end (mV)",
    "strip_end_mV": "Stripping |η| end (mV)",
}


class AnalysisView(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.caption = QtWidgets.QLabel("Per-cycle plating/stripping figures appear here as cycles complete.")
        self.table = QtWidgets.QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(HEADERS.values()))
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)
        self.frame = pd.DataFrame(columns=list(HEADERS))

    def show_samples(self, samples: np.ndarray) -> None:
        self.frame = plate_strip_table(samples["t"], samples["current"], samples["voltage"],
                                       samples["step"], samples["cycle"])
        self.table.setRowCount(len(self.frame))
        for row, record in enumerate(self.frame.itertuples(index=False)):
            for col, value in enumerate(record):
                text = "" if pd.isna(value) else (f"{int(value)}" if col == 0 else f"{value:.4g}")
                self.table.setItem(row, col, QtWidgets.QTableWidgetItem(text))
        self.caption.setText(f"{len(self.frame)} cycle(s). |η| is the cell polarisation, "
                             "charge is ∫|I|dt over each half cycle.")
