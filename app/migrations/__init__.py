"""Alembic migrations. HEAD names the newest revision, so that opening a database that is
already up to date needs no Alembic at all (a test keeps it equal to the scripts' head)."""

HEAD = "0011"
