"""Benchmarks that print numbers, each with a baseline measured in the same run."""
