"""target-algolia: a Singer target that merges audience memberships into Algolia user profiles.

Records from any stream (events: a ``segment`` and an ``event``; snapshots:
a ``segments`` list; or the members of a mirror stream) become segment changes
that are merged into each profile's ``segments`` with a GET, a merge and a
PUT; only segments carrying the configured ``segment_source`` are ever
removed. docs/architecture.md draws the layout and the journeys of a record
and of a STATE; in short:

- ``target``: the singer-sdk hooks and the order of work, the CLI.
- ``settings``: every setting, read once into a frozen ``TargetSettings``.
- ``run``: the run's shared objects, handed to the sinks.
- ``state_gate``: the one writer of STATE and its rule.
- ``outcomes``: reason codes, rejection, the API-error rule, the reject bound.
- ``input/``: reading the input; ``audience/``: records -> changes;
  ``mirror/`` and ``erasure/``: work collected until the end of input;
  ``write/``: the batch and its concurrent GET/merge/PUT.
- ``merge``: the merge rules, as pure functions; ``summary``: counters,
  summary lines, the rejects file; ``sdk_internals``: every private
  singer-sdk name the target touches, and why; ``preflight``: ``--test``.
- ``numbers``: numbers as singer-sdk reads them, written back exactly
  (STATE) and quoted as JSON in messages; ``segment_text``: the characters a
  segment ID may hold (no invisible ones) and no normalization.

``PROCESS_STARTED_AT`` is taken here, the first module the entry point
imports, so it lies within moments of the process start (before singer-sdk is
imported): mirror mode accepts only versions begun after it (see ``mirror``).
"""

import time

PROCESS_STARTED_AT = time.time()
