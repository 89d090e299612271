"""Every topic socialstream uses, declared once, and `topics apply` that creates them.

Topics are never auto-created: a missing topic is created with the declared partitions, replication
and configs; an existing one is compared and any drift is reported, not changed, because altering a
production topic (partitions change key placement) is an operator's decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from socialstream.runtime.settings import KafkaSettings, TopicSettings

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    """One topic: name, partitioning, cleanup, retention, and what it holds."""

    name: str
    schema: str | None
    doc: str
    high_volume: bool = True
    compacted: bool = False
    retention_ms: int = 7 * DAY_MS
    extra_config: dict[str, str] = field(default_factory=dict)

    def partitions(self, settings: TopicSettings) -> int:
        return settings.partitions if self.high_volume else 1

    def config(self) -> dict[str, str]:
        config = {
            "cleanup.policy": "compact" if self.compacted else "delete",
            "retention.ms": str(-1 if self.compacted else self.retention_ms),
        }
        config.update(self.extra_config)
        return config


def _dlq(component: str) -> TopicSpec:
    return TopicSpec(
        f"{component}.dlq",
        "dead_letter",
        f"Inputs the {component} component could not turn into records, with the reason.",
        high_volume=False,
        retention_ms=30 * DAY_MS,
    )


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("talkwalker.results", "talkwalker_result", "One record a CT_RESULT chunk."),
    TopicSpec(
        "talkwalker.control",
        "talkwalker_control",
        "One record a CT_CONTROL chunk.",
        high_volume=False,
    ),
    TopicSpec(
        "talkwalker.errors",
        "talkwalker_error",
        "CT_ERROR chunks and transport faults.",
        high_volume=False,
    ),
    TopicSpec("insightstrack.tweets", "insightstrack_tweet", "One record a tweet_event."),
    TopicSpec(
        "insightstrack.summaries",
        "insightstrack_summary",
        "Cumulative summary_event metrics; latest a tweet kept.",
        compacted=True,
    ),
    TopicSpec(
        "insightstrack.users",
        "insightstrack_user_event",
        "user_event records (revokes).",
        high_volume=False,
    ),
    TopicSpec(
        "insightstrack.control",
        "insightstrack_control",
        "Gaps, reconnects, dropped rules.",
        high_volume=False,
    ),
    TopicSpec(
        "monitor.metrics",
        "monitor_metric",
        "One record a monitor, metric and window; revisions replace by key.",
        compacted=True,
    ),
    TopicSpec(
        "sentiment.history",
        "sentiment_bucket",
        "One record a query and bucket; revisions replace by key.",
        compacted=True,
    ),
    TopicSpec("documents.enriched", "document", "Normalised documents."),
    TopicSpec(
        "documents.scored",
        "scored_document",
        "Documents joined with sentiment.",
        # A document near write-back's 5120 kB request limit must fit (the default is 1 MB).
        extra_config={"max.message.bytes": str(8 * 1024 * 1024)},
    ),
    TopicSpec(
        "writeback.results",
        "writeback_result",
        "Final write-back outcome a document.",
    ),
    TopicSpec(
        "socialstream.checkpoints",
        "checkpoint",
        "Component positions, written in the components' transactions.",
        high_volume=False,
        compacted=True,
    ),
    TopicSpec(
        "socialstream.leases",
        None,
        "Stays empty: its one partition is the single-writer lease (group membership).",
        high_volume=False,
        compacted=True,
    ),
    _dlq("talkwalker"),
    _dlq("insightstrack"),
    _dlq("monitors"),
    _dlq("sentiment"),
    _dlq("enrichment"),
    _dlq("sentiment-join"),
    _dlq("writeback"),
)


def topic_name(spec: TopicSpec, settings: TopicSettings) -> str:
    return f"{settings.prefix}{spec.name}"


def find_topic(name: str) -> TopicSpec:
    for spec in TOPICS:
        if spec.name == name:
            return spec
    raise KeyError(f"no topic named {name!r} is declared")


class Action(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"
    DRIFT = "drift"


@dataclass(frozen=True)
class TopicReport:
    """What `apply` did or found for one topic."""

    topic: str
    action: Action
    drift: tuple[str, ...] = ()


def apply_topics(
    kafka: KafkaSettings,
    settings: TopicSettings,
    specs: tuple[TopicSpec, ...] = TOPICS,
    timeout_s: float = 30.0,
) -> list[TopicReport]:
    """Create the missing topics; report drift of existing ones. Idempotent."""
    admin = AdminClient(kafka.client_config())
    existing = admin.list_topics(timeout=timeout_s).topics
    reports: list[TopicReport] = []
    to_create: list[tuple[str, TopicSpec]] = []
    for spec in specs:
        name = topic_name(spec, settings)
        if name in existing:
            reports.append(_compare(admin, name, spec, settings, existing[name], timeout_s))
        else:
            to_create.append((name, spec))
    if to_create:
        futures = admin.create_topics(
            [
                NewTopic(
                    name,
                    num_partitions=spec.partitions(settings),
                    replication_factor=settings.replication_factor or -1,
                    config=spec.config(),
                )
                for name, spec in to_create
            ],
            operation_timeout=timeout_s,
            request_timeout=timeout_s,
        )
        for name, future in futures.items():
            try:
                future.result()
            except KafkaException as exc:
                raise RuntimeError(f"could not create topic {name}: {exc}") from None
            reports.append(TopicReport(name, Action.CREATED))
        _wait_for_leaders(admin, [name for name, _ in to_create], timeout_s)
    order = {topic_name(spec, settings): i for i, spec in enumerate(specs)}
    return sorted(reports, key=lambda r: order[r.topic])


def _wait_for_leaders(admin: AdminClient, names: list[str], timeout_s: float) -> None:
    """Return once every partition of the new topics has a leader, so they are usable."""
    import time

    deadline = time.monotonic() + timeout_s
    waiting = set(names)
    while waiting and time.monotonic() < deadline:
        topics = admin.list_topics(timeout=timeout_s).topics
        waiting = {
            name
            for name in waiting
            if name not in topics
            or topics[name].error is not None
            or any(p.leader < 0 for p in topics[name].partitions.values())
        }
        if waiting:
            time.sleep(0.1)


def _compare(
    admin: AdminClient,
    name: str,
    spec: TopicSpec,
    settings: TopicSettings,
    metadata: object,
    timeout_s: float,
) -> TopicReport:
    drift: list[str] = []
    partitions = getattr(metadata, "partitions", {})
    want_partitions = spec.partitions(settings)
    if len(partitions) != want_partitions:
        drift.append(f"partitions: has {len(partitions)}, declared {want_partitions}")
    if settings.replication_factor is not None and partitions:
        replicas = len(next(iter(partitions.values())).replicas)
        if replicas != settings.replication_factor:
            drift.append(
                f"replication factor: has {replicas}, declared {settings.replication_factor}"
            )
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    described = admin.describe_configs([resource], request_timeout=timeout_s)[resource].result()
    for key, want in spec.config().items():
        entry = described.get(key)
        have = entry.value if entry is not None else None
        if have != want:
            drift.append(f"{key}: has {have}, declared {want}")
    return TopicReport(name, Action.DRIFT if drift else Action.UNCHANGED, tuple(drift))
