#!/usr/bin/env python3
"""Scores anomaly flags against labels.

Inputs: the score job's per-step rows as JSON lines (`bin/mamba-pipeline show DIR/steps` prints one object per row
with series_id, step, time, value, prediction, error, score, anomaly; train_timeseries.py writes the same rows
from PyTorch) and the labels CSV (series_id,time,value,label) written by anomaly_data.py. Rows are matched on
(series_id, step), step = the row's index within its series in time order; times are checked when both sides have
them. Optionally the .events.json beside the CSV gives each anomaly's kind (per-kind recall and delay).

    python3 models/training/eval_anomaly.py --labels samples/timeseries/anomalies_demo.csv --steps steps.jsonl

Definitions (flags f_t: the rows' `anomaly`, or with --threshold: score > threshold and step − 1 >= warmup):
  point-wise   precision = Σ f·y / Σ f, recall = Σ f·y / Σ y, F1 (y_t: the label)
  events       an event is a maximal run of label 1 in a series, steps [s, e); its window is [s, e + 10)
  detections   flagged steps grouped into clusters (flags at most 10 steps apart join one cluster)
  event-wise   recall = events with a flag in their window / events; precision = clusters with a flag in some
               window / clusters; F1
  NAB-style    per detected event, the first flag d in its window earns r = 2/(1 + exp(5y)) − 1 with
               y = (d − s)/|window| − 1 (0.987 at the window's first step, 0 at its end: earlier scores more);
               a missed event costs 1; a cluster with no flag in any window costs 0.11 (NAB's standard profile);
               normalised: 100·(S − S_null)/(S_perfect − S_null), S_null = −events (nothing flagged),
               S_perfect = events·0.9866 (every event flagged at its first step, no false positives).
"""
import argparse
import csv
import json
import math
import os
import sys

import numpy as np

POST = 10
GAP = 10
A_FP = 0.11
SWEEP = [3, 4, 5, 6, 8, 10, 15, 20]


def read_labels(path):
    series = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            s = series.setdefault(row["series_id"], {"time": [], "label": []})
            s["time"].append(float(row["time"]))
            s["label"].append(int(float(row["label"])))
    for s in series.values():  # the score job orders each series by time
        order = sorted(range(len(s["time"])), key=lambda i: s["time"][i])
        s["time"] = [s["time"][i] for i in order]
        s["label"] = [s["label"][i] for i in order]
    return series


def read_steps(path_or_file):
    rows = {}
    f = sys.stdin if path_or_file == "-" else open(path_or_file)
    try:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            if "series_id" not in r or r.get("step") is None:
                continue
            rows.setdefault(r["series_id"], {})[int(r["step"])] = r
    finally:
        if f is not sys.stdin:
            f.close()
    return rows


def align(labels, steps):
    """{series: (labels, scores, flags)}; errors name the series and the step."""
    out = {}
    for sid, lab in labels.items():
        if sid not in steps:
            raise SystemExit(f"series {sid}: in the labels, not in the steps output")
        got = steps[sid]
        n = len(lab["label"])
        if len(got) != n:
            raise SystemExit(f"series {sid}: {n} labelled steps, {len(got)} scored")
        scores, flags = [], []
        for t in range(n):
            r = got.get(t)
            if r is None:
                raise SystemExit(f"series {sid}: step {t} missing from the steps output")
            if r.get("time") is not None and abs(float(r["time"]) - lab["time"][t]) > 1e-6 * max(1, abs(lab["time"][t])):
                raise SystemExit(f"series {sid} step {t}: time {r['time']} != labelled time {lab['time'][t]}")
            scores.append(r.get("score"))
            flags.append(bool(r.get("anomaly")))
        out[sid] = (lab["label"], scores, flags)
    extra = set(steps) - set(labels)
    if extra:
        print(f"note: {len(extra)} scored series have no labels (ignored): {sorted(extra)[:5]}", file=sys.stderr)
    return out


def reflag(scores, threshold, warmup):
    """Flags as the job sets them: score > threshold once step − 1 >= warmup errors came before."""
    sc = np.array([np.nan if v is None else v for v in scores], dtype=np.float64)
    t = np.arange(len(sc))
    with np.errstate(invalid="ignore"):
        return ((t - 1 >= warmup) & (sc > threshold)).tolist()


def events_of(labels):
    """Maximal runs of label 1: [(start, end exclusive)]."""
    y = np.concatenate([[0], np.asarray(labels, dtype=np.int8) != 0, [0]]).astype(np.int8)
    d = np.diff(y)
    return list(zip(np.nonzero(d == 1)[0].tolist(), np.nonzero(d == -1)[0].tolist()))


def clusters_of(flags):
    """Flagged steps grouped: a flag at most GAP steps after the previous one joins its cluster."""
    t = np.nonzero(np.asarray(flags, dtype=bool))[0]
    if not len(t):
        return []
    cut = np.nonzero(np.diff(t) > GAP)[0] + 1
    return [c.tolist() for c in np.split(t, cut)]


