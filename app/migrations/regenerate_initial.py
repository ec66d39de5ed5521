"""Rewrite the initial migration from app/models.py.

Until the first release there is one migration, regenerated whenever the models change:
`python -m app.migrations.regenerate_initial`. After a release, add new migrations instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent
INITIAL = HERE / "versions" / "0001_initial_schema.py"


def main() -> None:
    INITIAL.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config()
        cfg.set_main_option("script_location", str(HERE))
        cfg.set_main_option("sqlalchemy.url", f"sqlite:///{tmp}/empty.db")
        command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
    print(INITIAL)


if __name__ == "__main__":
    main()
