"""Jinja plugin of the template: detection filters and GitHub Actions helpers from chitty_cicd."""

from __future__ import annotations

import sys
from pathlib import Path

from jinja2 import Environment
from jinja2.ext import Extension

# Copier does not put the template on sys.path, so the rules beside this folder are added.
# NOTE: a process that renders several template versions (the bulk tool, the tests) uses
# the chitty_cicd it imported first for all of them. Only defaults and validators use it.
_TEMPLATE_ROOT = str(Path(__file__).resolve().parents[1])
if _TEMPLATE_ROOT not in sys.path:
    sys.path.insert(0, _TEMPLATE_ROOT)

from chitty_cicd import template_filters  # noqa: E402


class ChittyExtension(Extension):
    """Registers the template's filters and globals."""

    def __init__(self, environment: Environment):
        super().__init__(environment)
        environment.filters.update(template_filters.FILTERS)
        environment.globals.update(template_filters.GLOBALS)
