"""Operating jobs: `rdg jobs`, `rdg jobs validate`, `rdg deploy`, `rdg stop`, `rdg logs`,
`rdg lag`, `rdg replay`."""

from __future__ import annotations

import re
import time
from pathlib import Path

import typer
from rich.table import Table

from ingest.errors import ConfigError
from jobs.cli_common import (
    EXIT_NOT_FOUND,
    cli_command,
    console,
    fail,
    get_settings,
    handle_errors,
    print_json,
)

# `rdg lag` and `rdg replay` and the helpers shared with them live in their own modules;
# their names stay importable from here
from jobs.cli_lag_replay import lag, replay
from jobs.cli_ops_common import duration, ops_command, select_specs, specs_of
from jobs.deploy import DEFAULT_READY_TIMEOUT_S, DEFAULT_STOP_TIMEOUT_S, deploy_jobs, stop_jobs
from jobs.jobinfo import JobInfo, deployed_jobs, job_info
from jobs.spec import all_specs
from jobs.status import log_path, read_status, status_path, tail

__all__ = ["jobs_app", "lag", "ops_command", "register", "replay", "select_specs"]

jobs_app = typer.Typer(
    help="Deployed jobs (`rdg jobs`) and job specs (`rdg jobs validate`).",
    no_args_is_help=False,
)


_STATE_STYLE = {
    "running": "green",
    "starting": "cyan",
    "restarting": "yellow",
    "stopping": "yellow",
    "stopped": "dim",
    "crashed": "bold red",
}


# --------------------------------------------------------------------------- rdg jobs


