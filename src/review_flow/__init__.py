"""review-flow: the editorial review workflow engine for medical content."""

__version__ = "0.1.0"
