"""The builder wizard as an operator uses it: from an empty stack to a saved full cell,
problems at their field, undo/redo, the picture to scale, cloning a saved build."""
from __future__ import annotations

import pytest
from PySide6 import QtCore, QtGui

import cell
from gui import theme
from gui.builder_model import ERROR_BG, WARNING_BG
from gui.builder_wizard import ERROR_STYLE, LAYERS, RECORD, SETPOINTS, START, WARNING_STYLE, BuilderWizard
from notebook import Notebook

LEFT = QtCore.Qt.MouseButton.LeftButton


@pytest.fixture
def notebook(db_path):
    nb = Notebook(db_path)
    yield nb
    nb.close()


@pytest.fixture
def wizard(qtbot, notebook):
    w = BuilderWizard(notebook)
    qtbot.addWidget(w)
    w.resize(960, 720)
    w.show()
    w.activateWindow()
    qtbot.waitActive(w)   # keyboard focus, as on a real screen
    yield w
    w.close()


def click(qtbot, widget):
    # on the left edge: a radio button only takes clicks on its indicator and text
    qtbot.mouseClick(widget, LEFT, pos=QtCore.QPoint(min(10, widget.width() // 2), widget.height() // 2))


def type_into(qtbot, widget, text):
    """Replace what a field shows by typing, as an operator does."""
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClicks(widget, text)


def edit_cell(qtbot, wizard, layer, column, text):
    """Open the editor of a layer table cell, type `text`, press Enter."""
    view, model = wizard.layers.view, wizard.layers.model
    index = model.index(model.row_of(layer), column)
    view.setCurrentIndex(index)
    view.edit(index)
    editor = view.indexWidget(index)
    assert editor is not None and editor.hasFocus()
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.indexWidget(index) is None)  # the delegate commits on a queued call


def add_sheet(qtbot, wizard, material):
    combo = wizard.layers.material
    combo.setCurrentIndex(combo.findData(material))
    click(qtbot, wizard.layers.add)


def saved_layers(notebook, build_id):
    return [tuple(r) for r in notebook.conn.execute(
        "SELECT material, thickness_um, areal_mass_mg_cm2, lot FROM build_layers WHERE build_id = ? ORDER BY position",
        (build_id,))]


def test_from_an_empty_stack_to_a_saved_full_cell(qtbot, wizard, notebook):
    # 1 Start: an empty stack
    click(qtbot, wizard.from_empty)
    click(qtbot, wizard.next)
    assert wizard.pages.currentIndex() == LAYERS
    assert wizard.stack().layers == () and wizard.stack().template == cell.CUSTOM
    assert "the stack is empty" in wizard.problems.text()
    assert "✖" in wizard.step_buttons[LAYERS].text()

    # 2 Layers: sheet by sheet from the bottom; one lands in the wrong place and is moved
    for material in ("Al", "NMC", "LPSCl", "Li", "AgC"):
        add_sheet(qtbot, wizard, material)
    assert wizard.stack().describe() == "Al | NMC | LPSCl | Li | Ag-C"
    assert wizard.layers.selected_layer() == 4
    click(qtbot, wizard.layers.down)
    assert wizard.stack().describe() == "Al | NMC | LPSCl | Ag-C | Li"
    assert wizard.layers.selected_layer() == 3
    assert [item.text for item in wizard.picture.items][3] == "Ag-C · 2 µm"
    # thinner Li foil: its areal mass follows at the same density (0.534 g/cm3 x 20 um)
    edit_cell(qtbot, wizard, 4, 2, "20")
    assert wizard.stack().layers[4] == cell.Layer("Li", 20.0, 1.068)
    for layer, lot in enumerate(["Al-22", "NMC-7", "LP-118", "AgC-3", "Li-9"]):
        edit_cell(qtbot, wizard, layer, 4, lot)
    assert [layer.lot for layer in wizard.stack().layers] == ["Al-22", "NMC-7", "LP-118", "AgC-3", "Li-9"]
    assert wizard.picture.items[2].lot == "LP-118"
    assert "✓ No problems" in wizard.problems.text()

    # 3 Set-points, typed
    click(qtbot, wizard.next)
    assert wizard.pages.currentIndex() == SETPOINTS
    type_into(qtbot, wizard.area, "0.785")
    type_into(qtbot, wizard.temperature, "60")
    type_into(qtbot, wizard.pressure, "30")                 # above the 25 MPa fixture
    message = wizard._fields["stack_pressure_mpa"][1]
    assert wizard.pressure.styleSheet() == theme.css(ERROR_STYLE)
    assert message.isVisible() and message.text() == "✖ 30 MPa is above the fixture limit of 25 MPa"
    assert wizard.step_buttons[SETPOINTS].text() == "3  Set-points  ✖1"
    assert wizard.force.text() == "= 2,355 N on the fixture"  # 30 MPa x 0.785 cm2 x 100 N/(MPa cm2)
    # an invalid build is not saved: the wizard takes the operator to the field
    wizard.go_to_step(RECORD)
    click(qtbot, wizard.next)
    assert wizard.pages.currentIndex() == SETPOINTS and wizard.pressure.hasFocus()
    assert notebook.builds() == []
    type_into(qtbot, wizard.pressure, "7.5")
    assert wizard.pressure.styleSheet() == "" and not message.isVisible()
    assert wizard.force.text() == "= 589 N on the fixture"    # 7.5 x 0.785 x 100 = 588.75
    assert wizard.figure_values["capacity"].text() == "1.600 mAh/cm² · 1.256 mAh (theoretical)"
    assert wizard.rate_labels[("C/3", "mA")].text() == "0.419"  # 1.60004 x 0.785 / 3
    assert wizard.figure_values["energy"].text().startswith("252.7 Wh/kg · 515.1 Wh/L")

    # 4 Record, then save
    click(qtbot, wizard.next)
    assert wizard.pages.currentIndex() == RECORD and wizard.next.text() == "Save build"
    type_into(qtbot, wizard.cell_name, "CW-031")
    type_into(qtbot, wizard.operator, "CW")
    wizard.notes.setFocus()
    qtbot.keyClicks(wizard.notes, "pressed at 375 MPa")
    assert "Lots recorded for 5 of 5 sheets." in wizard.summary.text()
    with qtbot.waitSignal(wizard.saved) as saved:
        click(qtbot, wizard.next)
    build_id = saved.args[0]
    assert wizard.saved_build_id == build_id == 1
    assert wizard.save_status.text() == "✓ Saved as build #1, cell id CW-031."
    stack = notebook.build(build_id)
    assert stack == wizard.stack()
    assert (stack.name, stack.operator, stack.notes, stack.area_cm2, stack.stack_pressure_mpa, stack.temperature_c) == (
        "CW-031", "CW", "pressed at 375 MPa", 0.785, 7.5, 60.0)
    assert saved_layers(notebook, build_id) == [("Al", 10.0, 2.7, "Al-22"), ("NMC", 28.0, 9.412, "NMC-7"),
                                                ("LPSCl", 40.0, 6.8, "LP-118"), ("AgC", 2.0, 0.4, "AgC-3"),
                                                ("Li", 20.0, 1.068, "Li-9")]
    # saving again without a change does not make a second record
    assert wizard.save() == 1 and len(notebook.builds()) == 1


def test_clone_a_saved_build_to_start_the_next_cell(qtbot, wizard, notebook):
    wizard.select_template("full-agc")
    wizard.cell_name.setText("CW-031")
    wizard.notes.setPlainText("first of the batch")
    wizard.layers.model.setData(wizard.layers.model.index(wizard.layers.model.row_of(2), 4), "LP-118")
    first = wizard.save()
    wizard.go_to_step(START)
    assert wizard.build_list.topLevelItemCount() == 1
    item = wizard.build_list.topLevelItem(0)
    assert [item.text(c) for c in (0, 2, 3, 5)] == ["#1", "CW-031", "Al | NMC | LPSCl | Ag-C | Li", "0"]
    wizard.build_list.setCurrentItem(item)
    assert wizard.from_build.isChecked()
    click(qtbot, wizard.next)
    clone = wizard.stack()
    assert clone.based_on_build == first and clone.name == "" and clone.notes == ""
    assert clone.layers == notebook.build(first).layers
    assert wizard.saved_build_id is None and "a copy of build #1" in wizard.summary.text()
    wizard.cell_name.setText("CW-032")
    second = wizard.save()
    assert second == 2 and notebook.builds()[0]["based_on_build"] == first
    # the lot typed for the first cell is offered for the next
    assert wizard.layers.delegate.known_lots["LPSCl"] == ["LP-118"]


def test_problems_are_shown_at_their_field_and_lead_there(qtbot, wizard, notebook):
    wizard.select_template("sym-bare")
    model = wizard.layers.model
    model.setData(model.index(model.row_of(1), 1), "Li")          # LPSCl -> Li: two anodes touch
    issues = cell.validation.errors(wizard.issues())
    assert {i.field for i in issues} >= {"layers[1].material", "layers"}
    assert model.data(model.index(model.row_of(1), 1), QtCore.Qt.ItemDataRole.BackgroundRole) == theme.qcolor(ERROR_BG)
    assert "two Li anodes" in model.data(model.index(model.row_of(1), 1), QtCore.Qt.ItemDataRole.ToolTipRole)
    assert [item.severity for item in wizard.picture.items] == [None, "error", "error"]
    assert wizard.layers.order_message.text().startswith("✖ no electrolyte")
    assert 'href="layers[1].material"' in wizard.problems.text()
    wizard.go_to_step(RECORD)
    wizard.problems.linkActivated.emit("layers[1].material")       # what clicking the problem does
    assert wizard.pages.currentIndex() == LAYERS and wizard.layers.selected_layer() == 1
    assert wizard.save() is None and notebook.builds() == []
    click(qtbot, wizard.undo_button)
    assert wizard.stack().describe() == "Li | LPSCl | Li" and cell.validation.errors(wizard.issues()) == []
    # a warning is shown at its field and does not block
    wizard.pressure.setValue(1.0)
    assert wizard.pressure.styleSheet() == theme.css(WARNING_STYLE)
    assert wizard._fields["stack_pressure_mpa"][1].text() == "⚠ 1 MPa is low for Li contact (the paper uses 5 MPa)"
    assert wizard.save() == 1
    # a unit slip (mg instead of ug...) warns at the cell
    wizard.layers.model.setData(model.index(model.row_of(1), 3), 68.0)
    assert model.data(model.index(model.row_of(1), 3), QtCore.Qt.ItemDataRole.BackgroundRole) == theme.qcolor(WARNING_BG)


def test_undo_and_redo_every_kind_of_edit(qtbot, wizard):
    wizard.select_template("sym-agc")
    history = wizard.doc.undo_stack
    start = history.count()
    type_into(qtbot, wizard.area, "12.5")
    assert wizard.stack().area_cm2 == 12.5
    assert history.count() == start + 1                   # typing 1, 12, 12., 12.5 is one step
    assert wizard.undo_button.toolTip() == "Undo: cell area → 12.5 cm²"
    wizard.layers.select_layer(2)
    click(qtbot, wizard.layers.remove)
    wizard.layers.select_layer(0)
    click(qtbot, wizard.layers.up)
    assert wizard.stack().describe() == "Ag-C | Li | Ag-C | Li"
    wizard.layers.view.setFocus()
    qtbot.keyClick(wizard.layers.view, QtCore.Qt.Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert wizard.stack().describe() == "Li | Ag-C | Ag-C | Li"
    click(qtbot, wizard.undo_button)
    assert wizard.stack().describe() == "Li | Ag-C | LPSCl | Ag-C | Li"
    click(qtbot, wizard.undo_button)
    assert wizard.stack().area_cm2 == 1.0 and wizard.area.value() == 1.0   # the field follows
    click(qtbot, wizard.redo_button)
    assert wizard.area.value() == 12.5
    # starting over is one step too
    wizard.select_template("full-agc")
    click(qtbot, wizard.undo_button)
    assert wizard.stack().describe() == "Li | Ag-C | LPSCl | Ag-C | Li" and wizard.stack().area_cm2 == 12.5


def test_the_picture_is_to_scale_in_thickness_and_selects_on_click(qtbot, wizard):
    wizard.select_template("full-agc-3e")
    wizard.picture.repaint()
    items = wizard.picture.items
    heights = {wizard.stack().layers[i.index].material: i.rect.height() for i in items if not i.wire}
    assert heights["LPSCl"] / heights["NMC"] == pytest.approx(40 / 28)
    assert heights["LPSCl"] / heights["AgC"] == pytest.approx(40 / 2)
    wire = [i for i in items if i.wire]
    assert len(wire) == 1 and wire[0].rect.height() == 0
    lpscl = items[2].rect
    assert wire[0].rect.top() == pytest.approx(lpscl.top())   # the RE sits on the electrolyte
    assert items[0].rect.bottom() > items[1].rect.bottom()    # layer 1 at the bottom
    qtbot.mouseClick(wizard.picture, LEFT, pos=lpscl.center().toPoint() + QtCore.QPoint(0, 3))
    assert wizard.pages.currentIndex() == LAYERS and wizard.layers.selected_layer() == 2
    # a thicker sheet grows in the picture
    wizard.layers.model.setData(wizard.layers.model.index(wizard.layers.model.row_of(2), 2), 80.0)
    wizard.picture.repaint()
    heights = {wizard.stack().layers[i.index].material: i.rect.height() for i in wizard.picture.items if not i.wire}
    assert heights["LPSCl"] / heights["NMC"] == pytest.approx(80 / 28)


# -- a barcode scanner types a code, then Enter --
ENTER = QtCore.Qt.Key.Key_Return


def scan(qtbot, widget, code):
    qtbot.keyClicks(widget, code)
    qtbot.keyClick(widget, ENTER)


def test_enter_moves_on_so_a_second_scan_does_not_append(qtbot, wizard, notebook):
    wizard.select_template("sym-agc")
    wizard.go_to_step(RECORD)
    wizard.cell_name.setFocus()
    scan(qtbot, wizard.cell_name, "CW-031")
    assert wizard.operator.hasFocus()
    scan(qtbot, wizard.operator, "JD")            # the second scan: the operator field, not "CW-031JD"
    assert (wizard.stack().name, wizard.stack().operator) == ("CW-031", "JD")
    assert wizard.notes.hasFocus() and wizard.notes.toPlainText() == ""
    qtbot.keyClicks(wizard.notes, "ok")
    qtbot.keyClick(wizard.notes, ENTER, QtCore.Qt.KeyboardModifier.ControlModifier)   # Ctrl+Enter saves
    assert wizard.saved_build_id == 1 and notebook.build(1).name == "CW-031"


def test_enter_walks_the_setpoints_and_then_does_next(qtbot, wizard):
    wizard.go_to_step(SETPOINTS)
    wizard.area.setFocus()
    wizard.area.selectAll()
    for spin, text in ((wizard.area, "2"), (wizard.pressure, "6"), (wizard.fixture_limit, "30"),
                       (wizard.densification, "300"), (wizard.temperature, "45")):
        assert spin.hasFocus()
        scan(qtbot, spin, text)
    stack = wizard.stack()
    assert (stack.area_cm2, stack.stack_pressure_mpa, stack.fixture_limit_mpa, stack.densification_pressure_mpa,
            stack.temperature_c) == (2.0, 6.0, 30.0, 300.0, 45.0)
    assert wizard.pages.currentIndex() == RECORD and wizard.cell_name.hasFocus()   # the last field's Enter: Next


def test_enter_in_the_template_list_chooses_the_template(qtbot, wizard):
    wizard.go_to_step(START)
    row = cell.template_names().index("full-agc-3e")
    wizard.template_list.setFocus()
    wizard.template_list.setCurrentRow(row)
    qtbot.keyClick(wizard.template_list, ENTER)
    assert wizard.pages.currentIndex() == LAYERS and wizard.stack().template == "full-agc-3e"


def test_enter_presses_the_focused_button(qtbot, wizard):
    wizard.go_to_step(SETPOINTS)
    wizard.back.setFocus()
    qtbot.keyClick(wizard.back, ENTER)                               # a push button
    assert wizard.pages.currentIndex() == LAYERS
    wizard.step_buttons[RECORD].setFocus()
    qtbot.keyClick(wizard.step_buttons[RECORD], QtCore.Qt.Key.Key_Enter)   # a step (tool) button, keypad Enter
    assert wizard.pages.currentIndex() == RECORD
    wizard.go_to_step(LAYERS)
    before = len(wizard.stack().layers)
    wizard.layers.material.setFocus()
    qtbot.keyClick(wizard.layers.material, ENTER)                    # Enter on the sheet chooser adds it
    assert len(wizard.stack().layers) == before + 1


def test_a_known_lot_brings_its_material_in_one_undo_step(qtbot, wizard, notebook):
    notebook.save_build(cell.from_template("full-agc").edit_layer(1, "lot", "NMC-2026-04"))
    wizard.go_to_step(START)                       # reads the lots the notebook knows
    wizard.select_template("sym-agc")              # Li | Ag-C | LPSCl | Ag-C | Li
    edit_cell(qtbot, wizard, 2, 4, "nmc-2026-04")  # scanned into the LPSCl sheet's lot, caps lock on
    layer = wizard.stack().layers[2]
    assert (layer.material, layer.lot) == ("NMC", "nmc-2026-04")
    wizard.doc.undo_stack.undo()
    assert (wizard.stack().layers[2].material, wizard.stack().layers[2].lot) == ("LPSCl", "")
    edit_cell(qtbot, wizard, 2, 4, "LP-NEW-1")     # a new lot: only the lot
    assert (wizard.stack().layers[2].material, wizard.stack().layers[2].lot) == ("LPSCl", "LP-NEW-1")
    # a lot scanned outside the table goes to the selected sheet, else the first sheet of
    # its material without a lot
    wizard.layers.select_layer(None)
    assert wizard.layers.scan_lot("AGC-9", "AgC") == 1
    assert [layer.lot for layer in wizard.stack().layers] == ["", "AGC-9", "LP-NEW-1", "", ""]


@pytest.fixture
def settings(tmp_path):
    from gui.settings import StationSettings
    return StationSettings(tmp_path / "station.ini")


def test_a_build_saved_without_a_cell_id_gets_one_by_the_pattern(qtbot, notebook, settings):
    import datetime as dt
    settings.set("operator", "CW")
    wizard = BuilderWizard(notebook, settings)
    qtbot.addWidget(wizard)
    assert wizard.stack().operator == "CW"                         # the session's operator
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d")
    notebook.save_build(cell.from_template("sym-agc", name=f"CW-{today}-4"))   # typed by hand earlier today
    assert wizard.save() == 2 and wizard.stack().name == f"CW-{today}-5"
    wizard.area.setValue(2.0)                                       # another cell
    wizard.cell_name.clear()
    assert wizard.save() == 3 and notebook.build(3).name == f"CW-{today}-6"
    settings.set("operator", "JD")                                  # a badge: the next build is JD's
    assert wizard.stack().operator == "CW"                          # not the saved build
    wizard.select_template("sym-agc")
    assert wizard.stack().operator == "JD"
    settings.set("cell_id_pattern", "{operator}")                   # no {n}: refused, nothing saved
    assert wizard.save() is None and "has no {n}" in wizard.save_status.text()
    assert len(notebook.builds()) == 3


def test_the_record_step_saves_the_label_of_the_saved_build(qtbot, wizard, notebook, tmp_path):
    import numpy as np
    import zxingcpp
    wizard.select_template("full-agc")
    wizard.go_to_step(RECORD)
    assert not wizard.save_label_button.isEnabled() and not wizard.print_label_button.isEnabled()
    wizard.cell_name.setText("CW-077")
    assert wizard.save() == 1
    assert wizard.save_label_button.isEnabled() and wizard.print_label_button.isEnabled()
    wizard.label_size.setCurrentIndex(wizard.label_size.findData("25x50"))
    out = wizard.save_label(tmp_path / "label.png")
    image = QtGui.QImage(str(out)).convertToFormat(QtGui.QImage.Format.Format_Grayscale8)
    assert (image.width(), image.height()) == (round(25 / 25.4 * 300), round(50 / 25.4 * 300))
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())[:, :image.width()]
    assert [b.text for b in zxingcpp.read_barcodes(np.ascontiguousarray(pixels))] == ["CW-077"]
    assert wizard.save_label(tmp_path / "label.gif") is None and ".gif" in wizard.save_status.text()


def test_the_build_list_is_read_again_when_the_builder_comes_into_view(qtbot, wizard, notebook):
    wizard.go_to_step(START)
    assert wizard.build_list.topLevelItemCount() == 0
    notebook.save_build(cell.from_template("sym-agc", name="CW-040"))   # saved by a run started elsewhere
    wizard.hide()
    wizard.show()                                                        # e.g. the Build tab chosen again
    assert wizard.build_list.topLevelItemCount() == 1 and wizard.build_list.topLevelItem(0).text(2) == "CW-040"
