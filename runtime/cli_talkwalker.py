"""`socialstream talkwalker ...`: the streams, rules, quotas and resources of a Talkwalker account.

Tables on a terminal, JSON with --json or when piped. A vendor error exits 1 with the code and
its meaning in words; a missing token or an unreadable file exits 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from socialstream.runtime.cli_common import JsonFlag, load_settings
from socialstream.runtime.output import emit, table

if TYPE_CHECKING:
    from socialstream.connectors.talkwalker.management_client import ManagementClient

talkwalker_app = typer.Typer(
    help="Talkwalker streams, rules, quotas and project resources.", no_args_is_help=True
)
streams_app = typer.Typer(help="Streams of the account.", no_args_is_help=True)
rules_app = typer.Typer(help="Rules of a stream.", no_args_is_help=True)
quota_app = typer.Typer(
    help="A stream's quota (results an hour/day/week/month).", no_args_is_help=True
)
resources_app = typer.Typer(
    help="A project's resources (topics, filters, ...).", no_args_is_help=True
)
talkwalker_app.add_typer(streams_app, name="streams")
talkwalker_app.add_typer(rules_app, name="rules")
talkwalker_app.add_typer(quota_app, name="quota")
talkwalker_app.add_typer(resources_app, name="resources")

StreamArg = Annotated[str, typer.Argument(help="Stream id.")]
RuleArg = Annotated[str, typer.Argument(help="Rule id.")]
QueryArg = Annotated[str, typer.Argument(help="Rule query, in Talkwalker query syntax.")]
T = TypeVar("T")


@contextmanager
def _client() -> Iterator[ManagementClient]:
    """A management client; vendor errors become one line on stderr and exit 1."""
    from socialstream.connectors.talkwalker.management_client import (
        ManagementClient,
        ManagementError,
    )

    settings = load_settings()
    try:
        client = ManagementClient(settings.talkwalker)
    except ManagementError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        yield client
    except ManagementError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        client.close()


def _done(as_json: bool, what: str, **data: Any) -> None:
    emit({"ok": True, **data}, as_json, what)


# --- streams ---------------------------------------------------------------------------------


@streams_app.command("list")
def streams_list(as_json: JsonFlag = False) -> None:
    """Every stream: whether it is enabled and how many rules it has."""
    with _client() as client:
        streams = [client.stream(s) for s in client.stream_ids()]
    rows = [
        [s.stream_id, "?" if s.enabled is None else "yes" if s.enabled else "no", len(s.rules)]
        for s in streams
    ]
    data = [{"stream_id": s.stream_id, "enabled": s.enabled, "rules": s.rules} for s in streams]
    emit({"streams": data}, as_json, table(["stream", "enabled", "rules"], rows))


@streams_app.command("show")
def streams_show(stream: StreamArg, as_json: JsonFlag = False) -> None:
    """A stream's rules and quota."""
    with _client() as client:
        state = client.stream(stream)
        quota = client.quota(stream)
    enabled = "?" if state.enabled is None else "yes" if state.enabled else "no"
    text = [f"stream {state.stream_id} (enabled: {enabled})", ""]
    text.append(table(["rule", "query"], sorted(state.rules.items())))
    if quota:
        text += ["", table(["quota", "value"], sorted((k, v) for k, v in quota.items()))]
    data = {"stream_id": state.stream_id, "enabled": state.enabled, "rules": state.rules}
    emit({**data, "quota": quota}, as_json, "\n".join(text))


