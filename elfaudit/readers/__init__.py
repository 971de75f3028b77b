"""Readers: one module per input format, each turning bytes into model objects."""
