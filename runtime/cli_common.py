"""What every `socialstream` command shares: loading settings and the --json flag."""

from __future__ import annotations

from typing import Annotated

import typer

from socialstream.runtime.logs import setup_logging
from socialstream.runtime.redaction import secrets
from socialstream.runtime.settings import Settings

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (the default when piped).")]


def load_settings() -> Settings:
    """Settings from the environment and SOCIALSTREAM_CONFIG, with logging set up from them."""
    try:
        settings = Settings()
    except Exception as exc:
        typer.echo(f"error: invalid settings: {exc}", err=True)
        raise typer.Exit(2) from None
    secrets.add(*settings.secret_values())
    setup_logging(settings.log.level, settings.log.format)
    return settings
