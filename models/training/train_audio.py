#!/usr/bin/env python3
"""Trains the audio frame model of the continuous family: 16 kHz mono, one step = one frame of 400 samples
(25 ms; the pipeline's default --frame-size), input_features = output_features = 400. Inputs are the RAW frames in
[-1, 1] exactly as the WAV reader yields them (16-bit PCM / 32768), not normalised: the embed job feeds raw frames
(FeatureEncoder). The head predicts the next raw frame. (The score job normalises WAV frames causally per feature
before the model; this model was not trained on such inputs, so use it for embeddings, not for scoring.)

Data: espeak-ng speech from models/data/audio/train.npz (render_audio.py), concatenated with short silences and
cut into random crops of --frames frames, augmented on the GPU: speed ×0.9-1.1 (linear resampling), gain
0.3-1.5 (clipped to [-1, 1]), white noise at 5-40 dB SNR on half the crops, random sample offset (frame phase).
Loss: MSE of the next frame.

Evaluation (models/data/audio/eval.npz: 8 held-out sentences × 4 renditions): next-frame MSE against the last-frame
and zero forecasts; embedding separation of utterances from the mean final hidden state of each clip (as the embed
job's embedding_mean), over the same-voice renditions (A, A_noise, A_fast) and over all four (incl. voice B).

    python3 models/training/train_audio.py --budget 90 --out models/audio
"""
import argparse
import math
import os
import sys
import time
import wave

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mamba_torch as mt  # noqa: E402
import render_audio  # noqa: E402
from common import Budget, log, param_groups, setup, sync, write_json  # noqa: E402
from embed_eval import separation  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FRAME = 400
RATE = 16000


def frames_of(x, frame=FRAME):
    """As the WAV reader: consecutive frames, the last zero-padded to a whole frame → [steps, frame]."""
    n = (len(x) + frame - 1) // frame
    out = np.zeros(n * frame, dtype=np.float32)
    out[:len(x)] = x
    return out.reshape(n, frame)


def read_wav16(path):
    with wave.open(path) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


class Crops:
    """Random augmented crops [B, L, FRAME] from the concatenated training audio, on the device."""

    def __init__(self, clips, L, dev, seed):
        rng = np.random.default_rng(seed)
        parts = []
        for x in clips:
            parts.append(x)
            parts.append(np.zeros(int(rng.uniform(0.05, 0.5) * RATE), dtype=np.float32))
        self.stream = torch.from_numpy(np.concatenate(parts)).to(dev)
        self.L, self.dev = L, dev
        self.g = torch.Generator(device="cpu").manual_seed(seed)

    def batch(self, B):
        N = self.L * FRAME
        rates = torch.empty(B).uniform_(0.9, 1.1, generator=self.g)
        out = torch.empty(B, N, device=self.dev)
        for b in range(B):
            n = int(math.ceil(N * float(rates[b]))) + 2
            s = int(torch.randint(0, self.stream.numel() - n, (1,), generator=self.g))
            seg = self.stream[s:s + n][None, None]
            out[b] = F.interpolate(seg, size=N, mode="linear", align_corners=False)[0, 0]
        gain = torch.exp(torch.empty(B, 1).uniform_(math.log(0.3), math.log(1.5), generator=self.g)).to(self.dev)
        out = out * gain
        p = out.pow(2).mean(1, keepdim=True)
        snr = torch.empty(B, 1).uniform_(5, 40, generator=self.g).to(self.dev)
        on = (torch.rand(B, 1, generator=self.g) < 0.5).to(self.dev)
        noise = torch.randn(B, N, device=self.dev) * torch.sqrt(p / 10 ** (snr / 10)) * on
        return (out + noise).clamp(-1, 1).reshape(B, self.L, FRAME)


@torch.no_grad()
def clip_outputs(model, x, dev):
    fr = torch.from_numpy(frames_of(x)).to(dev)[None]
    pred, h, _ = model(fr)
    return fr[0], pred[0].float(), h[0].float()


