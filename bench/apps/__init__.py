"""Baseline apps that benchmarks serve beside ours; each imports no more than it needs.

A served baseline must not pull in the platform (``bench.runner`` does), or its workers
would carry our modules' memory and start-up into the figures they are compared with.
"""
