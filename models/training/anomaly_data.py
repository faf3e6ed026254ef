#!/usr/bin/env python3
"""Labelled time series with injected anomalies, for evaluating the score job's anomaly flags.

Writes CSV with columns series_id,time,value,label (label 1 on the steps of an injected anomaly, else 0; rows in
time order per series; time in integer seconds) and a sidecar OUT.events.json listing each anomaly
(series_id, kind, first step, end step exclusive). Anomaly kinds:

  spike            1-3 steps displaced by ±6-15 σ_d                      labelled: those steps
  level_shift      ±5-10 σ_d from a step on; permanent (label the first 50 steps) or for 50-300 steps (all)
  variance_change  extra Gaussian noise of 3-6 σ_n for 100-400 steps                              (all)
  frequency_change the seasonal component's phase runs 1.6-2.5× faster or 0.4-0.6× slower for 2-5 periods (all)
  drift            a ramp to ±8-15 σ_d over 200-600 steps, then staying                           (the ramp)

σ_d is a robust std of the base series' one-step differences over the 300 steps before the anomaly
(1.4826·MAD), σ_n = σ_d/√2. Base series come from six scenario templates (server metric with daily + weekly
seasonality at several sampling intervals, drifting sensor, random walk, noisy vibration sine, daily counts,
and a draw from the training corpus generator) so that no single one defines the benchmark. Each series has a
clean prefix of at least max(2000, 30 %) steps (demo: 1500) before its first anomaly (the causal normaliser and the error
scale need history; see tsdata.AnomalyScorer on the start-up) and anomalies start at least 700 steps apart.

    python3 models/training/anomaly_data.py --demo samples/timeseries/anomalies_demo.csv
    python3 models/training/anomaly_data.py --out /tmp/anomaly_eval.csv --series 120 --seed 7
"""
import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tsdata  # noqa: E402

KINDS = ["spike", "level_shift", "variance_change", "frequency_change", "drift"]
INTERVALS = [1, 60, 300, 900, 3600]


def _season(phase, shape):
    if shape == "sine":
        return np.sin(phase)
    if shape == "harmonics":
        return np.sin(phase) + 0.5 * np.sin(2 * phase + 1.0) + 0.25 * np.sin(3 * phase + 2.0)
    if shape == "business":  # day/night plateau
        return np.tanh(4 * np.sin(phase))
    if shape == "count_rate":  # a daily request rate, 1-25 per step
        return np.exp(1.5 + 0.8 * np.tanh(3 * np.sin(phase)))
    raise ValueError(shape)


def base_series(rng, L, scenario):
    """(dphi [L] phase increments or None, season shape, season amplitude, rest [L], level) for a scenario."""
    t = np.arange(L)
    if scenario == "server":
        day = rng.choice([24, 96, 144, 288])
        dphi = np.full(L, 2 * math.pi / day)
        weekly = 0.3 * np.sin(2 * math.pi * t / (7 * day) + rng.uniform(0, 6.28))
        rest = weekly + tsdata._ar(rng, 1, L, np.array([rng.uniform(0.05, 0.2)]))[0] + 0.002 * rng.normal() * t / 100
        return dphi, rng.choice(["harmonics", "business"]), rng.uniform(1, 3), rest, rng.uniform(5, 100)
    if scenario == "sensor":
        slow = rng.uniform(0.2, 1) * np.sin(2 * math.pi * t / rng.uniform(500, 3000) + rng.uniform(0, 6.28))
        rest = slow + tsdata._ar(rng, 1, L, np.array([rng.uniform(0.01, 0.1)]))[0]
        rest += rng.normal(0, rng.uniform(0.01, 0.05), L)
        return None, None, 0.0, rest, rng.uniform(-50, 50)
    if scenario == "random_walk":
        rest = np.cumsum(rng.normal(rng.normal(0, 0.01), rng.uniform(0.05, 0.3), L)) + rng.normal(0, 0.1, L)
        return None, None, 0.0, rest, rng.uniform(-10, 10)
    if scenario == "vibration":
        period = rng.uniform(8, 120)
        dphi = np.full(L, 2 * math.pi / period)
        return dphi, "sine", rng.uniform(0.5, 2), rng.normal(0, rng.uniform(0.05, 0.3), L), 0.0
    if scenario == "counts":  # ~Poisson counts around a daily rate; rounded and clipped at 0 after the anomalies
        day = rng.choice([24, 48, 96])
        dphi = np.full(L, 2 * math.pi / day)
        return dphi, "count_rate", 1.0, rng.normal(0, 1, L) * math.sqrt(5.0), 0.0
    if scenario == "corpus":
        x = tsdata.synth_batch(rng, 1, L)[0]
        x = (x - x[:500].mean()) / (x[:500].std() + 1e-9)
        return None, None, 0.0, x, 0.0
    raise ValueError(scenario)


def robust_sigma(x):
    d = np.diff(x)
    mad = np.median(np.abs(d - np.median(d)))
    s = 1.4826 * mad
    return s if s > 1e-9 else (np.std(d) + 1e-9)


