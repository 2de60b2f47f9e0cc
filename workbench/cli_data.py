"""Data commands: import and export (and, later, agreement, evaluate, adjudicate)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
