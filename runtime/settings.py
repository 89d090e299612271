"""Settings for every component: `SOCIALSTREAM_*` environment variables over an optional YAML file.

Nested settings use `__` in environment variables (`SOCIALSTREAM_KAFKA__BOOTSTRAP_SERVERS`), so one
model is the single source of truth for the CLI, `config show` and the configuration reference.
"""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

CONFIG_FILE_ENV = "SOCIALSTREAM_CONFIG"

# librdkafka properties whose values are secrets; `config show` and logs mask them.
SECRET_PROPERTY_MARKERS = ("password", "secret", "sasl.oauthbearer.config", "ssl.key.pem")


def is_secret_property(name: str) -> bool:
    """True for a librdkafka property that carries a credential."""
    lowered = name.lower()
    return any(marker in lowered for marker in SECRET_PROPERTY_MARKERS)


class KafkaSettings(BaseModel):
    """How to reach the Kafka cluster. Any librdkafka property can be passed in `properties`."""

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Comma-separated host:port list of the brokers."
    )
    client_id: str = Field(default="socialstream", description="client.id sent to the brokers.")
    properties: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Extra librdkafka properties passed through unchanged, e.g. security.protocol, "
            "sasl.mechanism, sasl.username, ssl.ca.location."
        ),
    )
    sasl_password: SecretStr | None = Field(
        default=None, description="sasl.password, kept out of logs and `config show`."
    )
    ssl_key_password: SecretStr | None = Field(
        default=None, description="ssl.key.password, kept out of logs and `config show`."
    )
    transactional_id_prefix: str = Field(
        default="socialstream",
        description="Prefix of every transactional.id; one id a single-writer component.",
    )
    transaction_timeout_ms: int = Field(
        default=60_000, ge=1_000, description="transaction.timeout.ms of transactional producers."
    )
    stuck_call_timeout_s: float = Field(
        default=180.0,
        ge=130.0,
        description="A librdkafka call (a transaction step, a flush, a checkpoint read) that has "
        "not returned after this long is stuck (librdkafka can wait forever after a broker "
        "restart): `socialstream run` then restarts its process in place. Above the 120 s the "
        "longest of those calls allows itself.",
    )

    def client_config(self) -> dict[str, Any]:
        """The librdkafka configuration shared by producers, consumers and the admin client."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": self.client_id,
            # librdkafka's own log lines go through Python logging, so they are redacted too.
            "logger": logging.getLogger("librdkafka"),
        }
        config.update(self.properties)
        if self.sasl_password is not None:
            config["sasl.password"] = self.sasl_password.get_secret_value()
        if self.ssl_key_password is not None:
            config["ssl.key.password"] = self.ssl_key_password.get_secret_value()
        return config


class HealthSettings(BaseModel):
    """The health server of `socialstream run ...`: /healthz, /readyz and /metrics."""

    port: int | None = Field(
        default=None, ge=0, le=65535, description="Port to serve on; unset: no health server."
    )
    host: str = Field(
        default="0.0.0.0",  # noqa: S104 - a pod's probes and scrapers come from outside it
        description="Address to bind (0.0.0.0 in a pod; 127.0.0.1 on a laptop).",
    )


class ShutdownSettings(BaseModel):
    """What SIGTERM (Kubernetes stopping a pod) or Ctrl-C does."""

    grace_s: float = Field(
        default=25.0,
        gt=0,
        description="Seconds to stop reading and commit or abort the open transaction before "
        "the process exits anyway (keep it below the pod's terminationGracePeriodSeconds).",
    )


class TracingSettings(BaseModel):
    """OpenTelemetry traces across components, carried in the records' `traceparent` header."""

    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); "
        "unset: tracing off, no span work on the hot path.",
    )
    service_name: str = Field(
        default="socialstream", description="`service.name` of the exported spans."
    )
    sample_ratio: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Share of new traces recorded; a processor follows its input's decision.",
    )


