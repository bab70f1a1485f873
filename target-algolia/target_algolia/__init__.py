"""target-algolia: audience memberships -> segments on Algolia user profiles.

``PROCESS_STARTED_AT`` is taken here, the first module the entry point
imports, so it lies within moments of the process start (before singer-sdk is
imported): mirror mode accepts only versions begun after it (see ``mirror``).
"""

import time

PROCESS_STARTED_AT = time.time()
