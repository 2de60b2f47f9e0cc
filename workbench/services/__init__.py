"""Business rules over the database.

Every function takes a ``Session`` first, flushes when it needs ids and never
commits: whoever owns the unit of work (a view, a CLI command) commits.
Services raise ``workbench.errors`` exceptions and never import Flask.
"""
