"""Turning fused match scores into probabilities, so one threshold means one precision.

The fused score of a (query, entry) pair (nlp/match.py) is a sum of standardised scores; on
its own it says "how far above the other candidates", not "how likely right". A Platt
calibration maps it to the probability that the entry is the right answer for the query,
fitted on labelled (query -> entry) pairs (data/labelled/): p = 1 / (1 + exp(-(a * s + b)))
with a > 0, so the probability rises with the fused score and the ranking is unchanged.

Beside the fused score it reads the candidate's margin: how far it stands above the best
other candidate of the same query (negative for all but the first). A wrong entry on a
neighbouring story can score as high as a right one in a library dense with neighbours; it
then stands close to them, which the margin sees. With the margin, held-out precision at the
threshold varies less between a sparse library and a dense one (bench/bench_matching.py). Its
weight is fitted with a and b and is never negative, so within a query the probability still
follows the fused score.

The calibration also carries the embedding model's background similarity (mean and spread
of the cosine between phrasings of unrelated entries): the fused score includes how far
the best phrasing stands above that background, which is what lets a score mean the same
for a query that matches nothing as for one that matches. And its language gap: a
multilingual model still puts two texts in different languages lower than the same two in
one language (multilingual-e5-small: unrelated phrasings 0.816 within a language, 0.782
across), so a cross-language similarity is raised by the gap before anything is compared.

A calibration belongs to one embedding model. `nlp/match_calibration.json` holds the
shipped ones (fitted on both labelled sets of data/labelled/ by `python -m nlp.evaluate
calibrate`); with a model that has none, scores fall back to an uncalibrated default and say
so. One calibration serves every library, but the fused score of a wrong entry is higher in
a library dense with neighbouring stories than in one with a single entry per story, so the
precision a threshold buys varies with the library (bench/bench_matching.py reports it on
the sparse demo library and on the hard set's denser one): a team with its own labelled
pairs should fit its own (`--pairs FILE --library FILE`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

CALIBRATION_FILE = Path(__file__).with_name("match_calibration.json")
# Candidates per labelled query that the calibration is fitted on (the matcher flags every
# candidate of its top-k against the threshold, not only the first).
FIT_CANDIDATES = 3


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of the fused score, and the model's background similarity."""

    model_id: str
    a: float
    b: float
    background_mean: float
    background_std: float
    fitted_on: str = ""
    pairs: int = 0
    # how much lower the model puts texts in two languages than in one (unrelated phrasings,
    # same language minus different languages): added to a cross-language similarity
    language_gap: float = 0.0
    # added to the logit when the evidence crosses languages (no phrasing of the entry is in
    # the query's language): BM25 cannot help there, so the same fused score means more
    cross_language: float = 0.0
    # weight of the margin (fused score minus the best other candidate's) in the logit
    margin_weight: float = 0.0

    @property
    def calibrated(self) -> bool:
        return bool(self.fitted_on)

    @property
    def id(self) -> str:
        margin = f":m{self.margin_weight:.4f}" if self.margin_weight else ""
        return f"platt:{self.a:.4f}:{self.b:.4f}{margin}@{self.fitted_on or 'uncalibrated'}"

    def probability(
        self,
        fused: np.ndarray | float,
        cross: np.ndarray | float = 0.0,
        margin: np.ndarray | float = 0.0,
    ) -> np.ndarray:
        """Probability that a candidate is right, from its fused score, how much of its
        evidence crossed languages (0 to 1) and its margin over the best other candidate."""
        logit = self.a * np.asarray(fused, dtype=np.float64) + self.b
        logit = logit + self.cross_language * np.asarray(cross, dtype=np.float64)
        logit = logit + self.margin_weight * np.asarray(margin, dtype=np.float64)
        return 1.0 / (1.0 + np.exp(-np.clip(logit, -50.0, 50.0)))

    def fused_at(self, probability: float, cross: float = 0.0, margin: float = 0.0) -> float:
        """The fused score whose probability is `probability` (the inverse of `probability`)."""
        p = min(max(probability, 1e-12), 1 - 1e-12)
        rest = self.b + self.cross_language * cross + self.margin_weight * margin
        return (math.log(p / (1 - p)) - rest) / self.a


def uncalibrated(
    model_id: str, background_mean: float, background_std: float, language_gap: float = 0.0
) -> Calibration:
    """A stand-in for a model nobody calibrated: a fused score of 6 maps to 0.5."""
    return Calibration(
        model_id, 1.0, -6.0, background_mean, background_std, language_gap=language_gap
    )


