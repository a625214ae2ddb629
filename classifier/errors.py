"""The classifier's exceptions: each carries a one-line message fit for a command-line user."""

from __future__ import annotations


class ClassifierError(Exception):
    """Base class of the classifier's errors."""


class DataError(ClassifierError):
    """Training or evaluation data that cannot be used: unreadable, missing a column, empty, too few per class."""


class ModelError(ClassifierError):
    """A model file that cannot be used: unreadable, of another format, or from another scikit-learn version."""
