#!/usr/bin/env python3
"""Prints the measured numbers of the trained models (models/<name>/metrics.json) as markdown tables and a short
overview table; with --fill, writes each table into models/<name>/MODEL_CARD.md between the markers
<!-- metrics:begin --> and <!-- metrics:end --> (replacing the TBD placeholder).

    python3 models/training/summarize.py [--models models] [--fill]
"""
import argparse
import json
import os
import re
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NAMES = ["dna", "timeseries", "audio"]


def f(x, d=4):
    return "n/a" if x is None else (f"{x:.{d}f}" if isinstance(x, float) else str(x))


def train_row(m):
    t = m["train"]
    return (f"| training | {t['steps']} steps in {t['seconds']:.0f} s on {t.get('device_name', t['device'])}, "
            f"torch {t['torch']}, {m['parameters']:,} parameters |")


def dna(m):
    fam = m["val_bits_per_base_by_family"]
    mk = m["markov_best_by_family"]
    sep, sep0 = m["embedding_separation_val_windows"], m["embedding_separation_untrained_model"]
    rows = ["| metric | value |", "| --- | --- |",
            f"| validation bits/base (ACGT targets, {m['val_bases_scored']:,} bases) | {f(m['val_bits_per_base'])} |",
            f"| best order-k Markov baseline ({m['markov_best']['order']}, order chosen on the validation split) | "
            f"{f(m['markov_best']['bits_per_base'])} |"]
    for k in sorted(fam):
        rows.append(f"| bits/base, {k}: model / Markov | {f(fam[k])} / {f(mk.get(k))} |")
    rows += [f"| embedding within/between-family distance ratio, val windows of 1 kb ({sep['items']} windows, "
             f"{sep['groups']} families) | {f(sep['ratio'], 3)} (untrained model {f(sep0['ratio'], 3)}) |",
             f"| 1-NN family accuracy of those windows | {f(sep['nn_accuracy'], 2)} "
             f"(untrained {f(sep0['nn_accuracy'], 2)}) |",
             train_row(m)[:-2] + f", {m['train']['tokens']:,} training tokens |"]
    tc = m.get("transformers_check")
    if isinstance(tc, dict):
        rows.append(f"| transformers {tc['transformers']} MambaForCausalLM on the exported files vs this model, "
                    f"logits over {tc['length']} bases (float64) | relative error {tc['relative_error']:.1e} |")
    return rows, (f"dna: val {f(m['val_bits_per_base'])} bits/base vs Markov {f(m['markov_best']['bits_per_base'])}; "
                  f"embed ratio {f(sep['ratio'], 3)} (untrained {f(sep0['ratio'], 3)})")


def timeseries(m):
    fc = m["forecast_synthetic_heldout"]
    an = m["anomaly_eval"]
    rows = ["| metric | value |", "| --- | --- |",
            f"| forecast MSE of z_(t+1), held-out synthetic ({fc['series']} × {fc['length']}, steps ≥ 64): "
            f"model / last value / zero | {f(fc['model_mse'])} / {f(fc['naive_last_value_mse'])} / "
            f"{f(fc['zero_mse'])} |",
            f"| same on the anomaly set's normal steps: model / last value | {f(an['model']['mse_normal_steps'])} / "
            f"{f(an['naive_last_value']['mse_normal_steps'])} |"]
    ds = an["dataset"]
    for key, label in [("model", "model, job scorer"), ("naive_last_value", "last-value forecast, job scorer"),
                       ("model_startup_skipped", "model, start-up skipped"),
                       ("naive_last_value_startup_skipped", "last value, start-up skipped")]:
        r = an[key]
        rows.append(f"| anomalies ({ds['series']} series, {ds['events']} events, threshold {ds['threshold']}), "
                    f"{label}: event P/R/F1, NAB-style, point F1 | {f(r['event']['precision'], 3)}/"
                    f"{f(r['event']['recall'], 3)}/{f(r['event']['f1'], 3)}, {f(r['nab_score'], 1)}, "
                    f"{f(r['point']['f1'], 3)} |")
    pk = an["model"]["per_kind"]
    rows.append("| model recall per kind (job scorer) | " + ", ".join(f"{k} {v['recall']:.2f}" for k, v in pk.items())
                + " |")
    best = max(an["model"]["sweep"].items(), key=lambda kv: kv[1]["event_f1"])
    rows.append(f"| threshold sweep, model (job scorer): best event F1 | {best[1]['event_f1']:.3f} at {best[0]} |")
    rows.append(train_row(m))
    return rows, (f"timeseries: MSE {f(fc['model_mse'])} vs last value {f(fc['naive_last_value_mse'])}; anomaly "
                  f"event F1 {f(an['model']['event']['f1'], 3)} vs {f(an['naive_last_value']['event']['f1'], 3)}, NAB "
                  f"{f(an['model']['nab_score'], 1)} vs {f(an['naive_last_value']['nab_score'], 1)}")


def audio(m):
    e = m["eval"]
    u = m["untrained_model"]
    nm = e["next_frame_mse"]
    rows = ["| metric | value |", "| --- | --- |",
            f"| next-frame MSE, held-out sentences (raw units): model / last frame / zero | {f(nm['model'], 6)} / "
            f"{f(nm['last_frame'], 6)} / {f(nm['zero'], 6)} |"]
    for key, label in [("embedding_separation_same_voice", "same voice (A, A+noise, A fast)"),
                       ("embedding_separation_all_renditions", "all renditions (incl. another voice)"),
                       ("embedding_separation_samples", "samples/audio WAVs")]:
        if key in e:
            rows.append(f"| within/between-utterance distance ratio, {label} | {f(e[key]['ratio'], 3)} "
                        f"(untrained {f(u[key]['ratio'], 3)}); 1-NN {f(e[key]['nn_accuracy'], 2)} |")
    rows.append(train_row(m))
    s = e["embedding_separation_same_voice"]
    return rows, (f"audio: next-frame MSE {f(nm['model'], 6)} vs zero {f(nm['zero'], 6)}, last frame "
                  f"{f(nm['last_frame'], 6)}; utterance ratio {f(s['ratio'], 3)} "
                  f"(untrained {f(u['embedding_separation_same_voice']['ratio'], 3)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.join(REPO, "models"))
    ap.add_argument("--fill", action="store_true")
    a = ap.parse_args()
    overview = []
    for name in NAMES:
        p = os.path.join(a.models, name, "metrics.json")
        if not os.path.exists(p):
            overview.append(f"{name}: no metrics.json (not trained)")
            continue
        with open(p) as fh:
            m = json.load(fh)
        rows, line = {"dna": dna, "timeseries": timeseries, "audio": audio}[name](m)
        overview.append(line)
        table = "\n".join(rows)
        print(f"\n### {name}\n\n{table}")
        card = os.path.join(a.models, name, "MODEL_CARD.md")
        if a.fill and os.path.exists(card):
            with open(card) as fh:
                text = fh.read()
            new, n = re.subn(r"(<!-- metrics:begin -->\n).*?(\n<!-- metrics:end -->)",
                             lambda mm: mm.group(1) + table + mm.group(2), text, flags=re.S)
            if n:
                with open(card, "w") as fh:
                    fh.write(new)
                print(f"(filled {card})", file=sys.stderr)
    print("\n## summary")
    for line in overview:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
