"""Where the Meltano project and the Meltano executable are, from the environment.

- MELTANO_PROJECT_ROOT: the directory holding meltano.yml. Default: the
  checkout this package lives in (an editable install), else the nearest
  directory holding meltano.yml from the working directory up.
- MELTANO_BIN: Meltano's executable. Default: ``.venv-meltano/bin/meltano`` in
  the project (what scripts/setup-meltano.sh creates), else ``meltano`` on PATH.
- MELTANO_ENVIRONMENT: the Meltano environment runs use (default: the file's
  default_environment); state IDs and concurrency pools follow it.

Only locations and names here: credentials stay in the environment Meltano
inherits and are never part of Dagster's configuration.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]


def project_root() -> Path:
    explicit = os.environ.get("MELTANO_PROJECT_ROOT")
    if explicit:
        return Path(explicit).expanduser().resolve()
    if (_CHECKOUT / "meltano.yml").is_file():
        return _CHECKOUT
    here = Path.cwd()
    return next((d for d in (here, *here.parents) if (d / "meltano.yml").is_file()), here)


def meltano_bin(root: Path) -> str:
    explicit = os.environ.get("MELTANO_BIN")
    if explicit:
        return explicit
    local = root / ".venv-meltano" / "bin" / "meltano"
    if local.exists():
        return str(local)
    return shutil.which("meltano") or "meltano"