def make_series(rng, L, scenario, n_anomalies, kinds=None, first=None):
    """One labelled series: (values float32 [L], labels int [L], events [(kind, start, end)]); no anomaly starts
    before `first` (default max(2000, 30 % of L))."""
    dphi, shape, amp, rest, level = base_series(rng, L, scenario)
    allowed = [k for k in (kinds or KINDS) if k != "frequency_change" or dphi is not None]
    if scenario == "counts":
        allowed = [k for k in allowed if k != "variance_change"]
    first = first if first is not None else max(2000, int(0.3 * L))
    starts = []
    for _ in range(n_anomalies):
        for _try in range(50):
            s = int(rng.integers(first, L - 700))
            if all(abs(s - o) >= 700 for o in starts):
                starts.append(s)
                break
    starts.sort()
    events = []
    add = np.zeros(L)
    noise_extra = np.zeros(L)
    dphi = None if dphi is None else dphi.copy()
    base_now = None
    for s in starts:
        kind = allowed[int(rng.integers(0, len(allowed)))]
        # σ from the base series as it is before this anomaly
        season = 0 if dphi is None else amp * _season(np.cumsum(dphi), shape)
        base_now = level + season + rest + add
        sd = robust_sigma(base_now[s - 300:s])
        sign = rng.choice([-1.0, 1.0])
        if kind == "spike":
            w = 1 if rng.random() < 0.7 else int(rng.integers(2, 4))
            add[s:s + w] += sign * rng.uniform(6, 15) * sd
            e = s + w
        elif kind == "level_shift":
            mag = sign * rng.uniform(5, 10) * sd
            if rng.random() < 0.6:
                add[s:] += mag
                e = s + 50
            else:
                e = s + int(rng.integers(50, 301))
                add[s:e] += mag
        elif kind == "variance_change":
            e = s + int(rng.integers(100, 401))
            noise_extra[s:e] = rng.uniform(3, 6) * sd / math.sqrt(2)
        elif kind == "frequency_change":
            period = 2 * math.pi / dphi[s]
            e = s + int(min(600, max(50, rng.uniform(2, 5) * period)))
            dphi[s:e] *= rng.uniform(1.6, 2.5) if rng.random() < 0.5 else rng.uniform(0.4, 0.6)
        elif kind == "drift":
            dur = int(rng.integers(200, 601))
            e = s + dur
            ramp = np.linspace(0, 1, dur, endpoint=False)
            mag = sign * rng.uniform(8, 15) * sd
            add[s:e] += mag * ramp
            add[e:] += mag
        events.append((kind, s, min(e, L)))
    season = 0 if dphi is None else amp * _season(np.cumsum(dphi), shape)
    x = level + season + rest + add + noise_extra * rng.normal(0, 1, L)
    if scenario == "counts":
        x = np.maximum(np.round(x), 0)
    labels = np.zeros(L, dtype=np.int64)
    for _, s, e in events:
        labels[s:e] = 1
    return x.astype(np.float32), labels, events


SCENARIOS = ["server", "sensor", "random_walk", "vibration", "counts", "corpus"]


def write_csv(path, series):
    """series: [(id, interval, t0, values, labels)]."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write("series_id,time,value,label\n")
        for sid, dt, t0, x, y in series:
            for i in range(len(x)):
                f.write(f"{sid},{t0 + i * dt},{float(x[i]):.7g},{int(y[i])}\n")


def generate(seed, n_series, length_range=(4000, 8000), max_anomalies=3, kinds=None, prefix="s"):
    rng = np.random.default_rng(seed)
    series, events = [], []
    for i in range(n_series):
        scenario = SCENARIOS[i % len(SCENARIOS)]
        L = int(rng.integers(length_range[0], length_range[1] + 1))
        n_an = int(rng.integers(1, max_anomalies + 1))
        x, y, ev = make_series(rng, L, scenario, n_an, kinds)
        sid = f"{prefix}{i:03d}_{scenario}"
        dt = int(rng.choice(INTERVALS))
        series.append((sid, dt, 1_700_000_000, x, y))
        events += [{"series_id": sid, "kind": k, "start": s, "end": e} for k, s, e in ev]
    return series, events


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="eval set CSV (events beside it as .events.json)")
    ap.add_argument("--series", type=int, default=120)
    ap.add_argument("--min-length", type=int, default=4000)
    ap.add_argument("--max-length", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--demo", help="write the small demo file (5 series, one per anomaly kind) here")
    a = ap.parse_args()
    if a.demo:
        rng = np.random.default_rng(20240501)
        series, events = [], []
        for i, (kind, scen) in enumerate(zip(KINDS, ["server", "sensor", "server", "vibration", "random_walk"])):
            x, y, ev = make_series(rng, 3600, scen, 2, [kind], first=1500)
            sid = f"demo{i}_{kind}"
            series.append((sid, 300, 1_700_000_000, x, y))
            events += [{"series_id": sid, "kind": k, "start": s, "end": e} for k, s, e in ev]
        write_csv(a.demo, series)
        with open(os.path.splitext(a.demo)[0] + ".events.json", "w") as f:
            json.dump(events, f, indent=1)
        print(f"demo: {len(series)} series, {sum(len(s[3]) for s in series)} rows, {len(events)} anomalies -> {a.demo}")
    if a.out:
        series, events = generate(a.seed, a.series, (a.min_length, a.max_length))
        write_csv(a.out, series)
        with open(os.path.splitext(a.out)[0] + ".events.json", "w") as f:
            json.dump(events, f, indent=1)
        kinds = {k: sum(1 for e in events if e["kind"] == k) for k in KINDS}
        print(f"eval: {len(series)} series, {sum(len(s[3]) for s in series)} rows, {len(events)} anomalies {kinds}"
              f" -> {a.out}")


if __name__ == "__main__":
    main()
