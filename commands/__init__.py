"""Flask CLI commands (``flask --app api COMMAND``), one module per area; each exports ``commands``.

Commands are plain click commands; registering them here runs each inside the app context, so they
can use ``current_app`` (its config, the store) whether called by ``flask`` or by the test runner.
"""

from __future__ import annotations

import importlib

from flask.cli import with_appcontext

MODULES = ("commands.db", "commands.ops", "commands.users", "commands.keys", "commands.io", "commands.analysis", "commands.intake", "commands.engine",
           "commands.notify")


def _in_app_context(command):
    if not getattr(command.callback, "in_app_context", False):
        command.callback = with_appcontext(command.callback)
        command.callback.in_app_context = True
    return command


def register_commands(app) -> None:
    for name in MODULES:
        for command in importlib.import_module(name).commands:
            app.cli.add_command(_in_app_context(command))
