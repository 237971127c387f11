"""Blueprints. Views are thin: parse, load through access helpers, call one service, respond."""

import importlib

# module path -> blueprint attribute; each module defines `bp`.
BLUEPRINT_MODULES = [
    "views.public",
    "views.auth",
    "views.citizen",
    "views.citizen_requests",
    "views.inbox",
    "views.clerk",
    "views.admin",
    "views.admin_forms",
    "views.admin_release",
    "views.admin_config",
    "views.ops",
    "views.jobs",
    "views.verify",
]


def register_blueprints(app):
    for name in BLUEPRINT_MODULES:
        app.register_blueprint(importlib.import_module(name).bp)