class SchemaRegistrySettings(BaseModel):
    """Confluent Schema Registry; without a URL records use Avro single-object encoding."""

    url: str | None = Field(
        default=None,
        description="Schema Registry URL. Unset: Avro single-object encoding, no registry.",
    )
    basic_auth_user_info: SecretStr | None = Field(
        default=None, description="`user:password` for the registry's basic auth."
    )
    auto_register: bool = Field(
        default=True, description="Register the shipped schemas under `<topic>-value` on start."
    )


class TopicSettings(BaseModel):
    """How `socialstream topics apply` creates topics."""

    prefix: str = Field(default="", description="Prepended to every topic name (e.g. `prod.`).")
    partitions: int = Field(default=6, ge=1, description="Partitions of high-volume topics.")
    replication_factor: int | None = Field(
        default=None, ge=1, description="Replication factor; unset: the broker's default."
    )


class LogSettings(BaseModel):
    """Logging output."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest level logged (case-insensitive)."
    )
    format: Literal["json", "text"] = Field(
        default="json", description="`json` for machines and Kubernetes, `text` for a terminal."
    )

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class UpstreamSettings(BaseModel):
    """What every upstream API's section has: how its TLS certificate is checked."""

    ca_file: str | None = Field(
        default=None,
        description="PEM bundle of the CAs trusted for this API's TLS certificate, instead of "
        "the system's (a TLS-inspecting proxy, a private endpoint). Unset: the system's CAs.",
    )


class TalkwalkerSettings(UpstreamSettings):
    """The Talkwalker streaming source (`socialstream run talkwalker`)."""

    base_url: str = Field(
        default="https://api.talkwalker.com", description="Talkwalker API base URL."
    )
    access_token: SecretStr | None = Field(
        default=None, description="API access token (sent as `access_token`; always redacted)."
    )
    streams: str = Field(
        default="*",
        description="Stream selector read through the one connection: `a,b`, `prefix*`, `*`, "
        "`-excluded`.",
    )
    project_id: str | None = Field(
        default=None, description="Stream through `/p/<project_id>/results` when set."
    )
    query: str | None = Field(default=None, description="Extra `q` filter on the results.")
    start: int | None = Field(
        default=None,
        description="`stream_resume` (epoch ms) for the very first run; later runs resume from "
        "the checkpoint. Unset: from now.",
    )
    stop: int | None = Field(default=None, description="`stream_stop` (epoch ms), if any.")
    calls_per_window: int = Field(
        default=5, ge=1, description="Connections allowed a window (the vendor allows 5 a minute)."
    )
    window_s: float = Field(default=60.0, gt=0, description="The rate-limit window in seconds.")
    commit_interval_ms: int = Field(
        default=250, ge=10, description="Longest a result waits before its transaction commits."
    )
    max_batch: int = Field(default=5000, ge=1, description="Results a transaction at most.")
    stall_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="No byte (keep-alives included) for this long ends the connection.",
    )
    backoff_max_s: float = Field(
        default=300.0, gt=0, description="Longest backoff between reconnects."
    )
    credits_wait_s: float = Field(
        default=900.0, gt=0, description="Wait before retrying after 'no credits left'."
    )
    lease_session_timeout_ms: int = Field(
        default=10_000,
        ge=1000,
        description="How soon a standby takes over a dead writer; must lie within the broker's "
        "group.min/max.session.timeout.ms (6 s to 30 min by default).",
    )
    gzip: bool = Field(default=True, description="Ask for a gzip-compressed stream.")
    management_calls_per_window: int = Field(
        default=20,
        ge=1,
        description="Stream/rule/quota management calls a window, per endpoint (the vendor "
        "allows 20 a minute).",
    )
    management_window_s: float = Field(
        default=60.0, gt=0, description="The management rate-limit window in seconds."
    )