def fit_platt(scores: Sequence[float], labels: Sequence[bool]) -> tuple[float, float]:
    """(a, b) of p = sigmoid(a * s + b), by maximum likelihood with a little smoothing.

    Uses Platt's target smoothing (positives (n+ + 1) / (n+ + 2), negatives 1 / (n- + 2))
    so a separable sample does not drive a to infinity. Raises ValueError if the sample
    has no positive or no negative, or if the fit is not increasing.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    target = _targets(y)
    mean, std = s.mean(), s.std() or 1.0
    x = (s - mean) / std
    a, b = 1.0, 0.0
    for _ in range(100):  # Newton's method on the (convex) log-loss
        p = 1 / (1 + np.exp(-np.clip(a * x + b, -50, 50)))
        w = np.maximum(p * (1 - p), 1e-12)
        grad = np.array([np.sum((p - target) * x), np.sum(p - target)])
        hess = np.array([[np.sum(w * x * x), np.sum(w * x)], [np.sum(w * x), np.sum(w)]])
        step = np.linalg.solve(hess + 1e-9 * np.eye(2), grad)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    if not a > 0:
        raise ValueError("calibration is not increasing in the fused score: check the labels")
    # back to the unstandardised score
    return float(a / std), float(b - a * mean / std)


def fit_platt_with_margin(
    scores: Sequence[float], margins: Sequence[float], labels: Sequence[bool]
) -> tuple[float, float, float]:
    """(a, d, b) of p = sigmoid(a * s + d * m + b), by maximum likelihood with Platt's
    target smoothing; d is kept at 0 or above (a tie with another candidate must never make
    an entry likelier). Raises ValueError as `fit_platt` does."""
    s = np.asarray(scores, dtype=np.float64)
    m = np.asarray(margins, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    target = _targets(y)
    columns = [(s - s.mean()) / (s.std() or 1.0), (m - m.mean()) / (m.std() or 1.0)]
    x = np.stack([*columns, np.ones_like(s)], axis=1)
    w = _newton(x, target)
    if w[1] < 0:  # the margin adds nothing this sample can show: leave it out
        a, b = fit_platt(s, y)
        return a, 0.0, b
    a = w[0] / (s.std() or 1.0)
    d = w[1] / (m.std() or 1.0)
    b = w[2] - a * s.mean() - d * m.mean()
    if not a > 0:
        raise ValueError("calibration is not increasing in the fused score: check the labels")
    return float(a), float(d), float(b)


def _newton(x: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Logistic regression weights for the columns of x (log-loss, Newton's method)."""
    w = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -50, 50)))
        grad = x.T @ (p - target)
        hess = (x * np.maximum(p * (1 - p), 1e-12)[:, None]).T @ x
        step = np.linalg.solve(hess + 1e-9 * np.eye(len(w)), grad)
        w = w - step
        if np.abs(step).max() < 1e-10:
            break
    return w


def fit_cross_offset(
    scores: Sequence[float],
    labels: Sequence[bool],
    a: float,
    b: float,
    margins: Sequence[float] | None = None,
    margin_weight: float = 0.0,
) -> float:
    """c of p = sigmoid(a * s + d * m + b + c), fitted on cross-language candidates only,
    with the (a, d, b) fitted within one language held fixed."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    target = _targets(y)
    base = a * s + b
    if margins is not None:
        base = base + margin_weight * np.asarray(margins, dtype=np.float64)
    c = 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(base + c, -50, 50)))
        step = np.sum(p - target) / max(np.sum(p * (1 - p)), 1e-12)
        c -= step
        if abs(step) < 1e-10:
            break
    return float(c)


def _targets(y: np.ndarray) -> np.ndarray:
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("calibration needs both right and wrong candidates")
    return np.where(y, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))


def load_calibration(model_id: str, path: Path = CALIBRATION_FILE) -> Calibration | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    found = data.get(model_id)
    if not found:
        return None
    known = {f.name for f in fields(Calibration)}  # a newer file may carry more fields
    return Calibration(**{k: v for k, v in found.items() if k in known})


def save_calibration(calibration: Calibration, path: Path = CALIBRATION_FILE) -> None:
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data[calibration.model_id] = asdict(calibration)
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")


def precision_at(
    probabilities: Sequence[float], correct: Sequence[bool], threshold: float
) -> tuple[float | None, int]:
    """Share of candidates at or over the threshold that are right, and how many there are."""
    p = np.asarray(probabilities, dtype=np.float64)
    ok = np.asarray(correct, dtype=bool)
    over = p >= threshold
    if not over.any():
        return None, 0
    return float(ok[over].mean()), int(over.sum())
