#!/usr/bin/env python3
"""Trains a small character-level DNA language model (Mamba-1, HF MambaForCausalLM layout, tied head) on the real
genomes in models/data/dna/, evaluates validation bits per base against order-k Markov baselines and the
embedding separation of sequence families, and writes OUT/{config.json, model.safetensors, vocab.json,
metrics.json}.

    python3 models/training/train_dna.py --budget 110 --out models/dna

Training: random windows of --seq-len bases from the training split (records sampled ∝ length within a family,
families ∝ sqrt(total length), so the 5 Mb bacterium does not drown the rest), either strand (reverse complement
with p = 0.5), next-base cross-entropy over every position, AdamW, cosine schedule over the wall-clock budget.
"""
import argparse
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mamba_torch as mt  # noqa: E402
from common import Budget, log, param_groups, setup, sync, write_json  # noqa: E402
from embed_eval import separation  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# A C G T N; IUPAC ambiguity codes and gaps read as N; U (RNA) as T; anything else <unk> (with --unknown unk).
VOCAB = {"A": 0, "C": 1, "G": 2, "T": 3, "N": 4}
VOCAB.update({c: 4 for c in "RYKMSWBDHV"})
VOCAB["U"] = 3
VOCAB["<unk>"] = 5
VOCAB_SIZE = 6
COMPLEMENT = np.array([3, 2, 1, 0, 4, 5], dtype=np.int64)  # A<->T, C<->G


def table():
    t = np.full(256, 5, dtype=np.uint8)
    for k, v in VOCAB.items():
        if len(k) == 1:
            t[ord(k)] = v
            t[ord(k.lower())] = v
    return t


def read_fasta(path):
    """[(name, uint8 ids)]."""
    recs, name, seq = [], None, []
    tab = table()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                if name is not None:
                    recs.append((name, tab[np.frombuffer("".join(seq).encode(), dtype=np.uint8)]))
                name, seq = line[1:], []
            elif line:
                seq.append(line)
    if name is not None:
        recs.append((name, tab[np.frombuffer("".join(seq).encode(), dtype=np.uint8)]))
    return recs


def family(name):
    return name.split("|")[0]


# ------------------------------------------------------------------------------------------- baselines

def markov_bits(train, val, kmax, both_strands, alpha=0.5):
    """Order-k Markov models, k = 0..kmax, add-alpha smoothing over the 5 symbols A C G T N, contexts over ACGT (N
    and the padding before a record's start read as A in contexts), counts from the training split (and its reverse
    complement when both_strands). Returns {k: {val record name: (bits over ACGT targets at positions >= 1, n)}}.
    Context ids grow by one base per order, so all orders cost one pass each."""
    seqs = [np.minimum(s, 4).astype(np.int64) for _, s in train]
    if both_strands:
        seqs = seqs + [COMPLEMENT[s[::-1]] for s in seqs]
    vs = [(n, np.minimum(s, 4).astype(np.int64)) for n, s in val]
    masks = [(np.arange(len(s)) >= 1) & (s < 4) for _, s in vs]
    tr_idx = [np.zeros(len(s), dtype=np.int64) for s in seqs]
    va_idx = [np.zeros(len(s), dtype=np.int64) for _, s in vs]

    def grow(idx, s, k):  # idx = idx * 4 + (base k steps back, N→A, 0 before the start)
        c = np.zeros(len(s), dtype=np.int64)
        if k < len(s):
            c[k:] = np.minimum(s[:-k], 3)
        idx *= 4
        idx += c
    out = {}
    for k in range(0, kmax + 1):
        if k > 0:
            for i, s in zip(tr_idx, seqs):
                grow(i, s, k)
            for i, (_, s) in zip(va_idx, vs):
                grow(i, s, k)
        counts = np.zeros((4 ** k) * 5, dtype=np.int64)
        for i, s in zip(tr_idx, seqs):
            counts += np.bincount(i * 5 + s, minlength=counts.size)
        counts = counts.reshape(-1, 5).astype(np.float64) + alpha
        logp = np.log2(counts / counts.sum(1, keepdims=True))
        del counts
        out[k] = {n: (float(-logp[i[m], s[m]].sum()), int(m.sum())) for (n, s), i, m in zip(vs, va_idx, masks)}
    return out


# ------------------------------------------------------------------------------------------- model eval

@torch.no_grad()
def model_bits(model, val, dev, chunk=16384):
    """Bits over ACGT targets at positions >= 1, per record (state carried across chunks)."""
    model.eval()
    out = []
    for name, s in val:
        x = torch.from_numpy(s.astype(np.int64)).to(dev)[None]
        state, bits, n = None, 0.0, 0
        for a in range(0, x.shape[1] - 1, chunk):
            inp = x[:, a:a + chunk]
            tgt = x[:, a + 1:a + chunk + 1]
            logits, _, state = model(inp, state)
            logits = logits[:, :tgt.shape[1]].float()
            lp = -F.log_softmax(logits, -1).gather(-1, tgt[..., None])[..., 0] / math.log(2)
            m = tgt < 4
            bits += float(lp[m].sum())
            n += int(m.sum())
        out.append((name, bits, n))
    return out


