"""What is kept: the SQLite notebook's schema and migrations, opening and checking a
notebook file, the run writer that owns the connection during a run, and readers."""
from notebook.errors import NotebookError
from notebook.samples import SAMPLE_DTYPE, empty_samples
from notebook.store import Notebook, default_path

__all__ = ["NotebookError", "SAMPLE_DTYPE", "empty_samples", "Notebook", "default_path"]
