"""Writing profiles: the shared batch, its per-user GET/merge/PUT and pool, and the list scan.

Only this package and the erasure/mirror appliers send requests that change
a profile; the batch's lifecycle is reported to the STATE gate.
"""
