"""Electronic signatures: approvals and rejections bound to one revision's content hash."""
