"""Reading the input: lines, the max-wait bound, BATCH files, and loosely typed source fields.

Nothing here writes to Algolia or decides about STATE: it turns what arrives
on stdin into the records and messages the sinks receive.
"""
