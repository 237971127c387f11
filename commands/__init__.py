"""CLI commands (`flask <group> <command>`), one module per group."""

import importlib

COMMAND_MODULES = [
    "commands.seed",
    "commands.staff",
    "commands.audit",
    "commands.outbox",
    "commands.worker",
    "commands.pki",
    "commands.uploads",
    "commands.retention",
]


def register(app):
    for name in COMMAND_MODULES:
        app.cli.add_command(importlib.import_module(name).cli)
