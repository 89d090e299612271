"""`socialstream talkwalker streams apply FILE`: streams and rules declared in YAML, reconciled.

The file says what should exist; `plan` compares it with what the account has and lists each
change (a dry run prints them and stops), `apply_plan` makes them, in an order that never
exceeds the account's rule limit on the way (deletions first). Streams the file does not name
are left alone unless `prune` is set, as infrastructure-as-code tools do with unmanaged objects.

    streams:
      brand-news:
        enabled: true            # default true
        rules:
          rule-1: "cats AND dogs"
          rule-2: "lang:de"
        quota:                   # optional; a stream without one has its quota removed
          allowance: 1000
          reset: daily           # hourly | daily | weekly | monthly
          timezone: UTC
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from socialstream.connectors.talkwalker.management_client import ManagementClient


class PlanFileError(ValueError):
    """The declared file cannot be read; the message says where."""


class DeclaredQuota(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowance: int = Field(ge=0)
    reset: Literal["hourly", "daily", "weekly", "monthly"]
    timezone: str = "UTC"
    reference_time: str | int | None = None


class DeclaredStream(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    rules: dict[str, str] = Field(default_factory=dict)
    quota: DeclaredQuota | None = None


class Declared(BaseModel):
    model_config = ConfigDict(extra="forbid")

    streams: dict[str, DeclaredStream] = Field(default_factory=dict)


def load(path: Path) -> Declared:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Declared.model_validate(data)
    except OSError as exc:
        raise PlanFileError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PlanFileError(f"{path} is not valid YAML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise PlanFileError(f"{path}: {problems}") from None


class Kind(StrEnum):
    CREATE_STREAM = "create_stream"
    DELETE_STREAM = "delete_stream"
    ADD_RULE = "add_rule"
    UPDATE_RULE = "update_rule"
    REMOVE_RULE = "remove_rule"
    ENABLE = "enable"
    DISABLE = "disable"
    SET_QUOTA = "set_quota"
    REMOVE_QUOTA = "remove_quota"
    UNMANAGED = "unmanaged"  # reported, not changed (without --prune)


# The order changes are made in: what frees rules first, what needs the stream last.
ORDER = [
    Kind.DELETE_STREAM,
    Kind.REMOVE_RULE,
    Kind.CREATE_STREAM,
    Kind.UPDATE_RULE,
    Kind.ADD_RULE,
    Kind.SET_QUOTA,
    Kind.REMOVE_QUOTA,
    Kind.ENABLE,
    Kind.DISABLE,
    Kind.UNMANAGED,
]


@dataclass
class Change:
    kind: Kind
    stream: str
    rule: str | None = None
    before: Any = None
    after: Any = None

    def describe(self) -> str:
        k, s = self.kind, self.stream
        if k is Kind.CREATE_STREAM:
            state = "enabled" if self.after["enabled"] else "disabled"
            return f"+ stream {s} ({state}, {len(self.after['rules'])} rules)"
        if k is Kind.DELETE_STREAM:
            return f"- stream {s} ({len(self.before)} rules)"
        if k is Kind.ADD_RULE:
            return f"+ rule {s}/{self.rule}: {self.after!r}"
        if k is Kind.UPDATE_RULE:
            return f"~ rule {s}/{self.rule}: {self.before!r} -> {self.after!r}"
        if k is Kind.REMOVE_RULE:
            return f"- rule {s}/{self.rule}: {self.before!r}"
        if k in (Kind.ENABLE, Kind.DISABLE):
            return f"~ stream {s}: {k.value}"
        if k is Kind.SET_QUOTA:
            return f"~ quota {s}: {_quota_text(self.before)} -> {_quota_text(self.after)}"
        if k is Kind.REMOVE_QUOTA:
            return f"- quota {s}: {_quota_text(self.before)}"
        return f"  stream {s} is not in the file (kept; --prune deletes it)"

    def as_dict(self) -> dict[str, Any]:
        return {
            "change": self.kind.value,
            "stream": self.stream,
            "rule": self.rule,
            "before": self.before,
            "after": self.after,
        }


def _quota_text(quota: dict[str, Any] | None) -> str:
    if not quota:
        return "none"
    return f"{quota.get('allowance')} {quota.get('reset')} ({quota.get('timezone', 'UTC')})"


def _quota_differs(current: dict[str, Any] | None, wanted: DeclaredQuota) -> bool:
    if current is None:
        return True
    if (current.get("allowance"), current.get("reset"), current.get("timezone", "UTC")) != (
        wanted.allowance,
        wanted.reset,
        wanted.timezone,
    ):
        return True
    return wanted.reference_time is not None and str(wanted.reference_time) != str(
        current.get("reference_time")
    )


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    unchanged_rules: int = 0

    @property
    def actionable(self) -> list[Change]:
        return [c for c in self.changes if c.kind is not Kind.UNMANAGED]


def plan(client: ManagementClient, declared: Declared, prune: bool = False) -> Plan:
    """The changes that make the account hold exactly what `declared` says."""
    result = Plan()
    existing = client.stream_ids()
    for stream_id in existing:
        if stream_id in declared.streams:
            continue
        if prune:
            rules = client.stream(stream_id).rules
            result.changes.append(Change(Kind.DELETE_STREAM, stream_id, before=rules))
        else:
            result.changes.append(Change(Kind.UNMANAGED, stream_id))
    for stream_id, wanted in declared.streams.items():
        quota = wanted.quota.model_dump(exclude_none=True) if wanted.quota else None
        if stream_id not in existing:
            after = {"enabled": wanted.enabled, "rules": dict(wanted.rules)}
            result.changes.append(Change(Kind.CREATE_STREAM, stream_id, after=after))
            if quota:
                result.changes.append(Change(Kind.SET_QUOTA, stream_id, after=quota))
            continue
        current = client.stream(stream_id)
        for rule_id, query in current.rules.items():
            if rule_id not in wanted.rules:
                result.changes.append(Change(Kind.REMOVE_RULE, stream_id, rule_id, before=query))
        for rule_id, query in wanted.rules.items():
            before = current.rules.get(rule_id)
            if before is None:
                result.changes.append(Change(Kind.ADD_RULE, stream_id, rule_id, after=query))
            elif before != query:
                result.changes.append(
                    Change(Kind.UPDATE_RULE, stream_id, rule_id, before=before, after=query)
                )
            else:
                result.unchanged_rules += 1
        if current.enabled is not wanted.enabled:
            kind = Kind.ENABLE if wanted.enabled else Kind.DISABLE
            result.changes.append(Change(kind, stream_id, before=current.enabled))
        current_quota = client.quota(stream_id)
        if wanted.quota is not None and _quota_differs(current_quota, wanted.quota):
            result.changes.append(
                Change(Kind.SET_QUOTA, stream_id, before=current_quota, after=quota)
            )
        elif wanted.quota is None and current_quota is not None:
            result.changes.append(Change(Kind.REMOVE_QUOTA, stream_id, before=current_quota))
    result.changes.sort(key=lambda c: ORDER.index(c.kind))
    return result


def apply_plan(client: ManagementClient, planned: Plan) -> list[Change]:
    """Make the changes in order; returns those made (an error stops it and propagates)."""
    done: list[Change] = []
    for change in planned.actionable:
        k, s = change.kind, change.stream
        if k is Kind.DELETE_STREAM:
            client.delete_stream(s)
        elif k is Kind.REMOVE_RULE:
            client.delete_rule(s, str(change.rule))
        elif k is Kind.CREATE_STREAM:
            client.create_stream(s, change.after["rules"], change.after["enabled"])
        elif k in (Kind.ADD_RULE, Kind.UPDATE_RULE):
            client.put_rule(s, str(change.rule), str(change.after))
        elif k is Kind.SET_QUOTA:
            client.set_quota(s, change.after)
        elif k is Kind.REMOVE_QUOTA:
            client.delete_quota(s)
        elif k in (Kind.ENABLE, Kind.DISABLE):
            client.set_enabled(s, k is Kind.ENABLE)
        done.append(change)
    return done
