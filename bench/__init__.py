"""Benchmark suite for tap-algolia and target-algolia (run: ``bash bench/run.sh``)."""
