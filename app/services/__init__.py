"""Use cases, one module per aggregate. Each function takes the Database, does one short unit of
work and returns plain frozen dataclasses (never live ORM objects)."""
