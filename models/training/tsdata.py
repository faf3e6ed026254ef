"""Time-series pieces shared by training, data generation and evaluation:

* ``CausalNormalizer``: the numpy twin of pipeline's ``dev.mamba.pipeline.score.CausalNormalizer`` (same
  arithmetic, in the same order, float64 moments, float32 inputs and outputs), vectorised over series.
* ``AnomalyScorer``: the twin of ``dev.mamba.pipeline.score.AnomalyScorer``.
* ``score_series``: what ``SeriesScoreSink`` writes per step, from a model's next-step predictions.
* ``synth_batch``: the broad synthetic pre-training corpus (seasonalities, trends, random walks, AR processes,
  regime changes, noise levels, smoothness ~ sampling rate, rare spikes, positive / counting / clipped series).
"""
import math

import numpy as np

EPS = 1e-8
CLIP = 20.0


class CausalNormalizer:
    """z_t = clip((x_t − m_{t−1}) / sqrt(v_{t−1} + eps), ±20) (z_0 = 0), then w = max(α, 1/(n+1)), d = x_t − m,
    m += w·d, v = (1 − w)·(v + w·d²); α = 1 − 0.5^(1/half_life). Moments per series (and feature)."""

    def __init__(self, shape, half_life):
        if half_life <= 0:
            raise ValueError(f"half-life must be > 0, is {half_life}")
        self.alpha = 1 - math.pow(0.5, 1 / half_life)
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.zeros(shape, dtype=np.float64)
        self.n = 0

    def step(self, x):
        """x: float32-representable values of one step (any shape matching the moments) → z (float32)."""
        v = np.asarray(x, dtype=np.float32).astype(np.float64)
        w = max(self.alpha, 1.0 / (self.n + 1))
        if self.n == 0:
            zz = np.zeros_like(v)
        else:
            zz = (v - self.mean) / np.sqrt(self.var + EPS)
        z = np.clip(zz, -CLIP, CLIP).astype(np.float32)
        d = v - self.mean
        self.mean = self.mean + w * d
        self.var = (1 - w) * (self.var + w * d * d)
        self.n += 1
        return z


def normalize(x, half_life):
    """x [..., L] (series along the last axis) → (z float32 [..., L], mean [..., L], scale [..., L]) where mean/scale
    are the moments each step was normalised with (before its update), as SeriesState keeps them. Same arithmetic as
    CausalNormalizer.step; one series runs as a scalar loop, several as one vectorised loop over time."""
    xf = np.asarray(x, dtype=np.float32).astype(np.float64)
    lead = xf.shape[:-1]
    L = xf.shape[-1]
    alpha = 1 - math.pow(0.5, 1 / half_life)
    if half_life <= 0:
        raise ValueError(f"half-life must be > 0, is {half_life}")
    flat = xf.reshape(-1, L)
    zz = np.zeros(flat.shape, dtype=np.float64)
    mean = np.zeros(flat.shape, dtype=np.float64)
    var = np.zeros(flat.shape, dtype=np.float64)
    if flat.shape[0] <= 4:
        for r in range(flat.shape[0]):
            row = flat[r].tolist()
            zr, mr, vr = [0.0] * L, [0.0] * L, [0.0] * L
            m = v = 0.0
            for t in range(L):
                mr[t], vr[t] = m, v
                xv = row[t]
                w = max(alpha, 1.0 / (t + 1))
                if t:
                    zr[t] = (xv - m) / math.sqrt(v + EPS)
                d = xv - m
                m = m + w * d
                v = (1 - w) * (v + w * d * d)
            zz[r], mean[r], var[r] = zr, mr, vr
    else:
        m = np.zeros(flat.shape[0])
        v = np.zeros(flat.shape[0])
        for t in range(L):
            mean[:, t] = m
            var[:, t] = v
            xv = flat[:, t]
            w = max(alpha, 1.0 / (t + 1))
            d = xv - m
            if t:
                zz[:, t] = d / np.sqrt(v + EPS)
            m = m + w * d
            v = (1 - w) * (v + w * d * d)
    z = np.minimum(np.maximum(zz, -CLIP), CLIP).astype(np.float32)
    scale = np.sqrt(var + EPS)
    return z.reshape(lead + (L,)), mean.reshape(lead + (L,)), scale.reshape(lead + (L,))