class InsightsTrackSettings(UpstreamSettings):
    """The InsightsTrack source (`socialstream run insightstrack`) and its rules API."""

    base_url: str = Field(default="https://data-api.x.com", description="InsightsTrack base URL.")
    account: str = Field(default="", description="Account name in the stream and rules URLs.")
    label: str = Field(default="prod", description="Stream label in the stream and rules URLs.")
    bearer_token: SecretStr | None = Field(
        default=None, description="OAuth 2.0 bearer token (always redacted)."
    )
    stall_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="No byte (keep-alives come every 3 s) for this long ends the connection.",
    )
    network_backoff_s: float = Field(
        default=0.25, gt=0, description="First wait after a network error (grows linearly)."
    )
    network_backoff_max_s: float = Field(default=16.0, gt=0, description="Its ceiling.")
    http_backoff_s: float = Field(
        default=5.0, gt=0, description="First wait after an HTTP error such as 503 (doubles)."
    )
    http_backoff_max_s: float = Field(default=320.0, gt=0, description="Its ceiling.")
    rate_limit_backoff_s: float = Field(
        default=60.0, gt=0, description="First wait after a 429 (doubles)."
    )
    rate_limit_backoff_max_s: float = Field(default=960.0, gt=0, description="Its ceiling.")
    dedup_window: int = Field(
        default=200_000,
        ge=1000,
        description="Recent event ids remembered to drop what a reconnect resends.",
    )
    commit_interval_ms: int = Field(
        default=250, ge=10, description="Longest an event waits before its transaction commits."
    )
    rules_per_window: int = Field(
        default=60, ge=1, description="Rules API requests a window (the vendor allows 60/min)."
    )
    rules_window_s: float = Field(default=60.0, gt=0, description="The rules rate window.")
    lease_session_timeout_ms: int = Field(
        default=10_000, ge=1000, description="How soon a standby takes over a dead writer."
    )


MonitorMetricName = Literal[
    "details",
    "audit",
    "training_posts",
    "word_cloud",
    "interest_affinities",
    "topics",
    "topic_waves",
    "top_sources",
    "image_results",
    "volume",
    "dayandtime",
    "sentiment_and_categories",
    "posts",
    "age",
    "ethnicity",
    "gender",
    "cities",
    "states",
    "countries",
    "twitter_authors",
    "twitter_metrics",
    "twitter_followers",
    "twitter_sent_posts",
    "twitter_engagement",
    "facebook_admin_posts",
    "facebook_likes",
    "facebook_activity",
    "instagram_top_hashtags",
    "instagram_followers",
    "instagram_sent_media",
    "instagram_activity",
]


def _default_metrics() -> list[MonitorMetricName]:
    return ["volume", "sentiment_and_categories"]


class MonitorJob(BaseModel):
    """One line of the monitors schedule: which monitors, which metrics, how often."""

    monitors: list[int] = Field(min_length=1, description="Monitor (or monitor filter) ids.")
    metrics: list[MonitorMetricName] = Field(
        default_factory=lambda: _default_metrics(),
        description="Metrics, named as hexpy's MonitorAPI methods.",
    )
    every_s: float = Field(default=900.0, gt=0, description="Seconds between polls.")
    repoll_days: int = Field(
        default=3, ge=0, description="Trailing days re-fetched each poll to pick up revisions."
    )
    first_day: date | None = Field(
        default=None,
        description="First day of the very first poll; later polls resume from the checkpoint. "
        "Unset: today minus repoll_days.",
    )
    group_by: Literal["HOURLY", "DAILY", "WEEKLY", "MONTHLY"] = Field(
        default="DAILY", description="`groupBy` of the volume metric."
    )
    country: str | None = Field(
        default=None, description="ISO 3166 alpha-3 country of the cities and states metrics."
    )


