"""Review policy: versioned configuration, never constants in code."""
