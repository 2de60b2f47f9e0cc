"""API routes are added by the modules imported here."""
