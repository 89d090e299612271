"""The README stays in step with the code: configuration reference, quick start, metrics."""

from __future__ import annotations

from pathlib import Path

from socialstream.runtime.config_reference import BEGIN, END, reference_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_configuration_reference_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == reference_markdown(), (
        "README.md is stale: paste the output of `socialstream config reference`"
    )


def test_readme_quick_start_is_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text


def test_readme_lists_every_exported_metric() -> None:
    from socialstream.runtime import metrics

    names = {value._name for value in vars(metrics).values() if hasattr(value, "_name")}
    names.add("socialstream_consumer_lag")
    readme = README.read_text()
    missing = {n for n in names if f"`{n}" not in readme}
    assert not missing, missing