def nab_reward(d, s, wlen):
    y = (d - s) / wlen - 1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def evaluate(aligned, flags_by_series, kinds=None):
    """The metrics of the module docstring over all series; flags_by_series: {series: flags per step}."""
    tp = fp = fn = 0
    n_ev = det = 0
    n_cl = good_cl = 0
    S = 0.0
    steps = 0
    per_kind = {}
    for sid, (lab, _, _) in aligned.items():
        f = np.asarray(flags_by_series[sid], dtype=bool)
        y = np.asarray(lab, dtype=np.int8) != 0
        steps += len(y)
        tp += int((f & y).sum())
        fp += int((f & ~y).sum())
        fn += int((~f & y).sum())
        evs = events_of(lab)
        wins = [(s, min(len(y), e + POST)) for s, e in evs]
        in_win = np.zeros(len(y), dtype=bool)
        for ws, we in wins:
            in_win[ws:we] = True
        for (s, e), (ws, we) in zip(evs, wins):
            n_ev += 1
            hit = np.nonzero(f[ws:we])[0]
            kind = (kinds or {}).get((sid, s), "unknown")
            k = per_kind.setdefault(kind, {"events": 0, "detected": 0, "delays": []})
            k["events"] += 1
            if not len(hit):
                S -= 1.0
            else:
                first = ws + int(hit[0])
                det += 1
                k["detected"] += 1
                k["delays"].append(first - s)
                S += nab_reward(first, ws, we - ws)
        for c in clusters_of(f):
            n_cl += 1
            if in_win[c].any():
                good_cl += 1
            else:
                S -= A_FP
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    ep = good_cl / n_cl if n_cl else 0.0
    er = det / n_ev if n_ev else 0.0
    perfect = n_ev * (2.0 / (1.0 + math.exp(-5.0)) - 1.0)
    null = -float(n_ev)
    nab = 100.0 * (S - null) / (perfect - null) if n_ev else float("nan")
    return {
        "point": {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
                  "flagged_steps": tp + fp, "labelled_steps": tp + fn},
        "event": {"precision": ep, "recall": er, "f1": 2 * ep * er / (ep + er) if ep + er else 0.0,
                  "events": n_ev, "detected": det, "clusters": n_cl,
                  "false_clusters_per_10k_steps": 1e4 * (n_cl - good_cl) / max(1, steps)},
        "nab_score": nab,
        "per_kind": {k: {"events": v["events"], "recall": v["detected"] / v["events"],
                         "median_delay_steps": (sorted(v["delays"])[len(v["delays"]) // 2] if v["delays"] else None)}
                     for k, v in sorted(per_kind.items())},
        "steps": steps,
    }


def load_kinds(labels_path):
    p = os.path.splitext(labels_path)[0] + ".events.json"
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return {(e["series_id"], int(e["start"])): e["kind"] for e in json.load(f)}


def run(labels_path, steps_path, threshold=None, warmup=64):
    labels = read_labels(labels_path)
    steps = read_steps(steps_path)
    aligned = align(labels, steps)
    kinds = load_kinds(labels_path)
    if threshold is None:
        flags = {sid: v[2] for sid, v in aligned.items()}
    else:
        flags = {sid: reflag(v[1], threshold, warmup) for sid, v in aligned.items()}
    res = {"at_threshold": evaluate(aligned, flags, kinds), "threshold": threshold if threshold is not None
           else "as flagged by the job"}
    res["sweep"] = {}
    for th in SWEEP:
        e = evaluate(aligned, {sid: reflag(v[1], th, warmup) for sid, v in aligned.items()}, kinds)
        res["sweep"][str(th)] = {"event_f1": e["event"]["f1"], "point_f1": e["point"]["f1"], "nab": e["nab_score"]}
    return res


def summary(res):
    a = res["at_threshold"]
    lines = [f"threshold {res['threshold']}: point P/R/F1 {a['point']['precision']:.3f}/{a['point']['recall']:.3f}/"
             f"{a['point']['f1']:.3f}; event P/R/F1 {a['event']['precision']:.3f}/{a['event']['recall']:.3f}/"
             f"{a['event']['f1']:.3f} ({a['event']['detected']}/{a['event']['events']} events, "
             f"{a['event']['false_clusters_per_10k_steps']:.2f} false clusters per 10k steps); "
             f"NAB-style {a['nab_score']:.1f}"]
    lines.append("per kind: " + ", ".join(f"{k} {v['recall']:.2f} (delay {v['median_delay_steps']})"
                                          for k, v in a["per_kind"].items()))
    lines.append("sweep (threshold: event F1 / NAB): " + ", ".join(
        f"{k}: {v['event_f1']:.2f}/{v['nab']:.0f}" for k, v in res["sweep"].items()))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--steps", required=True, help="JSON lines file, or - for stdin")
    ap.add_argument("--threshold", type=float, default=None, help="re-flag from the scores (default: use anomaly)")
    ap.add_argument("--warmup", type=int, default=64)
    ap.add_argument("--json", help="write the full result here")
    a = ap.parse_args()
    res = run(a.labels, a.steps, a.threshold, a.warmup)
    print(summary(res))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
