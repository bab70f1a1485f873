"""Shared helpers of this repository's test suites (development only, never released).

One module per thing driven: :mod:`.tap_runs`, :mod:`.target_runs`,
:mod:`.stream_feeder`, :mod:`.reliability` and :mod:`.postgres`. pytest
fixtures stay in the suites' conftest.py files.
"""
