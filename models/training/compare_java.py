#!/usr/bin/env python3
"""Checks that the Java pipeline reads an exported token checkpoint exactly: runs `bin/mamba-pipeline forward`
on token lines cut from a FASTA file and compares its last_hidden_state / logits with this package's PyTorch
model in float64. Needs the built project (bin/mamba-pipeline builds it) and torch + numpy.

    /usr/bin/python3 models/training/compare_java.py --model models/dna --fasta samples/genomes/lambda_phage.fa
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mamba_torch as mt  # noqa: E402
from train_dna import read_fasta  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def rel(a, b):
    return float((a.double() - b.double()).norm() / b.double().norm())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--fasta", default=os.path.join(REPO, "samples", "genomes", "lambda_phage.fa"))
    ap.add_argument("--lengths", default="1,7,333,5000")
    ap.add_argument("--chunk", type=int, default=None, help="pass --chunk N to the Java forward")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    a = ap.parse_args()
    seq = read_fasta(a.fasta)[0][1]
    with open(os.path.join(a.model, "vocab.json")) as f:
        vocab = json.load(f)
    lengths = [int(x) for x in a.lengths.split(",")]
    lines, off = [], 0
    for L in lengths:
        lines.append([int(t) for t in seq[off:off + L]])
        off += L
    model, cfg = mt.load_checkpoint(a.model)
    model = model.double().eval()
    worst = 0.0
    with tempfile.TemporaryDirectory() as d:
        tok = os.path.join(d, "tokens.txt")
        with open(tok, "w") as f:
            for ids in lines:
                f.write(" ".join(map(str, ids)) + "\n")
        out = os.path.join(d, "java.safetensors")
        cmd = [os.path.join(REPO, "bin", "mamba-pipeline"), "forward", "--model", a.model, "--tokens", tok,
               "--output", out, "--backend", "cpu"] + (["--chunk", str(a.chunk)] if a.chunk else [])
        subprocess.run(cmd, check=True)
        java = mt.read_safetensors(out)
    print(f"model {a.model}: vocab {len(vocab)} keys, {cfg.num_hidden_layers} layers, hidden {cfg.hidden_size}")
    with torch.no_grad():
        for i, ids in enumerate(lines):
            logits, h, _ = model(torch.tensor([ids]))
            eh = rel(java[f"last_hidden_state.{i}"], h[0])
            el = rel(java[f"logits.{i}"], logits[0])
            worst = max(worst, eh, el)
            print(f"line {i} length {len(ids):5d}: hidden rel err {eh:.2e}, logits rel err {el:.2e}")
    print(f"worst relative error {worst:.2e} (tolerance {a.tolerance:g})")
    return 0 if worst <= a.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
