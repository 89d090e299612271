"""Language identification where the vendor gives none, with a real model (py3langid).

py3langid ships its model in the wheel (no download at run time), classifies a short text in tens
of microseconds and covers 97 languages; a text too short to judge gets no language rather than
a guess.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

MIN_CHARS = 12
MIN_CONFIDENCE = 0.5


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str | None) -> str | None:
    """ISO 639-1 code of `text`, or None when it is too short or the model is unsure."""
    if not text or len(text.strip()) < MIN_CHARS:
        return None
    language, confidence = _identifier().classify(text)
    return str(language) if confidence >= MIN_CONFIDENCE else None
