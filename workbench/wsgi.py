"""WSGI entry point for production servers: ``gunicorn workbench.wsgi:app``."""

from workbench import create_app
from workbench import settle_gc

app = create_app()
settle_gc()
