"""target-algolia: a Singer target that merges audience memberships into Algolia user profiles.

Records from any stream (events: a ``segment`` and an ``event``; snapshots:
a ``segments`` list; or the members of a mirror stream) become segment changes
that are merged into each profile's ``segments`` with a GET, a merge and a
PUT; only segments carrying the configured ``segment_source`` are ever
removed. The layout:

- ``target``: the singer-sdk Target: settings, STATE emission, signals, CLI.
- ``sdk_internals``: every private singer-sdk name the target touches, and why.
- ``reader`` / ``max_wait`` / ``batch_files``: reading the input.
- ``sinks``: a record -> a validated change (or a reject).
- ``merge``: the merge rules, as pure functions.
- ``profile_writer`` / ``scan``: the pending batch and its concurrent
  GET/merge/PUT, reading profiles one by one or by list scan.
- ``mirror`` / ``mirror_plan``: mirror streams (members collected, then
  additions and guarded removals at the end of input).
- ``summary``: counters, summary lines, the rejects file.

``PROCESS_STARTED_AT`` is taken here, the first module the entry point
imports, so it lies within moments of the process start (before singer-sdk is
imported): mirror mode accepts only versions begun after it (see ``mirror``).
"""

import time

PROCESS_STARTED_AT = time.time()
