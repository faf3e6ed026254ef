#!/usr/bin/env python3
"""Compares two sets of per-step score rows (JSON lines: series_id, step, prediction, error, score, anomaly), e.g.
the Java score job's (`bin/mamba-pipeline show OUT/steps`) against score_timeseries.py's for the same model and
CSV. Prints the largest differences and the flag agreement; exits 1 beyond the tolerances.

    python3 models/training/compare_scores.py java.jsonl torch.jsonl
"""
import argparse
import sys

from eval_anomaly import read_steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rtol", type=float, default=1e-3, help="on error and score (relative to max(1, |b|))")
    a = ap.parse_args()
    A, B = read_steps(a.a), read_steps(a.b)
    if set(A) != set(B):
        print(f"series differ: only in {a.a}: {sorted(set(A) - set(B))[:5]}, only in {a.b}: {sorted(set(B) - set(A))[:5]}")
        return 1
    worst = {"error": (0.0, None), "score": (0.0, None), "prediction": (0.0, None)}
    flags_a = flags_b = both = n = 0
    for sid in sorted(A):
        if set(A[sid]) != set(B[sid]):
            print(f"series {sid}: steps differ ({len(A[sid])} vs {len(B[sid])})")
            return 1
        for t, ra in A[sid].items():
            rb = B[sid][t]
            n += 1
            for k in ("error", "score"):
                va, vb = ra.get(k), rb.get(k)
                if (va is None) != (vb is None):
                    print(f"{sid} step {t}: {k} {va} vs {vb}")
                    return 1
                if va is not None:
                    d = abs(va - vb) / max(1.0, abs(vb))
                    if d > worst[k][0]:
                        worst[k] = (d, (sid, t, va, vb))
            pa, pb = ra.get("prediction"), rb.get("prediction")
            if pa is not None and pb is not None:
                for x, y in zip(pa, pb):
                    d = abs(x - y) / max(1.0, abs(y))
                    if d > worst["prediction"][0]:
                        worst["prediction"] = (d, (sid, t, x, y))
            fa, fb = bool(ra.get("anomaly")), bool(rb.get("anomaly"))
            flags_a += fa
            flags_b += fb
            both += fa and fb
    for k, (d, where) in worst.items():
        print(f"max relative difference of {k}: {d:.2e} at {where}")
    print(f"{n} rows; flags: {flags_a} vs {flags_b}, {both} in both")
    ok = worst["error"][0] <= a.rtol and worst["score"][0] <= a.rtol and flags_a == flags_b == both
    print("agree" if ok else "DIFFER")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
