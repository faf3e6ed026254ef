#!/usr/bin/env python3
"""Makes the conformance fixtures: small random-weight Mamba checkpoints saved by Hugging Face
transformers' save_pretrained, token inputs, and the reference outputs of transformers' MambaModel /
MambaForCausalLM computed in float64 on the CPU.

Needs PyTorch + transformers (the GPU machine has both; nothing is downloaded). Usage:
    python3 make_fixtures.py OUT_DIR
Writes OUT_DIR/<case>/{config.json, model.safetensors (or shards + index), tokens.txt, expected.safetensors}.

Every parameter is re-drawn far from its initial value (A_log, D, norms, dt biases included) so that a
loader or kernel that ignores one of them cannot pass. As a self-check, the script also runs its own
plain float64 implementation of the equations and requires it to agree with transformers.
"""
import json
import math
import os
import shutil
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import MambaConfig, MambaForCausalLM, MambaModel  # noqa: E402

CASES = [
    # name, config kwargs, tie, saved dtype, head?, lengths, shard size
    dict(name="odd_shapes", cfg=dict(vocab_size=37, hidden_size=40, state_size=8, conv_kernel=3, expand=3,
                                     num_hidden_layers=2, time_step_rank=5, use_bias=True, use_conv_bias=True,
                                     layer_norm_epsilon=1e-5),
         tie=False, dtype="float32", head=True, lengths=[1, 2, 3, 17, 64, 257, 1500]),
    dict(name="tied_auto_rank", cfg=dict(vocab_size=50, hidden_size=64, state_size=16, conv_kernel=4, expand=2,
                                         num_hidden_layers=3, time_step_rank="auto", use_bias=False,
                                         use_conv_bias=True, layer_norm_epsilon=1e-5),
         tie=True, dtype="float32", head=True, lengths=[1, 33, 1024, 1600]),
    dict(name="bf16_saved", cfg=dict(vocab_size=29, hidden_size=48, state_size=16, conv_kernel=4, expand=2,
                                     num_hidden_layers=2, time_step_rank="auto", use_bias=False, use_conv_bias=True,
                                     layer_norm_epsilon=1e-6),
         tie=False, dtype="bfloat16", head=True, lengths=[5, 300, 1500]),
    dict(name="bare_model_sharded", cfg=dict(vocab_size=21, hidden_size=32, state_size=4, conv_kernel=4, expand=2,
                                             num_hidden_layers=2, time_step_rank=3, use_bias=False,
                                             use_conv_bias=False, layer_norm_epsilon=1e-5),
         tie=True, dtype="float32", head=False, lengths=[1, 100, 1501], shard="40KB"),
]


