"""`insightstrack rules sync` against the simulator's rules API: serial, batched, limited."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

from socialstream.simulators.insightstrack import EventScript, InsightsTrackSimulator

TOKEN = "it-sim-token"


def _run(sim: InsightsTrackSimulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SOCIALSTREAM_INSIGHTSTRACK__BASE_URL": sim.url,
        "SOCIALSTREAM_INSIGHTSTRACK__ACCOUNT": "acme",
        "SOCIALSTREAM_INSIGHTSTRACK__LABEL": "prod",
        "SOCIALSTREAM_INSIGHTSTRACK__BEARER_TOKEN": TOKEN,
        "SOCIALSTREAM_OUTPUT": "json",
    }
    return subprocess.run(
        [sys.executable, "-m", "socialstream", "insightstrack", "rules", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_sync_of_3500_ids_with_7_invalid(tmp_path: Path) -> None:
    rng = random.Random(5)
    ids = rng.sample(range(10**6, 10**12), 3500)
    invalid = set(rng.sample(ids, 7))
    declared = tmp_path / "users.txt"
    declared.write_text(
        "# monitored accounts\n"
        + "\n".join(f"from:{i}" if n % 2 else str(i) for n, i in enumerate(ids))
        + "\n"
    )
    script = EventScript(count=1, users=(42,))  # the stream starts with one stale rule
    with InsightsTrackSimulator(script, rule_processing_s=0.05, invalid_user_ids=invalid) as sim:
        dry = _run(sim, "sync", "--from", str(declared), "--dry-run", "--ignore-revokes")
        assert dry.returncode == 0, dry.stderr
        plan = json.loads(dry.stdout)
        assert len(plan["to_add"]) == 3500 and plan["to_remove"] == ["from:42"]
        assert sim.state.rules == {"from:42"}  # a dry run changes nothing

        result = _run(sim, "sync", "--from", str(declared), "--ignore-revokes")
        calls = list(sim.state.rule_calls)
        final = set(sim.state.rules)
        concurrent = sim.state.concurrent_rejected
        limited = sim.state.rate_limited

    assert result.returncode == 1  # invalid rules make the command fail, after adding the rest
    report = json.loads(result.stdout)
    assert sorted(report["invalid"]) == sorted(f"from:{i}" for i in invalid)
    assert final == {f"from:{i}" for i in ids} - {f"from:{i}" for i in invalid}
    assert report["removed"] == ["from:42"]
    # The vendor's terms, from the simulator's own log:
    assert concurrent == 0 and limited == 0  # serial, within the rate limit
    assert all(n <= 1000 for _, _, n, _ in calls)
    times = sorted(t for t, *_ in calls)
    assert all(sum(1 for u in times if 0 <= u - t < 60) <= 60 for t in times)
    statuses = [status for *_, status in calls]
    assert statuses.count(422) >= 1  # batches with invalid rules failed whole, then were re-sent
    assert "it-sim-token" not in result.stdout + result.stderr
