"""Benchmarks at scale on PostgreSQL (issue 8): data generator, measurements, runner.

python -m bench.run --sizes 10000,100000      (or: make bench SIZES=10000,100000)
"""
