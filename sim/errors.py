"""Errors meant for the user: the command line prints their message, never a traceback."""

__all__ = ["SimError"]


class SimError(Exception):
    """Base class for problems the user can fix (bad inputs, folders, options)."""
