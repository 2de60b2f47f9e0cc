"""WSGI entry point for production servers: ``gunicorn workbench.wsgi:app``."""

from workbench import create_app

app = create_app()
