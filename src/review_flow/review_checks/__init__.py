"""What the reviewer checks (DESIGN.md, "What the reviewer checks"): each reference marked
verified or a problem, and the policy's checklist answered on each approval. Records,
not tick boxes: the approval's guards read these rows."""
