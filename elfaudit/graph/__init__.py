"""The release graph: records, the DAG, its storage, judging a build against ancestors."""
