"""Benchmarks with their anchors (never timed assertions in tests/)."""
