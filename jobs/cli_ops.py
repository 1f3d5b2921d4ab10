"""Operating jobs: `rdg jobs`, `rdg jobs validate`, `rdg deploy`, `rdg stop`, `rdg logs`,
`rdg lag`, `rdg replay`."""

from __future__ import annotations

import typer

from jobs.cli_common import cli_command, console, get_settings, print_json
from jobs.spec import all_specs

__all__ = ["jobs_app", "register"]

jobs_app = typer.Typer(help="Job specs and deployed jobs.", no_args_is_help=False)


@jobs_app.command("validate")
@cli_command
def validate(
    ctx: typer.Context,
    specs_dir: str | None = typer.Option(
        None, "--specs-dir", help="directory of *.toml job specs (default: the shipped ones)"
    ),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Validate every job spec; errors name the file and the field."""
    settings = get_settings(ctx, specs_dir=specs_dir)
    specs = all_specs(settings.specs_dir or None)
    if json_out:
        print_json({t: s.model_dump() for t, s in specs.items()})
        return
    for topic, s in specs.items():
        console.print(f"[green]ok[/] {topic}: job {s.name}, parallelism {s.parallelism}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.add_typer(jobs_app, name="jobs")
