# PyInstaller runtime hook (build.spec): the build leaves out scipy's HiGHS solver
# (scipy.optimize._highspy: 5.7 MiB of compiled C++), which only scipy.optimize.linprog and
# milp (and scipy.stats.wasserstein_distance_nd, through linprog) call. The station fits with
# least_squares and nnls, which never reach it. scipy.optimize imports HiGHS's modules
# eagerly and takes a few names from them at import time, so these placeholders hand out a
# stand-in for any name and turn any real use (a call or an attribute of a stand-in) into a
# clear ImportError.
import sys
import types

_MESSAGE = ("scipy's HiGHS solver (scipy.optimize.linprog, milp) is not in this build of SolidStack "
            "(left out in build.spec); {name} cannot be used")


class _LeftOutName:
    """What `from scipy.optimize._highspy._core import kHighsInf` and the like receive."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attribute):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise ImportError(_MESSAGE.format(name=f"{self._name}.{attribute}"))

    def __call__(self, *args, **kwargs):
        raise ImportError(_MESSAGE.format(name=self._name))


class _LeftOut(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):  # introspection (importlib, inspect) must see a plain module
            raise AttributeError(name)
        return _LeftOutName(f"{self.__name__}.{name}")


for _module in ("scipy.optimize._highspy._core", "scipy.optimize._highspy._highs_options"):
    sys.modules.setdefault(_module, _LeftOut(_module))
