"""The ``zoufang`` command line.

Each sub-command lives in its own module under :mod:`zoufang.commands` and
exposes a click command named ``command``; this module only collects them and
turns zoufang's own errors into messages with exit codes (never a traceback
for bad input).
"""

from __future__ import annotations

import importlib
import sys

import click

from geodata.errors import CampaignReadError, ZoufangError

#: sub-command name → module under zoufang.commands
COMMANDS = {
    "template": "template",
    "validate": "validate",
    "import": "import_",
    "demo": "demo",
    "assign": "assign",
    "check": "check",
    "plan-province": "province",
    "schedule": "schedule",
    "schedule-province": "schedule_province",
    "route": "route",
    "serve": "serve",
    "report": "report",
}


class _Group(click.Group):
    """Loads sub-command modules lazily so ``zoufang --help`` stays fast and a
    module still being written does not break the others."""

    def list_commands(self, ctx):
        return [name for name in COMMANDS if self.get_command(ctx, name) is not None]

    def get_command(self, ctx, name):
        module = COMMANDS.get(name)
        if module is None:
            return None
        try:
            mod = importlib.import_module(f"zoufang.commands.{module}")
        except ModuleNotFoundError as exc:
            if exc.name == f"zoufang.commands.{module}":
                return None
            raise
        return mod.command

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CampaignReadError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(2)
        except ZoufangError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zoufang")
def main():
    """zoufang (走访): plan and track door-to-door visiting campaigns (大走访)."""


if __name__ == "__main__":  # pragma: no cover
    main()
