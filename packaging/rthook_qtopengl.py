# PyInstaller runtime hook (build.spec): the build leaves out PySide6.QtOpenGL (8.5 MB of
# bindings). pyqtgraph imports it eagerly but uses it only to draw curves with OpenGL when
# its `enableExperimental` option is on, which the station never sets. This placeholder
# lets that import succeed and turns any real use into a clear ImportError.
import sys
import types


class _LeftOut(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):  # introspection (importlib, inspect) must see a plain module
            raise AttributeError(name)
        raise ImportError(f"PySide6.QtOpenGL.{name} is not in this build of SolidStack "
                          "(OpenGL drawing is left out in build.spec)")


sys.modules.setdefault("PySide6.QtOpenGL", _LeftOut("PySide6.QtOpenGL"))
