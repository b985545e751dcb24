"""The query embedder, loaded once per process and shared by every request.

A model loads in seconds, so the console keeps one per (model, folder). Encoding is serialised
by a lock: one encoder on two cores is faster than two fighting over them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nlp.embed import Embedder

_lock = threading.Lock()
_loaded: dict[tuple[str, str], Embedder] = {}


class SerialEmbedder:
    """Wraps an embedder so that only one thread encodes at a time."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self._lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return self.inner.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return self.inner.embed_passages(texts)


def shared_embedder(model: str, models_dir: Path) -> Embedder:
    key = (model, str(models_dir))
    with _lock:
        if key not in _loaded:
            from nlp.embed import load_embedder

            _loaded[key] = SerialEmbedder(load_embedder(model, models_dir))
        return _loaded[key]
