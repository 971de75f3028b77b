"""The command API: what each CLI command calls; returns model objects, never text."""