class MonitorsSettings(UpstreamSettings):
    """The Crimson Hexagon monitor poller (`socialstream run monitors`)."""

    base_url: str = Field(
        default="https://api.crimsonhexagon.com/api", description="Monitor API base URL."
    )
    token: SecretStr | None = Field(
        default=None, description="API token (sent as the `auth` parameter; always redacted)."
    )
    name: str = Field(default="default", description="Names this poller's checkpoint and lease.")
    schedule: list[MonitorJob] = Field(
        default_factory=list, description="What to poll (a YAML list, or JSON in the variable)."
    )
    calls_per_minute: int = Field(
        default=120, ge=1, description="Calls a minute at most (the API allows 120)."
    )
    max_range_days: int = Field(default=31, ge=1, description="Longest date range a request.")
    daily_call_budget: int | None = Field(
        default=None,
        ge=1,
        description="Calls a UTC day at most; the poller stops before exceeding it and says so.",
    )
    lease_session_timeout_ms: int = Field(
        default=10_000, ge=1000, description="How soon a standby takes over a dead writer."
    )


class SentimentQuery(BaseModel):
    """One sentiment series: the query parameters of GET /sentiment/history but the dates."""

    name: str = Field(description="A name for logs and `backfill sentiment --query`.")
    interval: str = Field(default="1h", description="Bucket size: minutes or `15m`, `1h`, `1d`...")
    category_id: int | None = Field(default=None, ge=1, description="`categoryId` filter.")
    topic_id: int | None = Field(default=None, ge=1, description="`topicId` filter.")
    source_type: Literal["news", "social"] | None = Field(default=None, description="`sourceType`.")
    domain: str | None = Field(default=None, description="`domain` filter.")
    lang: str | None = Field(default=None, description="`lang` (ISO 639-1).")
    keywords: list[str] = Field(default_factory=list, max_length=5, description="1 to 5 keywords.")
    keywords_condition: Literal["and", "or"] | None = Field(
        default=None, description="`keywordsCondition` (the API's default: and)."
    )

    def params(self) -> dict[str, Any]:
        """The vendor's parameter names; what the query hash of every bucket is made from."""
        params: dict[str, Any] = {
            "interval": self.interval,
            "categoryId": self.category_id,
            "topicId": self.topic_id,
            "sourceType": self.source_type,
            "domain": self.domain,
            "lang": self.lang,
            "keywords": list(self.keywords),
            "keywordsCondition": self.keywords_condition,
        }
        return {k: v for k, v in params.items() if v not in (None, [])}


class SentimentSettings(UpstreamSettings):
    """The sentiment-history poller (`socialstream run sentiment`)."""

    base_url: str = Field(default="https://api.example.com", description="API base URL.")
    token: SecretStr | None = Field(default=None, description="Bearer token (always redacted).")
    api_version: str = Field(default="v1", description="Sent as the `X-Api-Version` header.")
    name: str = Field(default="default", description="Names this poller's checkpoint and lease.")
    queries: list[SentimentQuery] = Field(default_factory=list, description="Series to poll.")
    every_s: float = Field(default=60.0, gt=0, description="Seconds between polls.")
    repoll_minutes: int = Field(
        default=120, ge=0, description="Trailing minutes re-fetched each poll (revisions)."
    )
    first_lookback_minutes: int = Field(
        default=60,
        ge=1,
        description="How far back the very first poll starts (the API keeps 15 days).",
    )
    page_limit: int = Field(default=1000, ge=1, le=1000, description="`limit` a page (max 1000).")
    daily_credit_budget: int | None = Field(
        default=None,
        ge=5,
        description="Credits a UTC day at most (5 a call); stops before exceeding it and says so.",
    )
    calls_per_minute: int = Field(default=60, ge=1, description="Calls a minute at most.")
    lease_session_timeout_ms: int = Field(
        default=10_000, ge=1000, description="How soon a standby takes over a dead writer."
    )


