"""Persistence: SQLModel tables, engine factory, migrations."""
