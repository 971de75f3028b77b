"""Analysis: raw findings from comparing model objects (no policy, no I/O of its own)."""