class QuixProcessorSettings(BaseModel):
    """What every processor on Quix Streams sets of its application."""

    consumer_group: str = Field(
        description="Consumer group; instances in one group split the partitions."
    )
    commit_interval_s: float = Field(
        default=0.5, gt=0, description="How often the transaction commits (latency vs cost)."
    )
    poll_timeout_s: float = Field(
        default=0.05,
        gt=0,
        description="Longest one poll for input waits. Reading several topics (or repartition "
        "topics) in timestamp order, the framework polls again whenever one partition's buffer is "
        "empty and waits this long unless a full batch comes: at its own default (1 s) those "
        "waits were half the sentiment join's time.",
    )
    state_dir: str = Field(
        default="state", description="Local state directory of the stream-processing framework."
    )


class EnrichmentSettings(QuixProcessorSettings):
    """The enrichment processor (`socialstream run enrichment`)."""

    consumer_group: str = Field(
        default="socialstream-enrichment",
        description="Consumer group; instances in one group split the partitions.",
    )
    sentiment_routes: dict[str, str] = Field(
        default_factory=dict,
        description="Matched stream id or rule id -> name of the sentiment query (in "
        "`sentiment.queries`) whose series the document is joined with.",
    )
    default_sentiment_query: str | None = Field(
        default=None, description="Sentiment query of documents no route matches."
    )


class SentimentJoinSettings(QuixProcessorSettings):
    """The sentiment-join processor (`socialstream run sentiment-join`)."""

    consumer_group: str = Field(
        default="socialstream-sentiment-join",
        description="Consumer group; instances in one group split the partitions.",
    )
    grace_s: float = Field(
        default=900.0,
        ge=0,
        description="How far (event time) a query's sentiment series may lag its documents: a "
        "document waits for its bucket until the query's clock passes the bucket's end plus this.",
    )
    max_wait_s: float = Field(
        default=600.0,
        ge=0,
        description="Longest wall-clock wait for a bucket before a document is emitted without.",
    )
    retention_hours: float = Field(
        default=16 * 24.0, gt=0, description="Buckets older than this (event time) are dropped."
    )
    state_dir: str = Field(
        default="state", description="Local state directory (restored from changelog topics)."
    )


WRITEBACK_FIELDS = (
    "title",
    "content",
    "published",
    "lang",
    "sentiment",
    "reach",
    "engagement",
    "+tags_customer",
)


