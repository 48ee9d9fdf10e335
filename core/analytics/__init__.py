"""DuckDB analytics over the live database: the general query builder (001 §53)."""
