"""Load and scale benchmarks of scimgate (issue 7); ``python -m bench --help``.

Results go to ``bench/results/latest.md``; docs/performance.md explains the method.
"""