def perturb(model, gen):
    """Re-draw every parameter far from its initial value."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            shape = p.shape
            def u(lo, hi):
                return torch.rand(shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo
            if name.endswith("A_log"):
                v = u(-1.0, 2.0)
            elif name.endswith(".D"):
                v = u(-2.0, 2.0)
            elif "norm" in name:
                v = u(0.5, 1.5)
            elif name.endswith("dt_proj.bias"):
                v = u(-4.0, 1.0)
            elif "embedding" in name:
                v = u(-1.0, 1.0)
            elif name.endswith("conv1d.weight"):
                v = u(-0.6, 0.6)
            elif name.endswith("bias"):
                v = u(-0.3, 0.3)
            else:
                fan_in = shape[-1] if len(shape) > 1 else 1
                b = 1.5 / math.sqrt(fan_in)
                v = u(-b, b)
            p.copy_(v.to(p.dtype))


def own_forward(sd, cfg, ids, has_head, prefix):
    """Plain float64 Mamba-1 from the equations, to cross-check transformers."""
    g = lambda k: sd[prefix + k].double()
    h = g("embeddings.weight")[ids]
    L = ids.shape[0]
    D = cfg.intermediate_size
    N = cfg.state_size
    R = cfg.time_step_rank
    K = cfg.conv_kernel
    eps = cfg.layer_norm_epsilon

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    for i in range(cfg.num_hidden_layers):
        p = f"layers.{i}."
        xn = rms(h, g(p + "norm.weight"))
        xz = xn @ g(p + "mixer.in_proj.weight").T
        if cfg.use_bias:
            xz = xz + g(p + "mixer.in_proj.bias")
        x, z = xz[:, :D], xz[:, D:]
        w = g(p + "mixer.conv1d.weight")[:, 0, :]  # [D, K]
        xp = torch.cat([torch.zeros(K - 1, D, dtype=torch.float64), x], 0)
        xc = torch.stack([(xp[t:t + K] * w.T).sum(0) for t in range(L)], 0)
        if cfg.use_conv_bias:
            xc = xc + g(p + "mixer.conv1d.bias")
        xc = xc * torch.sigmoid(xc)
        dbc = xc @ g(p + "mixer.x_proj.weight").T
        dt = dbc[:, :R] @ g(p + "mixer.dt_proj.weight").T + g(p + "mixer.dt_proj.bias")
        dt = torch.where(dt > 20, dt, torch.log1p(torch.exp(dt)))
        Bm, Cm = dbc[:, R:R + N], dbc[:, R + N:]
        A = -torch.exp(g(p + "mixer.A_log"))
        s = torch.zeros(D, N, dtype=torch.float64)
        ys = []
        for t in range(L):
            s = torch.exp(dt[t][:, None] * A) * s + (dt[t] * xc[t])[:, None] * Bm[t][None, :]
            ys.append(s @ Cm[t])
        y = torch.stack(ys, 0) + xc * g(p + "mixer.D")
        y = y * (z * torch.sigmoid(z))
        out = y @ g(p + "mixer.out_proj.weight").T
        if cfg.use_bias:
            out = out + g(p + "mixer.out_proj.bias")
        h = h + out
    hf = rms(h, g("norm_f.weight"))
    logits = None
    if has_head:
        head = sd.get("lm_head.weight")
        logits = hf @ (head.double() if head is not None else g("embeddings.weight")).T
    return hf, logits


def rel(a, b):
    return float((a - b).norm() / b.norm())


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    summary = []
    for ci, case in enumerate(CASES):
        torch.manual_seed(1000 + ci)
        gen = torch.Generator().manual_seed(2000 + ci)
        cfg = MambaConfig(tie_word_embeddings=case["tie"], **case["cfg"])
        model = (MambaForCausalLM if case["head"] else MambaModel)(cfg)
        perturb(model, gen)
        model.eval()
        dest = os.path.join(out, case["name"])
        shutil.rmtree(dest, ignore_errors=True)
        saved = model.to(getattr(torch, case["dtype"]))
        kwargs = {"max_shard_size": case["shard"]} if "shard" in case else {}
        try:
            saved.save_pretrained(dest, safe_serialization=True, **kwargs)
        except TypeError:  # transformers versions that always write safetensors dropped the flag
            saved.save_pretrained(dest, **kwargs)
        # The reference runs on exactly the saved (possibly bf16-rounded) values, upcast to float64.
        model = model.to(torch.float64)
        sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
        prefix = "backbone." if case["head"] else ""
        gen_tok = torch.Generator().manual_seed(3000 + ci)
        lines, expected = [], {}
        for i, L in enumerate(case["lengths"]):
            ids = torch.randint(0, cfg.vocab_size, (L,), generator=gen_tok)
            lines.append(" ".join(str(int(t)) for t in ids))
            with torch.no_grad():
                res = model(input_ids=ids[None, :], use_cache=False)
                if case["head"]:
                    hf_hidden = model.backbone(input_ids=ids[None, :], use_cache=False).last_hidden_state[0]
                    hf_logits = res.logits[0]
                else:
                    hf_hidden = res.last_hidden_state[0]
                    hf_logits = None
                own_hidden, own_logits = own_forward(sd, cfg, ids, case["head"], prefix)
            e = rel(hf_hidden, own_hidden)
            assert e < 1e-5, f"{case['name']} line {i}: transformers vs own float64 differ by {e}"
            expected[f"last_hidden_state.{i}"] = hf_hidden.float().contiguous()
            if case["head"]:
                el = rel(hf_logits, own_logits)
                assert el < 1e-5, f"{case['name']} line {i}: logits differ by {el}"
                expected[f"logits.{i}"] = hf_logits.float().contiguous()
            summary.append((case["name"], i, L, e))
        with open(os.path.join(dest, "tokens.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        save_file(expected, os.path.join(dest, "expected.safetensors"),
                  metadata={"generator": "tests/conformance/make_fixtures.py",
                            "transformers": __import__("transformers").__version__,
                            "torch": torch.__version__, "precision": "float64 reference, stored float32"})
        with open(os.path.join(dest, "case.json"), "w") as f:
            json.dump({"name": case["name"], "config": {k: v for k, v in case["cfg"].items()},
                       "tie_word_embeddings": case["tie"], "saved_dtype": case["dtype"], "lm_head": case["head"],
                       "lengths": case["lengths"]}, f, indent=1)
        print(f"[fixtures] {case['name']}: {sorted(os.listdir(dest))}", flush=True)
    for name, i, L, e in summary:
        print(f"{name:20s} line {i} len {L:5d}  transformers-vs-own rel {e:.2e}")


if __name__ == "__main__":
    main()
