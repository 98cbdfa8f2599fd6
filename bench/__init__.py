"""Benchmarks: the same workload against modelyard and MLflow, side by side."""