@torch.no_grad()
def evaluate(model, eval_clips, dev, samples_dir):
    model.eval()
    se_m = se_last = se_zero = 0.0
    n = 0
    embs, texts, rends = [], [], []
    for x, m in eval_clips:
        fr, pred, h = clip_outputs(model, x, dev)
        tgt = fr[1:]
        se_m += float(((pred[:-1] - tgt) ** 2).sum())
        se_last += float(((fr[:-1] - tgt) ** 2).sum())
        se_zero += float((tgt ** 2).sum())
        n += tgt.numel()
        embs.append(h.mean(0).cpu())
        texts.append(m["text"])
        rends.append(m["rendition"])
    emb = torch.stack(embs)
    same_voice = [i for i, r in enumerate(rends) if r != "B"]
    res = {"next_frame_mse": {"model": se_m / n, "last_frame": se_last / n, "zero": se_zero / n,
                              "skill_vs_zero": 1 - se_m / se_zero, "skill_vs_last_frame": 1 - se_m / se_last},
           "embedding_separation_same_voice": separation(emb[same_voice], [texts[i] for i in same_voice]),
           "embedding_separation_all_renditions": separation(emb, texts)}
    # the demo WAVs, read as the WAV reader does
    names = sorted(f for f in os.listdir(samples_dir) if f.endswith(".wav")) if os.path.isdir(samples_dir) else []
    if names:
        se = []
        for f in names:
            _, _, h = clip_outputs(model, read_wav16(os.path.join(samples_dir, f)), dev)
            se.append(h.mean(0).cpu())
        res["embedding_separation_samples"] = separation(torch.stack(se), [f.split("_")[0] for f in names])
        res["embedding_separation_samples"]["files"] = names
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=90)
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--out", default=os.path.join(REPO, "models", "audio"))
    ap.add_argument("--data", default=os.path.join(REPO, "models", "data", "audio"))
    ap.add_argument("--samples", default=os.path.join(REPO, "samples", "audio"))
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--state", type=int, default=16)
    ap.add_argument("--frames", type=int, default=256, help="frames per training crop (256 = 6.4 s)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--amp", choices=["none", "bf16"], default="none")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    dev = setup(a.seed)
    t0 = time.time()
    train = render_audio.load(os.path.join(a.data, "train.npz"))
    evals = render_audio.load(os.path.join(a.data, "eval.npz"))
    log(f"data: train {len(train)} clips {sum(len(x) for x, _ in train) / RATE:.0f} s, eval {len(evals)} clips")
    cfg = mt.MambaConfig(hidden_size=a.hidden, num_hidden_layers=a.layers, state_size=a.state,
                         input_features=FRAME, output_features=FRAME,
                         extra={"frame_size": FRAME, "sample_rate": RATE,
                                "input": "raw mono frames in [-1, 1] (not normalised)",
                                "prediction": "next raw frame"})
    model = mt.build_model(cfg).to(dev)
    untrained = mt.build_model(cfg)
    untrained.load_state_dict({k: v.detach().cpu() for k, v in model.state_dict().items()})
    log(f"model: {mt.count_parameters(model)} parameters")
    crops = Crops([x for x, _ in train], a.frames, dev, a.seed)
    opt = torch.optim.AdamW(param_groups(model, a.weight_decay), lr=a.lr, betas=(0.9, 0.95))
    amp = torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=a.amp == "bf16")
    budget = Budget(a.budget, a.max_steps)
    model.train()
    ema = None
    while not budget.done():
        for g in opt.param_groups:
            g["lr"] = budget.lr(a.lr)
        x = crops.batch(a.batch)
        with amp:
            pred, _, _ = model(x[:, :-1])
        loss = F.mse_loss(pred.float(), x[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        budget.steps += 1
        lv = loss.item()
        ema = lv if ema is None else 0.97 * ema + 0.03 * lv
        if budget.steps % 25 == 0 or budget.steps == 1:
            log(f"step {budget.steps:5d}  {budget.elapsed():6.1f}s  train mse {ema:.6f}  "
                f"lr {opt.param_groups[0]['lr']:.2e}")
    sync(dev)
    train_s = budget.elapsed()
    log(f"trained {budget.steps} steps in {train_s:.1f}s")
    te = time.time()
    res = evaluate(model, evals, dev, a.samples)
    res0 = evaluate(untrained.to(dev), evals, dev, a.samples)
    log(f"eval {time.time() - te:.1f}s")
    metrics = {"model": "audio", "eval": res,
               "untrained_model": {k: v for k, v in res0.items() if k.startswith("embedding")},
               "train": {"steps": budget.steps, "seconds": train_s, "batch": a.batch, "frames": a.frames,
                         "lr": a.lr, "weight_decay": a.weight_decay, "amp": a.amp, "final_train_mse_ema": ema,
                         "device": str(dev), "torch": torch.__version__,
                         "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"},
               "parameters": mt.count_parameters(model), "config": cfg.to_json()}
    mt.save_checkpoint(a.out, model.cpu(), cfg)
    write_json(os.path.join(a.out, "metrics.json"), metrics)
    nm = res["next_frame_mse"]
    log(f"next-frame MSE {nm['model']:.6f} vs last frame {nm['last_frame']:.6f}, zero {nm['zero']:.6f}; "
        f"utterance within/between same voice {res['embedding_separation_same_voice']['ratio']:.3f} "
        f"(untrained {res0['embedding_separation_same_voice']['ratio']:.3f}), all renditions "
        f"{res['embedding_separation_all_renditions']['ratio']:.3f}; total {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