def naive_next_z(x, mean, scale):
    """The last-value forecast of z_{t+1} in the units z_{t+1} is normalised with: (x_t − m_t) / s_t, where m_t, s_t
    are the moments after step t (i.e. mean/scale[..., t+1]). Returns [..., L−1] for targets z[..., 1:]."""
    xf = np.asarray(x, dtype=np.float32).astype(np.float64)
    return np.clip((xf[..., :-1] - mean[..., 1:]) / scale[..., 1:], -CLIP, CLIP)


class AnomalyScorer:
    """score = error / sqrt(meanSq + 1e-12) (0 for the first), meanSq EWM of error² with w = max(α, 1/(n+1)).

    skip = warmup is the job's scorer (AnomalyScorer.java): the first `warmup` errors (the causal normaliser's
    start-up, where z_1 is always ±20) score 0 and are not folded into meanSq. skip = 0 is the earlier variant, in
    which the ±20 error of step 1 alone holds meanSq at >= 400/n for the first ~1500 steps.
    """

    def __init__(self, half_life=1024.0, threshold=6.0, warmup=64, skip=None):
        self.alpha = 1 - math.pow(0.5, 1 / half_life)
        self.threshold = threshold
        self.warmup = warmup
        self.skip = warmup if skip is None else skip
        self.seen = 0
        self.mean_sq = 0.0
        self.n = 0

    def score(self, error):
        if self.seen < self.skip:
            self.seen += 1
            return 0.0
        self.seen += 1
        s = 0.0 if self.n == 0 else error / math.sqrt(self.mean_sq + 1e-12)
        w = max(self.alpha, 1.0 / (self.n + 1))
        self.mean_sq += w * (error * error - self.mean_sq)
        self.n += 1
        return s

    def count(self):
        """Errors seen (the job's count(): what flags() compares with the warm-up)."""
        return self.seen

    def flags(self, score, errors_before):
        return errors_before >= self.warmup and score > self.threshold


def score_arrays(z, pred, error_half_life=1024.0, threshold=6.0, warmup=64, skip=None):
    """error, score (float32, NaN at step 0) and flag (bool) per step, as SeriesScoreSink computes them: the error of
    step t is the RMS over features of z[t] − pred[t−1], in float64, stored as float32."""
    z = np.asarray(z, dtype=np.float32).astype(np.float64)
    p = np.asarray(pred, dtype=np.float32).astype(np.float64)
    L = z.shape[0]
    err = np.full(L, np.nan)
    if L > 1:
        d = z[1:] - p[:-1]
        err[1:] = np.sqrt((d * d).sum(1) / z.shape[1])
    sc = AnomalyScorer(error_half_life, threshold, warmup, skip)
    score = np.full(L, np.nan)
    flag = np.zeros(L, dtype=bool)
    for t in range(1, L):
        before = sc.count()
        s = sc.score(float(err[t]))
        score[t] = s
        flag[t] = sc.flags(s, before)
    return err.astype(np.float32), score.astype(np.float32), flag


def score_series(values, z, mean, scale, pred, error_half_life=1024.0, threshold=6.0, warmup=64, skip=None):
    """Per-step rows as SeriesScoreSink writes them, for one series of k features: values [L, k], z/mean/scale
    [L, k] from ``normalize``, pred [L, k] = the model's output at each step (forecast of the next z). Returns a
    list of dicts with step, value, prediction (original units), error, score, anomaly (None at step 0)."""
    values = np.asarray(values, dtype=np.float32)
    err, score, flag = score_arrays(z, pred, error_half_life, threshold, warmup, skip)
    p = np.asarray(pred, dtype=np.float32).astype(np.float64)
    orig = np.zeros_like(p)
    orig[1:] = (mean[1:] + scale[1:] * p[:-1]).astype(np.float32)
    rows = []
    for t in range(values.shape[0]):
        row = {"step": t, "value": [float(v) for v in values[t]], "prediction": None, "error": None,
               "score": None, "anomaly": None}
        if t > 0:
            row.update(prediction=[float(v) for v in orig[t]], error=float(err[t]), score=float(score[t]),
                       anomaly=bool(flag[t]))
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------ synthetic corpus

