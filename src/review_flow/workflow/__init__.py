"""The review workflow: one declarative definition driven by `transitions`."""
