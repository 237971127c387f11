"""CLI commands (`flask <group> <command>`), one module per group."""

import importlib

COMMAND_MODULES = [
    "commands.seed",
    "commands.staff",
    "commands.audit",
    "commands.outbox",
    "commands.worker",
    "commands.pki",
]


def register(app):
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # command group not written yet
                continue
            raise
        app.cli.add_command(module.cli)
