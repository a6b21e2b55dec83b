"""Benchmarks (not tests): each prints JSON and compares with a baseline run in the same process."""