@torch.no_grad()
def window_embeddings(model, val, dev, window=1000, per_family=8):
    """Mean final hidden state of up to per_family non-overlapping windows per family of the val split."""
    model.eval()
    embs, labels = [], []
    by_fam = {}
    for name, s in val:
        by_fam.setdefault(family(name), []).append(s)
    for fam, seqs in sorted(by_fam.items()):
        got = 0
        for s in seqs:
            for a in range(0, len(s) - window + 1, window):
                if got >= per_family:
                    break
                x = torch.from_numpy(s[a:a + window].astype(np.int64)).to(dev)[None]
                _, h, _ = model(x)
                embs.append(h[0].float().mean(0).cpu())
                labels.append(fam)
                got += 1
    return (torch.stack(embs) if embs else None), labels


def transformers_check(model_dir, ids):
    """Loads the exported checkpoint with transformers (when installed) and compares its logits with this model's,
    both float64 on the CPU. Returns the relative error, or a string saying why there is none."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import transformers
        from transformers import MambaForCausalLM
    except ImportError:
        return "transformers not installed"
    try:
        ref = MambaForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float64).eval()
    except TypeError:  # newer releases call it dtype
        ref = MambaForCausalLM.from_pretrained(model_dir, dtype=torch.float64).eval()
    ours, _ = mt.load_checkpoint(model_dir)
    ours = ours.double().eval()
    x = torch.from_numpy(ids.astype(np.int64))[None]
    with torch.no_grad():
        a = ref(input_ids=x, use_cache=False).logits[0]
        b = ours(x)[0][0]
    return {"relative_error": float((a - b).norm() / a.norm()), "transformers": transformers.__version__,
            "length": int(x.shape[1])}


# ------------------------------------------------------------------------------------------- training

class Sampler:
    """Random training windows (length L+1) on the device, either strand."""

    def __init__(self, train, L, dev, seed):
        self.L = L
        self.dev = dev
        keep = [(n, s) for n, s in train if len(s) > L + 1]
        fam_len = {}
        for n, s in keep:
            fam_len[family(n)] = fam_len.get(family(n), 0) + len(s)
        w = np.array([(len(s) - L - 1) / fam_len[family(n)] * math.sqrt(fam_len[family(n)]) for n, s in keep])
        self.p = w / w.sum()
        self.offsets = np.cumsum([0] + [len(s) for _, s in keep])[:-1]
        self.room = np.array([len(s) - L - 1 for _, s in keep])
        self.data = torch.from_numpy(np.concatenate([s for _, s in keep]).astype(np.int64)).to(dev)
        self.comp = torch.from_numpy(COMPLEMENT).to(dev)
        self.rng = np.random.default_rng(seed)
        self.ar = torch.arange(L + 1, device=dev)
        self.shares = {f: float(sum(self.p[i] for i, (n, _) in enumerate(keep) if family(n) == f)) for f in fam_len}

    def batch(self, B):
        r = self.rng.choice(len(self.p), size=B, p=self.p)
        st = self.offsets[r] + (self.rng.random(B) * (self.room[r] + 1)).astype(np.int64)
        idx = torch.from_numpy(st).to(self.dev)[:, None] + self.ar
        x = self.data[idx]
        flip = torch.from_numpy(self.rng.random(B) < 0.5).to(self.dev)
        x = torch.where(flip[:, None], self.comp[x.flip(1)], x)
        return x


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=110, help="training wall-clock seconds")
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--out", default=os.path.join(REPO, "models", "dna"))
    ap.add_argument("--data", default=os.path.join(REPO, "models", "data", "dna"))
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--state", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--amp", choices=["none", "bf16"], default="none")
    ap.add_argument("--markov-max-k", type=int, default=12)
    ap.add_argument("--val-max-bases", type=int, default=None, help="cap on val bases (smoke tests)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    dev = setup(a.seed)
    t0 = time.time()
    train = read_fasta(os.path.join(a.data, "train.fa.gz"))
    val = read_fasta(os.path.join(a.data, "val.fa.gz"))
    if a.val_max_bases:
        val = [(n, s[:max(2, a.val_max_bases // len(val))]) for n, s in val]
    log(f"data: train {sum(len(s) for _, s in train)} bases / {len(train)} records, "
        f"val {sum(len(s) for _, s in val)} / {len(val)}")

    cfg = mt.MambaConfig(hidden_size=a.hidden, num_hidden_layers=a.layers, state_size=a.state, vocab_size=VOCAB_SIZE,
                         tie_word_embeddings=True)
    model = mt.build_model(cfg).to(dev)
    init_copy = mt.build_model(cfg)
    init_copy.load_state_dict({k: v.detach().cpu() for k, v in model.state_dict().items()})
    log(f"model: {mt.count_parameters(model)} parameters, hidden {a.hidden}, layers {a.layers}, state {a.state}")
    opt = torch.optim.AdamW(param_groups(model, a.weight_decay), lr=a.lr, betas=(0.9, 0.95))
    sampler = Sampler(train, a.seq_len, dev, a.seed)
    log("family sampling shares: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(sampler.shares.items())))
    budget = Budget(a.budget, a.max_steps)
    amp = torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=a.amp == "bf16")
    model.train()
    ema, tokens = None, 0
    while not budget.done():
        for g in opt.param_groups:
            g["lr"] = budget.lr(a.lr)
        x = sampler.batch(a.batch)
        with amp:
            logits, _, _ = model(x[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, VOCAB_SIZE), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        budget.steps += 1
        tokens += x[:, 1:].numel()
        lv = loss.item() / math.log(2)
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
        if budget.steps % 25 == 0 or budget.steps == 1:
            log(f"step {budget.steps:5d}  {budget.elapsed():6.1f}s  train bits/base {ema:.4f}  "
                f"lr {opt.param_groups[0]['lr']:.2e}  {tokens / budget.elapsed():,.0f} tok/s")
    sync(dev)
    train_s = budget.elapsed()
    log(f"trained {budget.steps} steps, {tokens:,} tokens in {train_s:.1f}s")

    # ---- evaluation
    te = time.time()
    per = model_bits(model, val, dev)
    fam_bits = {}
    for name, b, n in per:
        f = family(name)
        fb = fam_bits.setdefault(f, [0.0, 0])
        fb[0] += b
        fb[1] += n
    total_b = sum(b for _, b, _ in per)
    total_n = sum(n for _, _, n in per)
    markov, markov_fam = {}, {}
    for both in (False, True):
        for k, per_rec in markov_bits(train, val, a.markov_max_k, both).items():
            key = f"k{k}_{'both' if both else 'fwd'}"
            n = sum(v[1] for v in per_rec.values())
            assert n == total_n, (n, total_n)
            markov[key] = sum(v[0] for v in per_rec.values()) / n
            fam = {}
            for name, (b, c) in per_rec.items():
                fb = fam.setdefault(family(name), [0.0, 0])
                fb[0] += b
                fb[1] += c
            markov_fam[key] = {f: v[0] / v[1] for f, v in fam.items()}
    best = min(markov, key=markov.get)
    best_fam = markov_fam[best]
    emb, labels = window_embeddings(model, val, dev)
    emb0, _ = window_embeddings(init_copy.to(dev), val, dev)
    nan = {"ratio": float("nan"), "nn_accuracy": float("nan"), "items": 0, "groups": 0}
    sep = separation(emb, labels) if emb is not None else nan  # None: validation cut too short (smoke tests)
    sep0 = separation(emb0, labels) if emb0 is not None else nan
    log(f"eval {time.time() - te:.1f}s")

    metrics = {
        "model": "dna",
        "val_bits_per_base": total_b / total_n,
        "val_bases_scored": total_n,
        "val_bits_per_base_by_family": {f: v[0] / v[1] for f, v in fam_bits.items()},
        "markov_best": {"order": best, "bits_per_base": markov[best]},
        "markov_best_by_family": best_fam,
        "markov_all": markov,
        "embedding_separation_val_windows": sep,
        "embedding_separation_untrained_model": sep0,
        "train": {"steps": budget.steps, "tokens": tokens, "seconds": train_s, "batch": a.batch,
                  "seq_len": a.seq_len, "lr": a.lr, "weight_decay": a.weight_decay, "amp": a.amp,
                  "final_train_bits_per_base_ema": ema, "device": str(dev),
                  "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
                  "torch": torch.__version__},
        "parameters": mt.count_parameters(model),
        "config": cfg.to_json(),
    }
    mt.save_checkpoint(a.out, model.cpu(), cfg,
                       extra_files={"vocab.json": VOCAB})
    try:
        metrics["transformers_check"] = transformers_check(a.out, val[0][1][:1500])
    except Exception as e:  # a check, not a reason to lose the trained model
        metrics["transformers_check"] = f"failed: {type(e).__name__}: {e}"
    log(f"transformers check: {metrics['transformers_check']}")
    write_json(os.path.join(a.out, "metrics.json"), metrics)
    log(f"val bits/base {metrics['val_bits_per_base']:.4f} vs best Markov {best} {markov[best]:.4f}; "
        f"embedding within/between {sep['ratio']:.3f} (untrained {sep0['ratio']:.3f}), "
        f"1-NN family acc {sep['nn_accuracy']:.2f}; total {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
