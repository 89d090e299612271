"""`socialstream talkwalker ...` against the Talkwalker simulator over HTTP: streams apply with a
dry-run diff, the single commands, quotas, resources, rate limits and vendor errors in words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from socialstream.runtime.cli import app
from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator
from socialstream.simulators.talkwalker.management import Quota, query_problem

WINDOW_S = 3.0


@pytest.fixture
def sim() -> Iterator[TalkwalkerSimulator]:
    simulator = TalkwalkerSimulator(
        Corpus(streams=("legacy",)), management_calls_per_window=20, management_window_s=WINDOW_S
    )
    with simulator:
        yield simulator


def cli(sim: TalkwalkerSimulator, *args: str, code: int = 0) -> Any:
    env = {
        "SOCIALSTREAM_TALKWALKER__BASE_URL": sim.url,
        "SOCIALSTREAM_TALKWALKER__ACCESS_TOKEN": sim.token,
        "SOCIALSTREAM_TALKWALKER__PROJECT_ID": sim.project_id,
        "SOCIALSTREAM_TALKWALKER__MANAGEMENT_WINDOW_S": str(WINDOW_S),
        "SOCIALSTREAM_LOG__LEVEL": "WARNING",
        "SOCIALSTREAM_OUTPUT": "text",  # a person's tables unless --json
    }
    result = CliRunner().invoke(app, ["talkwalker", *args], env=env)
    assert result.exit_code == code, result.output
    if "--json" in args and code == 0:
        return json.loads(result.stdout)
    return result.output


def held(sim: TalkwalkerSimulator) -> dict[str, Any]:
    """What the simulator holds, in the declared file's shape."""
    out: dict[str, Any] = {}
    for stream_id, stream in sim.registry.streams.items():
        entry: dict[str, Any] = {"enabled": stream.enabled, "rules": dict(stream.rules)}
        if stream.quota is not None:
            entry["quota"] = {
                "allowance": stream.quota.allowance,
                "reset": stream.quota.reset,
                "timezone": stream.quota.timezone,
            }
        out[stream_id] = entry
    return out


def declared(tmp_path: Path, streams: dict[str, Any]) -> Path:
    path = tmp_path / "streams.yaml"
    path.write_text(yaml.safe_dump({"streams": streams}))
    return path


FIRST: dict[str, Any] = {
    "brand": {
        "rules": {f"brand-{n}": f"acme AND topic{n}" for n in range(5)},
        "quota": {"allowance": 1000, "reset": "daily", "timezone": "UTC"},
    },
    "competitors": {"rules": {f"comp-{n}": f'"globex corp" OR initech{n}' for n in range(4)}},
    "press": {"enabled": False, "rules": {f"press-{n}": f"lang:de AND press{n}" for n in range(3)}},
}


def with_defaults(streams: dict[str, Any]) -> dict[str, Any]:
    return {
        s: {
            "enabled": v.get("enabled", True),
            "rules": v["rules"],
            **({"quota": v["quota"]} if "quota" in v else {}),
        }
        for s, v in streams.items()
    }


def test_streams_apply_reconciles_and_the_dry_run_names_each_change(
    sim: TalkwalkerSimulator, tmp_path: Path
) -> None:
    path = declared(tmp_path, FIRST)
    plan = cli(sim, "streams", "apply", str(path), "--dry-run", "--prune", "--json")
    kinds = sorted((c["change"], c["stream"]) for c in plan["changes"])
    assert ("delete_stream", "legacy") in kinds
    assert [k for k in kinds if k[0] == "create_stream"] == [
        ("create_stream", "brand"),
        ("create_stream", "competitors"),
        ("create_stream", "press"),
    ]
    assert "legacy" in sim.registry.streams  # a dry run changes nothing
    cli(sim, "streams", "apply", str(path), "--prune")
    assert held(sim) == with_defaults(FIRST)  # 3 streams, 12 rules, one quota

    second = json.loads(json.dumps(FIRST))
    second["brand"]["rules"]["brand-0"] = "acme AND (launch OR release)"  # update
    del second["brand"]["rules"]["brand-4"]  # remove
    second["brand"]["quota"]["allowance"] = 2000  # quota change
    second["competitors"]["rules"]["comp-9"] = "hooli"  # add
    second["press"]["enabled"] = True  # enable
    path = declared(tmp_path, second)
    text = cli(sim, "streams", "apply", str(path), "--dry-run")
    lines = text.splitlines()
    assert "~ rule brand/brand-0: 'acme AND topic0' -> 'acme AND (launch OR release)'" in lines
    assert "- rule brand/brand-4: 'acme AND topic4'" in lines
    assert "+ rule competitors/comp-9: 'hooli'" in lines
    assert "~ stream press: enable" in lines
    assert "~ quota brand: 1000 daily (UTC) -> 2000 daily (UTC)" in lines
    assert lines[-1].startswith("would make 5 change(s); 10 rule(s) unchanged")
    assert held(sim) == with_defaults(FIRST)
    cli(sim, "streams", "apply", str(path))
    assert held(sim) == with_defaults(second)
    again = cli(sim, "streams", "apply", str(path), "--json")
    assert again["changes"] == []  # converged
    assert sim.management.rate_limited == 0  # the client kept to 20 calls a window


