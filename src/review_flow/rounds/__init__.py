"""Review rounds: one per submission, with its assignments, conflict-of-interest
declarations and the quorum evaluated over its decisions (DESIGN.md, "The board's
review process")."""