class WritebackSettings(BaseModel):
    """The write-back processor (`socialstream run writeback`), to Talkwalker's documents API.

    It calls `talkwalker.base_url` with `talkwalker.access_token`."""

    project_id: str | None = Field(
        default=None, description="Talkwalker project written to (default: talkwalker.project_id)."
    )
    consumer_group: str = Field(
        default="socialstream-writeback",
        description="Consumer group; instances in one group split the partitions.",
    )
    instance_id: str | None = Field(
        default=None,
        description="This instance's name: its transactional id and static group membership "
        "(default: the host name). Keep it stable across restarts and unique among instances: a "
        "restart then fences what the old one left open and gets its partitions back at once.",
    )
    operation: Literal["create", "update"] = Field(
        default="create",
        description="`create` imports (overwrites the document with the same URL, so a resend "
        "is harmless); `update` changes documents already in the project.",
    )
    fields: list[str] = Field(
        default_factory=lambda: list(WRITEBACK_FIELDS),
        description="Talkwalker fields sent (url always is): title, content, published, lang, "
        "sentiment, reach, engagement, +tags_customer (the joined sentiment as a tag).",
    )
    sources: list[str] = Field(
        default_factory=lambda: ["TALKWALKER", "INSIGHTSTRACK"],
        description="Document sources written back; others get a SKIPPED outcome.",
    )
    join_statuses: list[str] = Field(
        default_factory=lambda: ["JOINED", "NO_SENTIMENT", "GRACE_EXPIRED"],
        description="Join statuses written back; others get a SKIPPED outcome.",
    )
    content_max_chars: int | None = Field(
        default=50_000,
        ge=1,
        description="Content is cut to this many characters (the vendor keeps < 50,000); "
        "null sends it whole.",
    )
    max_request_bytes: int = Field(
        default=5120 * 1024,
        ge=1024,
        le=5120 * 1024,
        description="Largest bulk request body (the vendor refuses more than 5120 kB).",
    )
    max_operations: int = Field(default=1000, ge=1, description="Operations a bulk request.")
    linger_ms: int = Field(
        default=200, ge=0, description="Longest a document waits for its request to fill up."
    )
    max_in_flight: int = Field(default=2, ge=1, description="Bulk requests in flight at once.")
    max_pending: int = Field(
        default=20_000,
        ge=1,
        description="Documents read but not yet committed with their outcome; past it the "
        "consumer pauses (backpressure instead of unbounded buffering).",
    )
    max_attempts: int = Field(
        default=10,
        ge=1,
        description="Attempts of an operation the vendor fails with a retryable code before it "
        "goes to writeback.dlq.",
    )
    retry_backoff_max_s: float = Field(
        default=60.0, gt=0, description="Longest wait before retrying a failed operation."
    )
    request_timeout_s: float = Field(default=60.0, gt=0, description="HTTP timeout a request.")
    commit_interval_ms: int = Field(
        default=500, ge=10, description="How often final outcomes and offsets are committed."
    )

    @model_validator(mode="after")
    def _creatable(self) -> WritebackSettings:
        unknown = sorted(set(self.fields) - set(WRITEBACK_FIELDS))
        if unknown:
            raise ValueError(f"writeback.fields: unknown {unknown}; known: {WRITEBACK_FIELDS}")
        if self.operation == "create" and not {"content", "published"} <= set(self.fields):
            raise ValueError("writeback.fields must include content and published to create")
        return self


class Settings(BaseSettings):
    """Everything a socialstream component can be told."""

    model_config = SettingsConfigDict(
        env_prefix="SOCIALSTREAM_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    schema_registry: SchemaRegistrySettings = Field(default_factory=SchemaRegistrySettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)
    shutdown: ShutdownSettings = Field(default_factory=ShutdownSettings)
    talkwalker: TalkwalkerSettings = Field(default_factory=TalkwalkerSettings)
    insightstrack: InsightsTrackSettings = Field(default_factory=InsightsTrackSettings)
    monitors: MonitorsSettings = Field(default_factory=MonitorsSettings)
    sentiment: SentimentSettings = Field(default_factory=SentimentSettings)
    enrichment: EnrichmentSettings = Field(default_factory=EnrichmentSettings)
    sentiment_join: SentimentJoinSettings = Field(default_factory=SentimentJoinSettings)
    writeback: WritebackSettings = Field(default_factory=WritebackSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Precedence: explicit arguments, environment, the YAML file, defaults."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            path = Path(config_file)
            if not path.is_file():
                raise FileNotFoundError(f"{CONFIG_FILE_ENV} names {path}, which is not a file")
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        sources.append(file_secret_settings)
        return tuple(sources)

    def secret_values(self) -> list[str]:
        """Every configured secret, so that log redaction can scrub them wherever they appear."""
        found: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, SecretStr):
                if value.get_secret_value():
                    found.append(value.get_secret_value())
            elif isinstance(value, BaseModel):
                for name in type(value).model_fields:
                    walk(getattr(value, name))
            elif isinstance(value, dict):
                for key, item in value.items():
                    if isinstance(item, str) and is_secret_property(str(key)) and item:
                        found.append(item)
                    else:
                        walk(item)

        walk(self)
        return found

    def masked(self) -> dict[str, Any]:
        """The settings as plain data with every secret replaced by `**********`."""
        data = self.model_dump(mode="json")
        properties = data["kafka"]["properties"]
        for key in properties:
            if is_secret_property(key):
                properties[key] = "**********"
        return data
