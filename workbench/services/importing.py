"""Importing documents and their annotations (placeholder until the import work lands)."""
