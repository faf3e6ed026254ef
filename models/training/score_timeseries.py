#!/usr/bin/env python3
"""PyTorch twin of the score job for time series: reads a CSV (series_id,time,value[,...]), normalises each series
causally (half-life from the model's config), runs the continuous model, and writes the per-step rows the job
writes (series_id, step, time, value, prediction, error, score, anomaly) as JSON lines, for eval_anomaly.py and
for comparing against the Java output.

    /usr/bin/python3 models/training/score_timeseries.py --model models/timeseries \
        --input samples/timeseries/anomalies_demo.csv --output /tmp/steps.jsonl
"""
import argparse
import csv
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mamba_torch as mt  # noqa: E402
import tsdata  # noqa: E402


def read_series(path, id_col="series_id", time_col="time", value_col="value"):
    """{id: (times float64 [L], values float32 [L, 1])}, each series sorted by time."""
    raw = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            raw.setdefault(row[id_col], []).append((float(row[time_col]), float(row[value_col])))
    out = {}
    for sid, rows in raw.items():
        rows.sort(key=lambda r: r[0])
        out[sid] = (np.array([r[0] for r in rows]), np.array([[r[1]] for r in rows], dtype=np.float32))
    return out


@torch.no_grad()
def predict(model, z, dev, precision=torch.float32):
    """z [L, k] float32 → the model's outputs [L, out] (forecasts of the next step's z)."""
    x = torch.from_numpy(np.ascontiguousarray(z)).to(dev, precision)[None]
    pred, _, _ = model(x)
    return pred[0].float().cpu().numpy()


def score_all(model, series, dev, half_life, error_half_life=1024.0, threshold=6.0, warmup=64, predictor=None,
              skip=None):
    """Rows for every series; predictor(z, x, mean, scale) overrides the model (baselines); skip: see
    tsdata.AnomalyScorer (0 = the job's scorer)."""
    rows = []
    for sid, (times, values) in series.items():
        z, mean, scale = tsdata.normalize(values.T, half_life)
        z, mean, scale = z.T, mean.T, scale.T
        pred = predictor(z, values, mean, scale) if predictor else predict(model, z, dev)
        for r in tsdata.score_series(values, z, mean, scale, pred, error_half_life, threshold, warmup, skip):
            r["series_id"] = sid
            r["time"] = float(times[r["step"]])
            rows.append(r)
    return rows


def naive_predictor(z, values, mean, scale):
    """Last value: forecast of z_{t+1} = (x_t − m_t)/s_t with the moments after step t."""
    out = np.zeros_like(z)
    nz = tsdata.naive_next_z(values.T, mean.T, scale.T).T  # [L−1, k]
    out[:-1] = nz
    return out


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps({k: r[k] for k in ("series_id", "step", "time", "value", "prediction", "error",
                                                  "score", "anomaly")}) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model dir (omit with --naive)")
    ap.add_argument("--naive", action="store_true", help="score with the last-value forecaster instead")
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--threshold", type=float, default=6.0)
    ap.add_argument("--warmup", type=int, default=64)
    ap.add_argument("--error-half-life", type=float, default=1024.0)
    ap.add_argument("--norm-half-life", type=float, default=None)
    ap.add_argument("--skip-startup", type=int, default=0,
                    help="proposed scorer variant: the first N errors are not scored nor folded (0: as the job)")
    a = ap.parse_args()
    dev = torch.device(os.environ.get("TORCH_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu"))
    model, half = None, a.norm_half_life or 512.0
    if not a.naive:
        model, cfg = mt.load_checkpoint(a.model)
        model = model.to(dev).eval()
        half = a.norm_half_life or float(cfg.extra.get("normalization_half_life", 512))
    series = read_series(a.input)
    rows = score_all(model, series, dev, half, a.error_half_life, a.threshold, a.warmup,
                     naive_predictor if a.naive else None, a.skip_startup)
    write_jsonl(a.output, rows)
    print(f"{len(series)} series, {len(rows)} rows -> {a.output}")


if __name__ == "__main__":
    main()
