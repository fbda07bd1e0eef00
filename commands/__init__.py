"""Flask CLI commands (``flask --app api COMMAND``), one module per area; each exports ``commands``."""

from __future__ import annotations

import importlib

MODULES = ("commands.db",)


def register_commands(app) -> None:
    for name in MODULES:
        for command in importlib.import_module(name).commands:
            app.cli.add_command(command)
