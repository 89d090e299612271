"""The `socialstream` command line."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from socialstream.connectors.insightstrack.rules import RulesClient
    from socialstream.runtime.connector import SingleWriterConnector

from socialstream.runtime.cli_common import JsonFlag, load_settings
from socialstream.runtime.cli_talkwalker import talkwalker_app
from socialstream.runtime.logs import setup_logging
from socialstream.runtime.output import emit, table
from socialstream.runtime.settings import Settings
from socialstream.runtime.shutdown import EXIT_TERMINATED, on_terminate

app = typer.Typer(
    name="socialstream",
    help="Social-listening data into Apache Kafka: connectors, processors and their tools.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # rich tracebacks print locals, which may hold secrets
)
topics_app = typer.Typer(help="Kafka topics, declared once.", no_args_is_help=True)
schemas_app = typer.Typer(help="The Avro schemas of every record.", no_args_is_help=True)
kafka_app = typer.Typer(help="A local Apache Kafka broker for laptops.", no_args_is_help=True)
config_app = typer.Typer(help="Settings.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(schemas_app, name="schemas")
app.add_typer(kafka_app, name="kafka")
app.add_typer(config_app, name="config")
app.add_typer(talkwalker_app, name="talkwalker")


@config_app.command("show")
def config_show(as_json: JsonFlag = False) -> None:
    """Print the effective settings, secrets masked."""
    settings = load_settings()
    data = settings.masked()
    lines = []

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict) and value:
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        else:
            lines.append((prefix, value))

    walk("", data)
    emit(data, as_json, table(["setting", "value"], lines))


@config_app.command("reference")
def config_reference(
    update: Annotated[
        Path | None, typer.Option(help="Rewrite the generated block of this file instead.")
    ] = None,
) -> None:
    """Print the configuration and topic reference as Markdown (the README's copy)."""
    from socialstream.runtime.config_reference import BEGIN, END, reference_markdown

    if update is None:
        print(reference_markdown())
        return
    text = update.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    update.write_text(text[:start] + reference_markdown() + text[end:], encoding="utf-8")
    typer.echo(f"updated {update}")


@topics_app.command("apply")
def topics_apply(as_json: JsonFlag = False) -> None:
    """Create every declared topic that is missing; report drift of existing ones."""
    from socialstream.runtime.topics import Action, apply_topics

    settings = load_settings()
    reports = apply_topics(settings.kafka, settings.topics)
    created = sum(r.action is Action.CREATED for r in reports)
    drifted = sum(r.action is Action.DRIFT for r in reports)
    summary = (
        f"{created} created, {len(reports) - created - drifted} unchanged, {drifted} with drift"
    )
    if created == 0:
        summary += ": nothing changed"
    rows = [(r.topic, r.action.value, "; ".join(r.drift)) for r in reports]
    emit(
        {
            "created": created,
            "drift": drifted,
            "changed": created > 0,
            "topics": [
                {"topic": r.topic, "action": r.action.value, "drift": list(r.drift)}
                for r in reports
            ],
        },
        as_json,
        table(["topic", "action", "drift (not changed)"], rows) + f"\n\n{summary}",
    )


@schemas_app.command("export")
def schemas_export(
    target: Annotated[Path, typer.Argument(help="Directory to write the .avsc files into.")],
) -> None:
    """Write the shipped .avsc set into TARGET."""
    from socialstream.schemas.compatibility import export

    for path in export(target):
        typer.echo(str(path))


@schemas_app.command("check")
def schemas_check(
    baseline: Annotated[
        Path | None, typer.Option(help="Baseline directory (default: the committed one).")
    ] = None,
    schema_dir: Annotated[
        Path | None, typer.Option(help="Schemas to check (default: the shipped ones).")
    ] = None,
) -> None:
    """Fail when a schema is not BACKWARD compatible with its baseline."""
    from socialstream.schemas import BASELINE_DIR, SCHEMA_DIR
    from socialstream.schemas.compatibility import check_backward

    problems = check_backward(schema_dir or SCHEMA_DIR, baseline or BASELINE_DIR)
    for problem in problems:
        typer.echo(str(problem), err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo("all schemas are BACKWARD compatible with the baseline")


@kafka_app.command("up")
def kafka_up(
    port: Annotated[int | None, typer.Option(help="Broker port (default: a free one).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Start a local broker in the background (fetches the Kafka jars on first use)."""
    from socialstream.deploy.kafka import launcher

    setup_logging("INFO", "text")
    state = launcher.up(port)
    emit(
        state,
        as_json,
        f"Kafka is up at {state.get('bootstrap_servers')}\n"
        f"export SOCIALSTREAM_KAFKA__BOOTSTRAP_SERVERS={state.get('bootstrap_servers')}",
    )


@kafka_app.command("down")
def kafka_down(as_json: JsonFlag = False) -> None:
    """Stop the local broker started by `kafka up`."""
    from socialstream.deploy.kafka import launcher

    state = launcher.down()
    emit(state, as_json, "Kafka stopped" if state.get("stopped_pid") else "Kafka was not running")


@kafka_app.command("status")
def kafka_status(as_json: JsonFlag = False) -> None:
    """Say whether the local broker runs, and where."""
    from socialstream.deploy.kafka import launcher

    state = launcher.status()
    text = (
        f"running at {state['bootstrap_servers']} (pid {state['pid']})"
        if state.get("running")
        else "not running"
    )
    emit(state, as_json, text)
    if not state.get("running"):
        raise typer.Exit(1)


run_app = typer.Typer(help="Run a connector or processor until stopped.", no_args_is_help=True)
app.add_typer(run_app, name="run")


def _observe(
    settings: Settings,
    ready: Callable[[], str | None] | None = None,
    consumer_group: str | None = None,
) -> None:
    """The stuck-call watchdog (`watchdog.py`); tracing when `tracing.otlp_endpoint` is set;
    the health server when `health.port` is: Kafka reachability plus the component's own
    readiness check, and the consumer lag of a processor's group. What is loaded by now
    (modules, schemas, compiled codecs) lives as long as the process, so the cyclic collector
    stops walking it (`gc.freeze`): its full collections went over all of it again and again."""
    import gc

    from socialstream.runtime import tracing
    from socialstream.runtime.watchdog import start_kafka_watchdog

    gc.freeze()

    start_kafka_watchdog(settings.kafka.stuck_call_timeout_s)
    tracing.configure(
        settings.tracing.otlp_endpoint, settings.tracing.service_name, settings.tracing.sample_ratio
    )
    if settings.health.port is None:
        return
    from socialstream.runtime.health import Check, HealthServer, KafkaReachable

    if consumer_group is not None:
        from prometheus_client import REGISTRY

        from socialstream.runtime.lag import ConsumerLag

        REGISTRY.register(ConsumerLag(settings.kafka, consumer_group))
    checks: dict[str, Check] = {"kafka": KafkaReachable(settings.kafka)}
    if ready is not None:
        checks["component"] = ready
    HealthServer(settings.health.host, settings.health.port, checks).start()


def _run_source(make: Callable[[Settings], SingleWriterConnector]) -> None:
    """Run a single-writer source until SIGTERM / Ctrl-C; a condition retrying cannot fix
    (StopConnector) exits 2 with its reason."""
    from socialstream.runtime.connector import StopConnector

    settings = load_settings()
    try:
        source = make(settings)
        _observe(settings, source.not_ready)
        on_terminate(source.stop, settings.shutdown.grace_s)
        source.run()
    except StopConnector as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@run_app.command("talkwalker")
def run_talkwalker() -> None:
    """Stream Talkwalker results, control and error chunks into Kafka, exactly once."""
    from socialstream.connectors.talkwalker.source import TalkwalkerSource

    _run_source(TalkwalkerSource)


@run_app.command("insightstrack")
def run_insightstrack() -> None:
    """Stream InsightsTrack tweet, summary and user events into Kafka, with gap records."""
    from socialstream.connectors.insightstrack.source import InsightsTrackSource

    _run_source(InsightsTrackSource)


@run_app.command("monitors")
def run_monitors() -> None:
    """Poll Crimson Hexagon monitor metrics on the configured schedule into monitor.metrics."""
    from socialstream.connectors.monitors.monitor_source import MonitorPoller

    _run_source(MonitorPoller)


@run_app.command("sentiment")
def run_sentiment() -> None:
    """Poll the sentiment-history series of the configured queries into sentiment.history."""
    from socialstream.connectors.monitors.sentiment_source import SentimentPoller

    _run_source(SentimentPoller)


@run_app.command("enrichment")
def run_enrichment() -> None:
    """Map Talkwalker results and InsightsTrack tweets to Documents on documents.enriched."""
    from socialstream.processors.enrichment.app import Enrichment
    from socialstream.processors.enrichment.documents import UnknownQuery

    settings = load_settings()
    _observe(settings, consumer_group=settings.enrichment.consumer_group)
    try:
        Enrichment(settings).run(settings.shutdown.grace_s)  # SIGTERM: commits, then exits
    except UnknownQuery as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@run_app.command("sentiment-join")
def run_sentiment_join() -> None:
    """Score enriched documents with their sentiment bucket and tweet summaries."""
    from socialstream.processors.sentiment_join.app import SentimentJoin

    settings = load_settings()
    _observe(settings, consumer_group=settings.sentiment_join.consumer_group)
    SentimentJoin(settings).run(settings.shutdown.grace_s)  # SIGTERM: commits, then exits


@run_app.command("writeback")
def run_writeback() -> None:
    """Write scored documents back to a Talkwalker project through the bulk documents API."""
    from socialstream.processors.writeback.app import Writeback, WritebackStopped

    settings = load_settings()
    try:
        writeback = Writeback(settings)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    _observe(settings, writeback.not_ready, settings.writeback.consumer_group)
    on_terminate(writeback.stop, settings.shutdown.grace_s)
    try:
        writeback.run()  # on stop: waits for requests in flight, commits what is final
    except WritebackStopped as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


backfill_app = typer.Typer(
    help="Fetch a historical range once, restartable where it stopped.", no_args_is_help=True
)
app.add_typer(backfill_app, name="backfill")
FromOption = Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD), inclusive.")]
ToOption = Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD), exclusive.")]


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        typer.echo(f"error: {name} must be a date, YYYY-MM-DD; got {value!r}", err=True)
        raise typer.Exit(2) from None


def _stop_flag() -> Callable[[], bool]:
    import signal
    import threading

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    return stopped.is_set


@backfill_app.command("monitors")
def backfill_monitors_command(
    start: FromOption,
    end: ToOption,
    monitor: Annotated[
        list[int] | None, typer.Option(help="Monitor id (repeat); default: the schedule's.")
    ] = None,
    metric: Annotated[
        list[str] | None, typer.Option(help="Metric (repeat); default: the schedule's.")
    ] = None,
    group_by: Annotated[str, typer.Option(help="groupBy of volume.")] = "DAILY",
    country: Annotated[str | None, typer.Option(help="Country of cities and states.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Fetch every monitor metric window of [--from, --to) into monitor.metrics."""
    from pydantic import ValidationError

    from socialstream.connectors.monitors.monitor_source import BackfillStopped, backfill_monitors
    from socialstream.runtime.settings import MonitorJob

    settings = load_settings()
    schedule = settings.monitors.schedule
    try:
        job = MonitorJob.model_validate(
            {
                "monitors": monitor or sorted({m for j in schedule for m in j.monitors}),
                "metrics": metric or sorted({m for j in schedule for m in j.metrics}),
                "group_by": group_by.upper(),
                "country": country,
            }
        )
    except ValidationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if settings.monitors.token is None:
        typer.echo("error: set SOCIALSTREAM_MONITORS__TOKEN", err=True)
        raise typer.Exit(2)
    try:
        stats = backfill_monitors(
            settings,
            job,
            _day(start, "--from"),
            _day(end, "--to"),
            lambda line: typer.echo(line, err=True),
            stop=_stop_flag(),
        )
    except BackfillStopped as exc:
        typer.echo(f"backfill stopped: {exc}; run the same command again to continue", err=True)
        raise typer.Exit(3) from None
    emit(
        stats, as_json, f"backfill done: {stats['records']} records from {stats['requests']} calls"
    )


@backfill_app.command("sentiment")
def backfill_sentiment_command(
    start: FromOption,
    end: ToOption,
    query: Annotated[
        list[str] | None, typer.Option(help="Query name (repeat); default: every query.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Fetch every sentiment bucket of [--from, --to) into sentiment.history."""
    from datetime import UTC, datetime

    from socialstream.connectors.monitors.sentiment_source import (
        SentimentBackfillStopped,
        backfill_sentiment,
    )

    settings = load_settings()
    queries = [q for q in settings.sentiment.queries if not query or q.name in query]
    if not queries or settings.sentiment.token is None:
        typer.echo("error: set SOCIALSTREAM_SENTIMENT__TOKEN and name a configured query", err=True)
        raise typer.Exit(2)

    def ms(day: date) -> int:
        return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)

    try:
        stats = backfill_sentiment(
            settings,
            queries,
            ms(_day(start, "--from")),
            ms(_day(end, "--to")),
            lambda line: typer.echo(line, err=True),
            stop=_stop_flag(),
        )
    except SentimentBackfillStopped as exc:
        typer.echo(f"backfill stopped: {exc}; run the same command again to continue", err=True)
        raise typer.Exit(3) from None
    emit(stats, as_json, f"backfill done: {stats['records']} buckets in {stats['pages']} pages")


insightstrack_app = typer.Typer(help="InsightsTrack tools.", no_args_is_help=True)
it_rules_app = typer.Typer(help="The stream's from:<user id> rules.", no_args_is_help=True)
insightstrack_app.add_typer(it_rules_app, name="rules")
app.add_typer(insightstrack_app, name="insightstrack")


def _rules_client() -> RulesClient:
    from socialstream.connectors.insightstrack.rules import RulesClient, RulesError

    settings = load_settings()
    try:
        return RulesClient(settings.insightstrack)
    except RulesError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@it_rules_app.command("list")
def it_rules_list(as_json: JsonFlag = False) -> None:
    """The rules the stream has now."""
    from socialstream.connectors.insightstrack.rules import user_of

    client = _rules_client()
    rules = sorted(client.fetch())
    emit({"rules": rules}, as_json, "\n".join(user_of(r) for r in rules) or "(no rules)")


@it_rules_app.command("add")
def it_rules_add(user_ids: Annotated[list[int], typer.Argument(help="User ids.")]) -> None:
    """Add from:<id> rules (invalid ones are reported, the valid ones still added)."""
    from socialstream.connectors.insightstrack.rules import rule_value

    client = _rules_client()
    values = [rule_value(u) for u in user_ids]
    added: list[str] = []
    invalid: dict[str, str] = {}
    for start in range(0, len(values), 1000):
        batch_added, batch_invalid = client.add(values[start : start + 1000])
        added += batch_added
        invalid.update(batch_invalid)
    typer.echo(f"added {len(added)}")
    for value, reason in sorted(invalid.items()):
        typer.echo(f"invalid {value}: {reason}", err=True)
    if invalid:
        raise typer.Exit(1)


@it_rules_app.command("remove")
def it_rules_remove(user_ids: Annotated[list[int], typer.Argument(help="User ids.")]) -> None:
    """Remove from:<id> rules."""
    from socialstream.connectors.insightstrack.rules import rule_value

    client = _rules_client()
    values = [rule_value(u) for u in user_ids]
    for start in range(0, len(values), 1000):
        client.remove(values[start : start + 1000])
    typer.echo(f"removed {len(values)}")


@it_rules_app.command("sync")
def it_rules_sync(
    from_file: Annotated[Path, typer.Option("--from", help="Declared user ids, one a line.")],
    dry_run: Annotated[bool, typer.Option(help="Show the diff, change nothing.")] = False,
    ignore_revokes: Annotated[
        bool, typer.Option(help="Do not read revoked users from the connector's checkpoint.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Reconcile the stream's rules with a declared list of user ids."""
    from socialstream.connectors.insightstrack.rules import parse_rules_file, sync
    from socialstream.runtime.checkpoints import CheckpointStore
    from socialstream.runtime.codec import codec_from_settings

    settings = load_settings()
    ids, bad = parse_rules_file(from_file)
    for line in bad:
        typer.echo(f"invalid line in {from_file}: {line!r} (not a user id)", err=True)
    revoked: list[int] = []
    if not ignore_revokes:
        try:
            store = CheckpointStore(
                settings.kafka,
                settings.topics,
                codec_from_settings(settings),
                "insightstrack",
            )
            it = settings.insightstrack
            position = store.load(f"{it.account}.{it.label}", timeout_s=20) or {}
            revoked = [int(u) for u in position.get("revoked", [])]
        except Exception as exc:
            typer.echo(
                f"error: cannot read revoked users from Kafka ({exc}); "
                "pass --ignore-revokes to sync without them",
                err=True,
            )
            raise typer.Exit(2) from None
    client = _rules_client()
    report = sync(client, ids, revoked, dry_run=dry_run)
    lines = [f"+ from:{v.removeprefix('from:')}" for v in report.to_add]
    lines += [f"- {v}" for v in report.to_remove]
    lines += [f"! {v}: {reason}" for v, reason in sorted(report.invalid.items())]
    lines += [f"~ {v} (revoked; not re-added)" for v in report.skipped_revoked]
    verb = "would add" if dry_run else "added"
    summary = (
        f"{verb} {len(report.to_add if dry_run else report.added)}, "
        f"{'would remove' if dry_run else 'removed'} "
        f"{len(report.to_remove if dry_run else report.removed)}, "
        f"{report.unchanged} unchanged, {len(report.invalid)} invalid, "
        f"{report.requests} requests"
    )
    emit(report.as_dict(), as_json, "\n".join([*lines, summary]))
    if report.invalid or bad:
        raise typer.Exit(1)


@app.command("simulate")
def simulate(
    api: Annotated[
        str,
        typer.Argument(
            help="talkwalker | insightstrack | crimson-hexagon | sentiment-history | example | "
            "schema-registry"
        ),
    ],
    port: Annotated[int, typer.Option(help="Port to listen on (0: a free one).")] = 0,
    host: Annotated[
        str, typer.Option(help="Address to bind: loopback, or 0.0.0.0 in a container.")
    ] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Corpus seed (talkwalker).")] = 1,
    timeframes: Annotated[int, typer.Option(help="Timeframes in the corpus (talkwalker).")] = 20,
    per_timeframe: Annotated[int, typer.Option(help="Documents a timeframe (talkwalker).")] = 100,
    window_s: Annotated[float, typer.Option(help="Rate-limit window (talkwalker).")] = 60.0,
    gzip: Annotated[bool, typer.Option(help="Compress when asked to (talkwalker).")] = True,
    events: Annotated[int, typer.Option(help="Events in the script (insightstrack).")] = 10_000,
) -> None:
    """Serve a fake upstream API (on loopback unless --host says otherwise) until Ctrl-C."""
    from socialstream.simulators.base import SimulatorServer

    server: SimulatorServer
    if api == "talkwalker":
        from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator

        corpus = Corpus(seed=seed, timeframes=timeframes, per_timeframe=per_timeframe)
        simulator = TalkwalkerSimulator(corpus, window_s=window_s, gzip=gzip, port=port, host=host)
        server = simulator.server
    elif api == "insightstrack":
        from socialstream.simulators.insightstrack import EventScript, InsightsTrackSimulator

        script = EventScript(seed=seed, count=events)
        server = InsightsTrackSimulator(script, port=port, host=host).server
    elif api == "crimson-hexagon":
        from socialstream.simulators.crimson_hexagon import CrimsonHexagonSimulator, MonitorData

        server = CrimsonHexagonSimulator(MonitorData(seed=seed), port=port, host=host).server
    elif api == "sentiment-history":
        from socialstream.simulators.sentiment_history import (
            SentimentHistorySimulator,
            SentimentSeries,
        )

        server = SentimentHistorySimulator(SentimentSeries(seed=seed), port=port, host=host).server
    elif api == "example":
        from socialstream.simulators.linestream import LineStreamSimulator

        server = LineStreamSimulator(port=port, host=host).server
    elif api == "schema-registry":
        from socialstream.simulators.schema_registry import SchemaRegistrySimulator

        server = SchemaRegistrySimulator(port=port, host=host).server
    else:
        typer.echo(f"error: unknown api {api!r}; see --help", err=True)
        raise typer.Exit(2)
    typer.echo(f"{api} simulator on {server.url}", err=True)
    server.serve_forever()


@app.command("status")
def status(
    urls: Annotated[
        list[str],
        typer.Argument(help="Health server URLs, e.g. http://127.0.0.1:8081 (one a component)."),
    ],
    interval: Annotated[
        float, typer.Option(help="Seconds between the two scrapes that give records a second.")
    ] = 1.0,
    as_json: JsonFlag = False,
) -> None:
    """Show each running component's readiness, records a second, lag, dead letters and upstream
    errors, read from its health server. Exits 1 when any is unreachable or not ready."""
    import time

    from socialstream.runtime.status import probe_all, rates

    first = probe_all(urls)
    started = time.monotonic()
    time.sleep(interval)
    second = probe_all(urls)
    elapsed = time.monotonic() - started
    data, rows = [], []
    for before, after in zip(first, second, strict=True):
        per_s = rates(before.summary, after.summary, elapsed) if before.reachable else {}
        data.append(after.as_dict(per_s))
        if not after.reachable:
            rows.append([after.url, "unreachable", "-", "-", "-", "-", "-", after.error or ""])
            continue
        rows.append(
            [
                after.url,
                "ready" if after.ready else "NOT READY",
                f"{sum(per_s.values()):.0f}",
                f"{after.summary.records_total:.0f}",
                f"{sum(after.summary.lag.values()):.0f}" if after.summary.lag else "-",
                f"{after.summary.dead_letters:.0f}",
                f"{after.summary.upstream_errors:.0f}",
                "; ".join(f"{k}: {v}" for k, v in after.failing.items()),
            ]
        )
    headers = ["component", "state", "rec/s", "records", "lag", "dlq", "upstream errors", "why"]
    emit(data, as_json, table(headers, rows))
    if not all(s.reachable and s.ready for s in second):
        raise typer.Exit(1)


@app.command("demo")
def demo(
    duration: Annotated[float, typer.Option(help="Seconds to run; 0 runs until Ctrl-C.")] = 0.0,
) -> None:
    """Start a local broker (unless SOCIALSTREAM_KAFKA__BOOTSTRAP_SERVERS is set), the
    simulators and the pipeline, and show records flowing."""
    import logging
    import os

    from socialstream.runtime.demo import run_demo

    settings = load_settings()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line a request is noise here
    logging.getLogger("socialstream").setLevel(logging.WARNING)
    broker = None
    if "SOCIALSTREAM_KAFKA__BOOTSTRAP_SERVERS" not in os.environ:
        from socialstream.deploy.kafka.launcher import KafkaBroker

        typer.echo("starting a local Kafka broker (first run fetches its jars)...", err=True)
        broker = KafkaBroker.create().start()
        settings.kafka.bootstrap_servers = broker.bootstrap_servers
    try:
        totals = run_demo(settings, duration)
    finally:
        if broker is not None:
            broker.stop()
    typer.echo(
        "records committed and read back: "
        + ", ".join(f"{topic}={count}" for topic, count in sorted(totals.items()))
    )
    if not totals:
        raise typer.Exit(1)


def _terminated_while_starting(_signum: int, _frame: object) -> None:
    """Exit 143 at once. Not by raising SystemExit: the signal lands in whatever code is
    starting up, and some of it catches BaseException (pydantic building a model class while
    Quix Streams is imported wraps it in a SchemaError), which turned a stop into an error."""
    os._exit(EXIT_TERMINATED)


def main() -> None:
    """Run the CLI; an unexpected error is one redacted line (the traceback with DEBUG logs)."""
    import logging
    import signal

    from socialstream.runtime.redaction import redact_text

    # Until a command installs its own (graceful) handlers, SIGTERM means "never mind": exit 143
    # at once; nothing has been consumed or produced yet, so nothing is left half done.
    signal.signal(signal.SIGTERM, _terminated_while_starting)

    try:
        code = app(prog_name="socialstream", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except Exception as exc:
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        logging.getLogger("socialstream").debug("command failed", exc_info=True)
        print(redact_text(f"error: {type(exc).__name__}: {exc}"), file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
