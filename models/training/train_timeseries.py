#!/usr/bin/env python3
"""Trains the time-series forecaster of the continuous family (input_features = output_features = 1): at every
step it reads z_t, the value normalised causally exactly as the score job does (CausalNormalizer, half-life
`normalization_half_life` = 512, written to config.json), and predicts z_{t+1}, the next value normalised with the
moments up to t (what the job compares the prediction with). Pre-training data: the synthetic corpus of
tsdata.synth_batch, generated on the fly by CPU worker processes. Loss: MSE over targets z_{t+1} with t+1 >= 8
(the first steps' z come from 1-7 points of history: they are the normaliser's start-up, e.g. z_1 is always ±20).

Evaluation: MSE of the forecast on held-out synthetic series (steps >= 64) against the last-value forecast and the
zero forecast (= the running mean), then anomaly detection on a labelled set from anomaly_data.py (scored by the
PyTorch twin of the score job, threshold 6, warm-up 64, error half-life 1024 — the job's defaults), with the same
detector driven by the last-value forecast as the baseline.

    python3 models/training/train_timeseries.py --budget 100 --out models/timeseries
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anomaly_data  # noqa: E402
import eval_anomaly  # noqa: E402
import mamba_torch as mt  # noqa: E402
import score_timeseries as sts  # noqa: E402
import tsdata  # noqa: E402
from common import Budget, log, param_groups, setup, sync, write_json  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HALF_LIFE = 512
MASK_FIRST = 8


class SynthStream(torch.utils.data.IterableDataset):
    """Endless batches of normalised synthetic series: z [B, L] float32."""

    def __init__(self, batch, length, half_life, seed):
        self.batch, self.length, self.half_life, self.seed = batch, length, half_life, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        while True:
            x = tsdata.synth_batch(rng, self.batch, self.length)
            z, _, _ = tsdata.normalize(x, self.half_life)
            yield torch.from_numpy(z)


@torch.no_grad()
def forecast_mse(model, dev, n, L, seed, half_life, start=64):
    """MSE of model / last-value / zero forecasts of z_{t+1}, targets at index >= start, held-out synthetic data."""
    rng = np.random.default_rng([seed, 999])
    x = tsdata.synth_batch(rng, n, L)
    z, mean, scale = tsdata.normalize(x, half_life)
    model.eval()
    preds = []
    for i in range(0, n, 32):
        p, _, _ = model(torch.from_numpy(z[i:i + 32]).to(dev)[..., None])
        preds.append(p[..., 0].float().cpu().numpy())
    pred = np.concatenate(preds)[:, :-1]
    tgt = z[:, 1:].astype(np.float64)
    naive = tsdata.naive_next_z(x, mean, scale)
    sl = slice(start - 1, None)
    m = float(((pred[:, sl] - tgt[:, sl]) ** 2).mean())
    nv = float(((naive[:, sl] - tgt[:, sl]) ** 2).mean())
    zero = float((tgt[:, sl] ** 2).mean())
    return {"model_mse": m, "naive_last_value_mse": nv, "zero_mse": zero, "series": n, "length": L,
            "skill_vs_naive": 1 - m / nv, "skill_vs_zero": 1 - m / zero}


def anomaly_eval(model, dev, half_life, n_series, seed, threshold=6.0):
    """Detection on a labelled set (anomaly_data.generate), model vs last-value forecasts, the job's scorer and the
    start-up-skipping variant; each series is normalised once and shared by the four runs."""
    series, events = anomaly_data.generate(seed, n_series, prefix="e")
    labels = {sid: list(map(int, y)) for sid, dt, t0, x, y in series}
    kinds = {(e["series_id"], e["start"]): e["kind"] for e in events}
    preds = {}
    for sid, dt, t0, x, y in series:
        z, mean, scale = tsdata.normalize(x[None, :], half_life)
        z, mean, scale = z.T, mean.T, scale.T
        preds[sid] = (z, sts.predict(model, z, dev), sts.naive_predictor(z, x[:, None], mean, scale))
    out = {}
    for name, which, skip in [("model", 1, 0), ("naive_last_value", 2, 0), ("model_startup_skipped", 1, 64),
                              ("naive_last_value_startup_skipped", 2, 64)]:
        aligned, se = {}, []
        for sid, v in preds.items():
            err, score, flag = tsdata.score_arrays(v[0], v[which], threshold=threshold, skip=skip)
            aligned[sid] = (labels[sid], [None if np.isnan(s) else float(s) for s in score], [bool(f) for f in flag])
            lab = np.array(labels[sid])
            se.append(err[64:][lab[64:] == 0].astype(np.float64) ** 2)
        res = eval_anomaly.evaluate(aligned, {sid: v[2] for sid, v in aligned.items()}, kinds)
        res["sweep"] = {}
        for th in eval_anomaly.SWEEP:
            e = eval_anomaly.evaluate(aligned, {s: eval_anomaly.reflag(v[1], th, 64) for s, v in aligned.items()},
                                      kinds)
            res["sweep"][str(th)] = {"event_f1": e["event"]["f1"], "nab": e["nab_score"]}
        # forecast MSE (z units) on unlabelled steps after the warm-up
        res["mse_normal_steps"] = float(np.concatenate(se).mean())
        out[name] = res
    out["dataset"] = {"series": n_series, "seed": seed, "rows": int(sum(len(s[3]) for s in series)),
                      "events": len(events), "threshold": threshold, "warmup": 64, "error_half_life": 1024,
                      "note": "model / naive_last_value: the job's scorer as it is; *_startup_skipped: the first 64 "
                              "errors neither scored nor folded into the error RMS (proposed scorer change)"}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=100)
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--out", default=os.path.join(REPO, "models", "timeseries"))
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--state", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--workers", type=int, default=None, help="data worker processes (default: cores - 2)")
    ap.add_argument("--eval-series", type=int, default=256)
    ap.add_argument("--anomaly-series", type=int, default=48)
    ap.add_argument("--amp", choices=["none", "bf16"], default="none")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    t0 = time.time()
    # data workers fork before CUDA is initialised in this process (they use numpy only)
    workers = a.workers if a.workers is not None else max(1, min(14, (os.cpu_count() or 2) - 2))
    loader = torch.utils.data.DataLoader(SynthStream(a.batch, a.seq_len, HALF_LIFE, a.seed), batch_size=None,
                                         num_workers=workers, pin_memory=torch.cuda.is_available(),
                                         prefetch_factor=4 if workers else None, persistent_workers=False)
    it = iter(loader)
    dev = setup(a.seed)
    cfg = mt.MambaConfig(hidden_size=a.hidden, num_hidden_layers=a.layers, state_size=a.state, input_features=1,
                         output_features=1, extra={"normalization_half_life": HALF_LIFE,
                                                   "prediction": "next-step z (causally normalised units)"})
    model = mt.build_model(cfg).to(dev)
    log(f"model: {mt.count_parameters(model)} parameters")
    opt = torch.optim.AdamW(param_groups(model, a.weight_decay), lr=a.lr, betas=(0.9, 0.95))
    amp = torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=a.amp == "bf16")
    first = next(it)  # workers started: the budget counts training, not process start-up
    log(f"{workers} data workers ready after {time.time() - t0:.1f}s")
    budget = Budget(a.budget, a.max_steps)
    model.train()
    ema, wait = None, 0.0
    z = first
    while not budget.done():
        for g in opt.param_groups:
            g["lr"] = budget.lr(a.lr)
        z = z.to(dev, non_blocking=True)
        with amp:
            pred, _, _ = model(z[..., None])
        err = (pred[:, :-1, 0].float() - z[:, 1:]) ** 2
        loss = err[:, MASK_FIRST - 1:].mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        budget.steps += 1
        lv = loss.item()
        ema = lv if ema is None else 0.97 * ema + 0.03 * lv
        if budget.steps % 25 == 0 or budget.steps == 1:
            log(f"step {budget.steps:5d}  {budget.elapsed():6.1f}s  train mse {ema:.4f}  "
                f"lr {opt.param_groups[0]['lr']:.2e}  data wait {wait:.1f}s")
        tw = time.time()
        z = next(it)
        wait += time.time() - tw
    sync(dev)
    train_s = budget.elapsed()
    del it, loader
    log(f"trained {budget.steps} steps ({budget.steps * a.batch} series of {a.seq_len}) in {train_s:.1f}s, "
        f"waited {wait:.1f}s for data")
    te = time.time()
    fc = forecast_mse(model, dev, a.eval_series, a.seq_len, a.seed + 1, HALF_LIFE)
    log(f"held-out synthetic forecast MSE {fc['model_mse']:.4f} vs last value {fc['naive_last_value_mse']:.4f}, "
        f"zero {fc['zero_mse']:.4f}")
    an = anomaly_eval(model, dev, HALF_LIFE, a.anomaly_series, seed=7)
    log(f"eval {time.time() - te:.1f}s")
    metrics = {"model": "timeseries", "forecast_synthetic_heldout": fc, "anomaly_eval": an,
               "train": {"steps": budget.steps, "seconds": train_s, "batch": a.batch, "seq_len": a.seq_len,
                         "lr": a.lr, "weight_decay": a.weight_decay, "amp": a.amp, "loss_mask_first": MASK_FIRST,
                         "final_train_mse_ema": ema, "data_wait_seconds": wait, "workers": workers,
                         "device": str(dev), "torch": torch.__version__,
                         "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"},
               "parameters": mt.count_parameters(model), "config": cfg.to_json()}
    mt.save_checkpoint(a.out, model.cpu(), cfg)
    write_json(os.path.join(a.out, "metrics.json"), metrics)
    for v in ("", "_startup_skipped"):
        m, nv = an["model" + v], an["naive_last_value" + v]
        log(f"anomalies{v.replace('_', ' ')} (threshold 6): model event F1 {m['event']['f1']:.3f} "
            f"NAB {m['nab_score']:.1f}; last-value event F1 {nv['event']['f1']:.3f} NAB {nv['nab_score']:.1f}")
    log(f"total {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
