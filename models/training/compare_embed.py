#!/usr/bin/env python3
"""Checks the embed job's output for WAV input against this package's PyTorch model in float64: for each row
(JSON lines with sequence_id, file, length, embedding_mean, embedding_last, e.g. from
`bin/mamba-pipeline show OUT/embeddings`) the file is framed as the WAV reader does (16-bit PCM / 32768, frames
of the model's frame_size, the last zero-padded) and run through the model; prints the relative errors.

    bin/mamba-pipeline embed --model models/audio --input samples/audio/*.wav --output /tmp/e
    bin/mamba-pipeline show /tmp/e/embeddings > /tmp/e.jsonl
    python3 models/training/compare_embed.py --model models/audio --rows /tmp/e.jsonl
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mamba_torch as mt  # noqa: E402
import train_audio as ta  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--rows", required=True)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    a = ap.parse_args()
    model, cfg = mt.load_checkpoint(a.model)
    model = model.double().eval()
    frame = int(cfg.extra.get("frame_size", cfg.input_features))
    worst = 0.0
    with open(a.rows) as f:
        for line in f:
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            if r.get("embedding_mean") is None:
                continue
            fr = torch.from_numpy(ta.frames_of(ta.read_wav16(r["file"]), frame)).double()[None]
            with torch.no_grad():
                _, h, _ = model(fr)
            out = []
            for key, ref in (("embedding_mean", h[0].mean(0)), ("embedding_last", h[0, -1])):
                j = torch.tensor(r[key], dtype=torch.float64)
                e = float((j - ref).norm() / ref.norm())
                worst = max(worst, e)
                out.append(f"{key} rel err {e:.2e}")
            print(f"{r['sequence_id']}: {r['length']} steps (torch {fr.shape[1]}), " + ", ".join(out))
    print(f"worst relative error {worst:.2e} (tolerance {a.tolerance:g})")
    return 0 if worst <= a.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