@streams_app.command("create")
def streams_create(
    stream: StreamArg,
    rule: Annotated[
        list[str] | None, typer.Option(help="A rule as ID=QUERY (repeat for more).")
    ] = None,
    enabled: Annotated[bool, typer.Option(help="Start it enabled.")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Create a stream with its rules."""
    rules: dict[str, str] = {}
    for item in rule or []:
        rule_id, sep, query = item.partition("=")
        if not sep or not rule_id or not query:
            typer.echo(f"error: --rule must be ID=QUERY; got {item!r}", err=True)
            raise typer.Exit(2)
        rules[rule_id] = query
    with _client() as client:
        client.create_stream(stream, rules, enabled)
    _done(as_json, f"created stream {stream} with {len(rules)} rules", stream_id=stream)


@streams_app.command("delete")
def streams_delete(stream: StreamArg, as_json: JsonFlag = False) -> None:
    """Delete a stream and its rules."""
    with _client() as client:
        client.delete_stream(stream)
    _done(as_json, f"deleted stream {stream}", stream_id=stream)


@streams_app.command("enable")
def streams_enable(stream: StreamArg, as_json: JsonFlag = False) -> None:
    """Enable a stream (it delivers results again)."""
    with _client() as client:
        client.set_enabled(stream, True)
    _done(as_json, f"enabled stream {stream}", stream_id=stream)


@streams_app.command("disable")
def streams_disable(stream: StreamArg, as_json: JsonFlag = False) -> None:
    """Disable a stream temporarily (like a full quota: the connection stays open)."""
    with _client() as client:
        client.set_enabled(stream, False)
    _done(as_json, f"disabled stream {stream}", stream_id=stream)


@streams_app.command("apply")
def streams_apply(
    file: Annotated[Path, typer.Argument(help="YAML declaring the streams and their rules.")],
    dry_run: Annotated[bool, typer.Option(help="Show the changes, make none.")] = False,
    prune: Annotated[bool, typer.Option(help="Delete streams the file does not name.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Make the account hold exactly the streams, rules and quotas the file declares."""
    from socialstream.connectors.talkwalker.stream_plan import (
        PlanFileError,
        apply_plan,
        load,
        plan,
    )

    try:
        declared = load(file)
    except PlanFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    with _client() as client:
        planned = plan(client, declared, prune=prune)
        lines = [change.describe() for change in planned.changes]
        actionable = planned.actionable
        if not dry_run:
            apply_plan(client, planned)
        calls = client.calls
    verb = "would make" if dry_run else "made"
    summary = (
        f"{verb} {len(actionable)} change(s); {planned.unchanged_rules} rule(s) unchanged; "
        f"{calls} API call(s)"
    )
    data = {
        "dry_run": dry_run,
        "changes": [c.as_dict() for c in planned.changes],
        "unchanged_rules": planned.unchanged_rules,
        "calls": calls,
    }
    emit(data, as_json, "\n".join([*lines, summary]))


# --- rules -----------------------------------------------------------------------------------


@rules_app.command("list")
def rules_list(stream: StreamArg, as_json: JsonFlag = False) -> None:
    """A stream's rules."""
    with _client() as client:
        state = client.stream(stream)
    emit(
        {"stream_id": stream, "rules": state.rules},
        as_json,
        table(["rule", "query"], sorted(state.rules.items())),
    )


def _rule_change(
    stream: str, rule: str, must_exist: bool, change: Callable[[ManagementClient], None]
) -> None:
    with _client() as client:
        exists = client.rule(stream, rule) is not None
        if exists != must_exist:
            state = "has no" if must_exist else "already has a"
            hint = "add" if must_exist else "update"
            typer.echo(f"error: stream {stream} {state} rule {rule} (use rules {hint})", err=True)
            raise typer.Exit(1)
        change(client)


@rules_app.command("add")
def rules_add(stream: StreamArg, rule: RuleArg, query: QueryArg, as_json: JsonFlag = False) -> None:
    """Add a rule (refused if the stream has one with this id)."""
    _rule_change(stream, rule, False, lambda c: c.put_rule(stream, rule, query))
    _done(as_json, f"added rule {stream}/{rule}", stream_id=stream, rule_id=rule)


@rules_app.command("update")
def rules_update(
    stream: StreamArg, rule: RuleArg, query: QueryArg, as_json: JsonFlag = False
) -> None:
    """Change a rule's query (refused if there is no such rule)."""
    _rule_change(stream, rule, True, lambda c: c.put_rule(stream, rule, query))
    _done(as_json, f"updated rule {stream}/{rule}", stream_id=stream, rule_id=rule)


@rules_app.command("remove")
def rules_remove(stream: StreamArg, rule: RuleArg, as_json: JsonFlag = False) -> None:
    """Remove a rule."""
    with _client() as client:
        client.delete_rule(stream, rule)
    _done(as_json, f"removed rule {stream}/{rule}", stream_id=stream, rule_id=rule)


# --- quota -----------------------------------------------------------------------------------


@quota_app.command("show")
def quota_show(stream: StreamArg, as_json: JsonFlag = False) -> None:
    """Allowance, period, usage and status of a stream's quota."""
    with _client() as client:
        quota = client.quota(stream)
    text = table(["quota", "value"], sorted(quota.items())) if quota else "(no quota)"
    emit({"stream_id": stream, "quota": quota}, as_json, text)


@quota_app.command("set")
def quota_set(
    stream: StreamArg,
    allowance: Annotated[int, typer.Option(min=0, help="Results a period.")],
    reset: Annotated[str, typer.Option(help="hourly | daily | weekly | monthly")],
    timezone: Annotated[str, typer.Option(help="Timezone of the period.")] = "UTC",
    reference_time: Annotated[
        str | None, typer.Option(help="Reference time (ISO 8601 or epoch ms) of the period.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Set a stream's quota."""
    if reset not in ("hourly", "daily", "weekly", "monthly"):
        typer.echo("error: --reset must be hourly, daily, weekly or monthly", err=True)
        raise typer.Exit(2)
    body: dict[str, Any] = {"allowance": allowance, "reset": reset, "timezone": timezone}
    if reference_time is not None:
        body["reference_time"] = reference_time
    with _client() as client:
        client.set_quota(stream, body)
    _done(as_json, f"quota of {stream}: {allowance} {reset} ({timezone})", stream_id=stream)


@quota_app.command("reset")
def quota_reset(stream: StreamArg, as_json: JsonFlag = False) -> None:
    """Set the usage of the current period to 0 (re-activates a stream that used it up)."""
    with _client() as client:
        client.reset_quota(stream)
    _done(as_json, f"quota of {stream} reset", stream_id=stream)


@quota_app.command("remove")
def quota_remove(stream: StreamArg, as_json: JsonFlag = False) -> None:
    """Remove a stream's quota."""
    with _client() as client:
        client.delete_quota(stream)
    _done(as_json, f"quota of {stream} removed", stream_id=stream)


# --- resources -------------------------------------------------------------------------------


@resources_app.command("list")
def resources_list(
    project: Annotated[
        str | None, typer.Option(help="Project id (default: talkwalker.project_id).")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option("--type", help="search | filter | page | event | panel | savedobject"),
    ] = None,
    object_type: Annotated[str | None, typer.Option(help="Saved-object type.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """A project's resources (search topics, filters, monitored pages, ...)."""
    project_id = project or load_settings().talkwalker.project_id
    if not project_id:
        typer.echo("error: pass --project or set SOCIALSTREAM_TALKWALKER__PROJECT_ID", err=True)
        raise typer.Exit(2)
    with _client() as client:
        found = client.resources(project_id, kind, object_type)
    rows = [[r.get("id"), r.get("type", ""), r.get("title")] for r in found]
    emit({"resources": found}, as_json, table(["id", "type", "title"], rows))
