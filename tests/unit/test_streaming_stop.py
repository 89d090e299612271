"""A stop requested while a Quix application starts is kept: Quix marks the application running
after its signal handlers are installed, which used to undo a SIGTERM that came in between."""

from __future__ import annotations

from pathlib import Path

from quixstreams import Application

from socialstream.runtime.streaming import _keep_early_stop


def _app(tmp_path: Path) -> Application:
    return Application(
        broker_address="127.0.0.1:1", consumer_group="g", state_dir=str(tmp_path), loglevel=None
    )


def test_a_stop_before_the_app_runs_is_kept(tmp_path: Path) -> None:
    app = _app(tmp_path)
    _keep_early_stop(app, lambda: True)
    app._run_tracker.set_as_running()  # type: ignore[no-untyped-call]  # as app.run() does
    assert app._run_tracker.running is False


def test_without_a_stop_the_app_runs(tmp_path: Path) -> None:
    app = _app(tmp_path)
    _keep_early_stop(app, lambda: False)
    app._run_tracker.set_as_running()  # type: ignore[no-untyped-call]
    assert app._run_tracker.running is True