def _loguniform(rng, lo, hi, size):
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size))


def _periodic(rng, phase, B):
    """A random periodic shape per series evaluated at phase [B, L] (radians): sine, a few harmonics, square-ish,
    sawtooth or a pulse train (business-hours-like)."""
    kind = rng.integers(0, 5, B)[:, None]
    out = np.sin(phase)
    h = np.zeros_like(phase)
    for k in range(1, 5):
        h += rng.normal(0, 1.0 / k, (B, 1)) * np.sin(k * phase + rng.uniform(0, 2 * math.pi, (B, 1)))
    out = np.where(kind == 1, h / np.maximum(np.abs(h).max(1, keepdims=True), 1e-9), out)
    out = np.where(kind == 2, np.tanh(rng.uniform(2, 8, (B, 1)) * np.sin(phase)), out)
    saw = (phase / (2 * math.pi)) % 1.0
    out = np.where(kind == 3, 2 * saw - 1, out)
    duty = rng.uniform(0.1, 0.5, (B, 1))
    out = np.where(kind == 4, (saw < duty).astype(np.float64), out)
    return out


def _ar(rng, B, L, sigma):
    """Stationary AR(1) or AR(2) noise per series."""
    order2 = rng.random(B) < 0.4
    phi1 = np.where(order2, rng.uniform(-0.5, 1.6, B), rng.uniform(-0.6, 0.995, B))
    phi2 = np.where(order2, rng.uniform(-0.9, 0.0, B), 0.0)
    # keep AR(2) in the stationarity triangle
    phi1 = np.where(order2, np.clip(phi1, -(1 - phi2) + 0.01, (1 - phi2) - 0.01), phi1)
    e = rng.normal(0, 1, (B, L)) * sigma[:, None]
    y = np.zeros((B, L))
    y1 = np.zeros(B)
    y2 = np.zeros(B)
    for t in range(L):
        y0 = phi1 * y1 + phi2 * y2 + e[:, t]
        y[:, t] = y0
        y2, y1 = y1, y0
    return y


def _smooth(rng, x, p):
    """Moving-average smoothing of a random width on a fraction p of series (oversampled / slow signals)."""
    B, L = x.shape
    on = rng.random(B) < p
    for b in np.nonzero(on)[0]:
        w = int(_loguniform(rng, 2, 40, 1)[0])
        k = np.ones(w) / w
        x[b] = np.convolve(np.pad(x[b], (w - 1, 0), mode="edge"), k, mode="valid")
    return x