def _jobs_table(infos: list[JobInfo]) -> Table:
    t = Table(title="jobs")
    for col, just in (
        ("job", "left"),
        ("topic", "left"),
        ("state", "left"),
        ("workers", "right"),
        ("uptime", "right"),
        ("restarts", "right"),
        ("last checkpoint", "left"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for i in infos:
        alive = sum(1 for w in i.workers if w["alive"])
        ck = (
            f"#{i.last_checkpoint_id} ({duration(i.last_checkpoint_age_s)} ago)"
            if i.last_checkpoint_id is not None
            else "-"
        )
        style = _STATE_STYLE.get(i.state, "")
        t.add_row(
            i.job,
            i.topic,
            f"[{style}]{i.state}[/]" if style else i.state,
            f"{alive}/{len(i.workers)}" if i.workers else "-",
            duration(i.uptime_s),
            str(i.restarts),
            ck,
        )
    return t


@jobs_app.callback(invoke_without_command=True)
def jobs_list(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """List the jobs: state (running / starting / restarting / stopping / stopped /
    crashed), workers, uptime, restarts and the last checkpoint."""
    if ctx.invoked_subcommand is not None:
        return
    with handle_errors():
        settings = get_settings(ctx)
        specs = specs_of(settings)
        by_job = {s.name: s for s in specs.values()}
        names = list(by_job) + [j for j in deployed_jobs(settings.state_path) if j not in by_job]
        infos = [job_info(settings.state_path, by_job.get(j), j) for j in names]
        if json_out:
            print_json({"jobs": [i.as_dict() for i in infos]})
            return
        console.print(_jobs_table(infos))
        for i in infos:
            if i.error and i.state == "crashed":
                console.print(f"[red]{i.job}[/]: {i.error}", highlight=False)


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


# --------------------------------------------------------------------------- deploy / stop


def deploy(
    ctx: typer.Context,
    topics: list[str] = typer.Argument(None, help="topics whose jobs to deploy"),
    all_: bool = typer.Option(False, "--all", help="deploy every job"),
    parallelism: int | None = typer.Option(
        None, "--parallelism", "-p", help="worker processes per job (default: the spec's)"
    ),
    store: str | None = typer.Option(
        None, "--store", help="sqlite:///PATH or cassandra://HOST:PORT/KEYSPACE [env RDG_STORE]"
    ),
    bootstrap: str | None = typer.Option(
        None, "--bootstrap", help="Kafka bootstrap HOST:PORT [env RDG_BOOTSTRAP]"
    ),
    timeout: float = typer.Option(
        DEFAULT_READY_TIMEOUT_S, "--timeout", help="seconds to wait for the workers to be ready"
    ),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Run jobs in the background: one supervisor per job, which runs the workers (one
    consumer group per job) and restarts crashed ones.  Returns once the workers are up.

    Logs: `rdg logs TOPIC`; state: `rdg jobs`; lag: `rdg lag`; stop: `rdg stop TOPIC`.
    """
    settings = get_settings(ctx, store=store, bootstrap=bootstrap)
    specs = select_specs(settings, topics or [], all_)
    if not json_out:
        console.print(
            f"deploying {', '.join(s.name for s in specs)} from kafka://{settings.bootstrap} "
            f"into {settings.store}",
            highlight=False,
        )
    outcomes = deploy_jobs(
        specs,
        state_dir=settings.state_path,
        specs_dir=settings.specs_dir,
        bootstrap=settings.bootstrap,
        store=settings.store,
        parallelism=parallelism,
        state_backend=settings.state_backend,
        timeout=timeout,
    )
    code = max((o.exit_code for o in outcomes), default=0)
    if json_out:
        print_json(
            {
                "jobs": [
                    {
                        "job": o.job,
                        "topic": o.topic,
                        "result": o.result,
                        "message": o.message,
                        "supervisor_pid": o.supervisor_pid,
                        "workers": o.workers,
                    }
                    for o in outcomes
                ]
            }
        )
    else:
        for o in outcomes:
            mark = {"started": "[green]started[/]", "already-running": "[yellow]running[/]"}
            console.print(f"{mark.get(o.result, '[red]failed[/]')} {o.message}", highlight=False)
    if code:
        raise typer.Exit(code)


def stop(
    ctx: typer.Context,
    topics: list[str] = typer.Argument(None, help="topics whose jobs to stop"),
    all_: bool = typer.Option(False, "--all", help="stop every deployed job"),
    timeout: float = typer.Option(
        DEFAULT_STOP_TIMEOUT_S,
        "--timeout",
        help="seconds to wait for a graceful stop before SIGKILL",
    ),
) -> None:
    """Stop deployed jobs gracefully: each worker takes a final checkpoint and commits its
    offsets; returns once every process of the job is gone."""
    settings = get_settings(ctx)
    if all_ and not topics:
        specs = {s.name: s for s in specs_of(settings).values()}
        names = list(dict.fromkeys([*specs, *deployed_jobs(settings.state_path)]))
        jobs = []
        for j in names:
            status = read_status(status_path(settings.state_path, j))
            if status is not None:
                jobs.append((j, status.topic))
        if not jobs:
            console.print("no job was ever deployed here; nothing to stop")
            return
    else:
        jobs = [(s.name, s.topic) for s in select_specs(settings, topics or [], all_)]
    for o in stop_jobs(jobs, state_dir=settings.state_path, timeout=timeout):
        mark = {"stopped": "[green]stopped[/]", "killed": "[yellow]killed[/]"}.get(
            o.result, "[dim]not running[/]"
        )
        console.print(f"{mark} {o.message}", highlight=False)


# --------------------------------------------------------------------------- logs

_WORKER = re.compile(r"^(w\d+|supervisor)$")


def _follow(files: list[tuple[str, Path]], prefix: bool, poll_s: float = 0.5) -> None:
    offsets = {p: (p.stat().st_size if p.exists() else 0) for _, p in files}
    while True:
        for name, p in files:
            try:
                size = p.stat().st_size
            except FileNotFoundError:
                continue
            if size < offsets[p]:  # truncated: start over
                offsets[p] = 0
            if size == offsets[p]:
                continue
            with p.open("rb") as f:
                f.seek(offsets[p])
                data = f.read()
            # only whole lines; keep a partial last line for the next round
            cut = data.rfind(b"\n") + 1
            if not cut:
                continue
            offsets[p] += cut
            for line in data[:cut].decode("utf-8", "replace").splitlines():
                typer.echo(f"[{name}] {line}" if prefix else line)
        time.sleep(poll_s)  # waiting for new output, not for readiness


def logs(
    ctx: typer.Context,
    topic: str = typer.Argument(..., help="the topic whose job's logs to show"),
    worker: str | None = typer.Option(
        None, "--worker", "-w", help="w0, w1, ... or supervisor (default: all of them)"
    ),
    lines: int = typer.Option(50, "--lines", "-n", help="how many of the last lines"),
    follow: bool = typer.Option(False, "--follow", "-f", help="keep printing new lines"),
) -> None:
    """Show a deployed job's logs (workers and supervisor)."""
    settings = get_settings(ctx)
    spec = select_specs(settings, [topic], False)[0]
    if lines < 0:
        raise ConfigError(f"--lines {lines} must be 0 or more")
    if worker is not None and not _WORKER.match(worker):
        raise ConfigError(f"--worker {worker!r} is not w0, w1, ... or supervisor")
    logs_dir = settings.state_path / "logs"
    if worker is not None:
        files = [(worker, log_path(settings.state_path, spec.name, worker))]
    else:
        found = sorted(logs_dir.glob(f"{spec.name}-*.log")) if logs_dir.is_dir() else []
        names = [p.name[len(spec.name) + 1 : -4] for p in found]
        files = [(n, p) for n, p in zip(names, found, strict=True) if _WORKER.match(n)]
        files.sort(key=lambda f: (f[0] != "supervisor", f[0]))
    existing = [(n, p) for n, p in files if p.exists()]
    if not existing:
        what = f"worker {worker} of {spec.name}" if worker else spec.name
        fail(
            f"no logs for {what} under {logs_dir}; deploy it first (`rdg deploy {topic}`) "
            "or check --state-dir",
            EXIT_NOT_FOUND,
        )
    many = len(existing) > 1
    for name, p in existing:
        if many:
            typer.echo(f"==> {name} ({p}) <==")
        for line in tail(p, lines):
            typer.echo(line)
    if follow:
        try:
            _follow(existing, prefix=many)
        except KeyboardInterrupt:
            return


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.add_typer(jobs_app, name="jobs")
    app.command("deploy")(ops_command(deploy))
    app.command("stop")(ops_command(stop))
    app.command("logs")(ops_command(logs))
    app.command("lag")(ops_command(lag))
    app.command("replay")(ops_command(replay))