def test_unmanaged_streams_are_kept_without_prune(sim: TalkwalkerSimulator, tmp_path: Path) -> None:
    path = declared(tmp_path, {"one": {"rules": {"r": "cats"}}})
    text = cli(sim, "streams", "apply", str(path))
    assert "stream legacy is not in the file (kept; --prune deletes it)" in text
    assert set(sim.registry.streams) == {"legacy", "one"}


def test_single_commands_and_their_output(sim: TalkwalkerSimulator) -> None:
    cli(sim, "streams", "create", "news", "--rule", "r1=cats", "--rule", "r2=dogs OR birds")
    listed = cli(sim, "streams", "list", "--json")["streams"]
    assert {s["stream_id"]: len(s["rules"]) for s in listed} == {"legacy": 2, "news": 2}
    cli(sim, "rules", "add", "news", "r3", "lang:fr")
    out = cli(sim, "rules", "add", "news", "r3", "lang:de", code=1)
    assert "already has a rule r3" in out
    cli(sim, "rules", "update", "news", "r3", "lang:de")
    cli(sim, "rules", "remove", "news", "r1")
    assert sim.registry.streams["news"].rules == {"r2": "dogs OR birds", "r3": "lang:de"}
    cli(sim, "streams", "disable", "news")
    assert sim.registry.streams["news"].enabled is False
    cli(sim, "streams", "enable", "news")
    cli(sim, "quota", "set", "news", "--allowance", "50", "--reset", "hourly")
    sim.registry.streams["news"].quota.usage = 50  # type: ignore[union-attr]
    shown = cli(sim, "quota", "show", "news", "--json")["quota"]
    assert shown["status"] == "inactive" and shown["allowance"] == 50
    cli(sim, "quota", "reset", "news")
    assert cli(sim, "quota", "show", "news", "--json")["quota"]["usage"] == 0
    cli(sim, "quota", "remove", "news")
    assert sim.registry.streams["news"].quota is None
    table = cli(sim, "streams", "show", "news")
    assert "r2" in table and "dogs OR birds" in table
    resources = cli(sim, "resources", "list", "--type", "search", "--json")["resources"]
    assert {r["id"] for r in resources} == {"search|1", "search|1|1", "search|1|2"}
    cli(sim, "streams", "delete", "news")
    assert "news" not in sim.registry.streams


def test_vendor_errors_are_shown_in_words(sim: TalkwalkerSimulator, tmp_path: Path) -> None:
    out = cli(sim, "rules", "add", "legacy", "bad", "cats AND", code=1)
    assert "Error in query" in out and "cannot start or end with AND" in out
    out = cli(sim, "streams", "show", "missing", code=1)
    assert "error 15 (Wrong stream id. No such stream defined)" in out
    out = cli(sim, "streams", "create", "legacy", code=1)
    assert "A stream with this name already exists" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("streams:\n  s:\n    rulez: {}\n")
    assert "rulez" in cli(sim, "streams", "apply", str(bad), code=2)
    assert sim.token not in out


def test_query_check_and_quota_periods() -> None:
    assert query_problem('"acme corp" AND (launch OR release)') is None
    assert query_problem("(cats") == "unbalanced parentheses"
    assert query_problem('"cats') == "unbalanced quotes"
    assert query_problem("cats OR OR dogs") == "OR followed by OR"
    now = datetime(2026, 11, 23, 13, 45, tzinfo=UTC)
    ref = int(datetime(2015, 1, 1, 6, 30, tzinfo=UTC).timestamp() * 1000)
    assert Quota(1, "hourly", reference_time=ref).period(now)[0].minute == 30
    start, end = Quota(1, "daily", reference_time=ref).period(now)
    assert (start.hour, start.day, end.day) == (6, 23, 24)
    start, end = Quota(1, "monthly", reference_time=ref).period(now)
    assert (start.month, start.day, end.month) == (11, 1, 12)
    start, _ = Quota(1, "weekly", reference_time=ref).period(now)  # 2015-01-01 was a Thursday
    assert start.weekday() == 3 and start <= now.astimezone(start.tzinfo)


def test_apply_waits_for_the_rate_limit_instead_of_hitting_it(
    sim: TalkwalkerSimulator, tmp_path: Path
) -> None:
    import time

    cli(sim, "streams", "create", "big", "--rule", "r0=cats")
    rules = {f"r{n}": f"cats AND topic{n}" for n in range(30)}
    path = declared(tmp_path, {"big": {"rules": rules}, "legacy": {"rules": {}}})
    started = time.monotonic()
    cli(sim, "streams", "apply", str(path))
    assert time.monotonic() - started >= WINDOW_S  # 30 rule calls > 20 a window: it waited
    assert sim.management.rate_limited == 0
    assert sim.registry.streams["big"].rules == rules


def test_a_call_limit_answer_is_waited_out_and_retried(tmp_path: Path) -> None:
    strict = TalkwalkerSimulator(Corpus(), management_calls_per_window=3, management_window_s=1.0)
    with strict:
        for n in range(6):  # the client allows 20 a window; the server only 3
            cli(strict, "rules", "add", "stream-a", f"extra-{n}", f"cats{n}")
        assert strict.management.rate_limited > 0
        assert {f"extra-{n}" for n in range(6)} <= set(strict.registry.streams["stream-a"].rules)
