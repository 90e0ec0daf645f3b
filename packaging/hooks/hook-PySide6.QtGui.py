# Replaces PyInstaller's hook for PySide6.QtGui (hooks in build.spec's hookspath win) to
# collect only the Qt plugins a desktop station uses. Filtering here rather than in
# build.spec matters: PyInstaller pulls in the system libraries each collected plugin links
# (GTK, cairo, pango for the GTK theme; Kerberos for VNC), and a plugin dropped after the
# analysis would leave those behind.
from pathlib import Path

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

# plugin folder -> name fragments to keep; folders not listed are kept whole
KEEP = {
    # the desktop's own windowing systems, plus offscreen for --smoke and CI
    "platforms": ("qxcb", "qwayland", "qwindows", "qcocoa", "qoffscreen"),
    # portal dialogs only: the GTK3 theme links GTK, and the bundled copies of its
    # libraries would then mix with the system's GTK
    "platformthemes": ("qxdgdesktopportal",),
    # SVG icons in themes; JPEG for exporting plots (PNG is built into QtGui)
    "imageformats": ("qsvg", "qjpeg"),
    # EGLFS, linuxfb and VNC are for embedded boards and kiosks without a desktop
    "egldeviceintegrations": (),
    "generic": (),
}


def wanted(source: str, dest: str) -> bool:
    folder = Path(dest).name
    if folder not in KEEP:
        return True
    return any(fragment in Path(source).name for fragment in KEEP[folder])


hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = [(source, dest) for source, dest in binaries if wanted(source, dest)]