def synth_batch(rng, B, L):
    """B synthetic series of length L (float64 [B, L]); each mixes a random subset of components."""
    t = np.arange(L, dtype=np.float64)[None, :]
    x = np.zeros((B, L))
    # seasonalities: up to three, periods from 3 to 2000 steps (sampling rates from seconds to days)
    for c, p_on in enumerate([0.75, 0.4, 0.15]):
        on = (rng.random(B) < p_on)[:, None]
        period = _loguniform(rng, 3, 2000, B)[:, None]
        if c > 0:  # often a multiple of the first (daily + weekly)
            mult = rng.random(B)[:, None] < 0.5
            period = np.where(mult, period * rng.choice([7, 24, 12, 4], (B, 1)), period)
        drift = 1 + rng.normal(0, 0.02, (B, 1)) * (rng.random((B, 1)) < 0.2)  # slowly changing period
        phase = 2 * math.pi * np.cumsum(np.broadcast_to(drift / period, (B, L)), 1) + rng.uniform(0, 2 * math.pi,
                                                                                                  (B, 1))
        amp = _loguniform(rng, 0.2, 3, B)[:, None]
        am = 1 + (rng.random((B, 1)) < 0.2) * 0.4 * np.sin(2 * math.pi * t / _loguniform(rng, 500, 5000, B)[:, None])
        x += on * amp * am * _periodic(rng, phase, B)
    # trends: linear, or piecewise linear
    on = (rng.random(B) < 0.35)[:, None]
    slope = rng.normal(0, 1, (B, 1)) * _loguniform(rng, 1e-4, 1e-2, B)[:, None]
    x += on * slope * t
    pw = rng.random(B) < 0.1
    for b in np.nonzero(pw)[0]:
        knots = np.sort(rng.integers(0, L, rng.integers(1, 4)))
        for k in knots:
            x[b, k:] += rng.normal(0, 3e-3) * (np.arange(L - k))
    # random walk
    on = (rng.random(B) < 0.35)[:, None]
    x += on * np.cumsum(rng.normal(0, 1, (B, L)), 1) * _loguniform(rng, 0.01, 0.3, B)[:, None]
    # AR noise
    on = (rng.random(B) < 0.5)[:, None]
    x += on * _ar(rng, B, L, _loguniform(rng, 0.02, 0.5, B))
    # regime changes: rare level shifts and variance regimes (so the model learns to re-adapt)
    for b in np.nonzero(rng.random(B) < 0.15)[0]:
        for k in rng.integers(L // 10, L, rng.integers(1, 3)):
            x[b, k:] += rng.normal(0, 2)
    var_regime = np.ones((B, L))
    for b in np.nonzero(rng.random(B) < 0.1)[0]:
        k = rng.integers(L // 10, L)
        var_regime[b, k:] = _loguniform(rng, 0.3, 3, 1)[0]
    # white / heavy-tailed noise
    sigma = _loguniform(rng, 0.002, 1.0, B)[:, None]
    heavy = (rng.random(B) < 0.15)[:, None]
    noise = np.where(heavy, rng.standard_t(3, (B, L)) * 0.6, rng.normal(0, 1, (B, L)))
    x += sigma * noise * var_regime
    # oversampled (smooth) series
    x = _smooth(rng, x, 0.15)
    # pure noise / random walk series, and series with nothing but seasonality, keep coming from the mix above;
    # a few flat ("stuck sensor") stretches
    for b in np.nonzero(rng.random(B) < 0.03)[0]:
        a = rng.integers(0, L - 10)
        x[b, a:a + rng.integers(10, max(11, L // 4))] = x[b, a]
    # rare spikes
    for b in np.nonzero(rng.random(B) < 0.05)[0]:
        for k in rng.integers(0, L, rng.integers(1, 3)):
            x[b, k] += rng.choice([-1, 1]) * rng.uniform(3, 10) * (np.std(np.diff(x[b])) + 1e-3)
    # transforms: positive multiplicative series, counts, clipped-at-zero (intermittent) series
    kind = rng.random(B)
    sd = x.std(1, keepdims=True) + 1e-9
    xs = (x - x.mean(1, keepdims=True)) / sd
    expo = kind < 0.08
    x[expo] = np.exp(0.5 * xs[expo])
    counts = (kind >= 0.08) & (kind < 0.14)
    if counts.any():
        lam = np.exp(np.clip(0.7 * xs[counts] + rng.uniform(0, 4, (int(counts.sum()), 1)), -5, 8))
        x[counts] = rng.poisson(lam).astype(np.float64)
    clipz = (kind >= 0.14) & (kind < 0.18)
    x[clipz] = np.maximum(xs[clipz] - rng.uniform(-0.5, 1.0, (int(clipz.sum()), 1)), 0)
    # global scale and offset (the normaliser must make these irrelevant); quantisation for a few
    scale = _loguniform(rng, 1e-3, 1e4, B)[:, None]
    offset = (scale * rng.normal(0, 1, (B, 1)) * _loguniform(rng, 0.1, 1e3, B)[:, None]
              * (~(counts | expo | clipz))[:, None])
    x = offset + scale * x * np.where((counts)[:, None], 1.0 / scale, 1.0)
    q = (rng.random(B) < 0.08)[:, None]
    step = scale * _loguniform(rng, 0.01, 0.3, B)[:, None]
    x = np.where(q, np.round(x / step) * step, x)
    return x.astype(np.float32).astype(np.float64)
