"""The one error type the notebook raises: its message is fit to show a user."""


class NotebookError(RuntimeError):
    pass
