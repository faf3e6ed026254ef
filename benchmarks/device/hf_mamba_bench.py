#!/usr/bin/env python3
"""transformers' MambaModel (its PyTorch path) at the 130m shape on the GPU, random weights: tokens/s of
one forward over batch x length, median of a few runs after a warm-up. Prints one JSON line per case.
Usage: hf_mamba_bench.py [OUT.jsonl]"""
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402
from transformers import MambaConfig, MambaModel  # noqa: E402


def bench(dtype, batch, length, repeat=3):
    torch.manual_seed(0)
    cfg = MambaConfig(vocab_size=50280, hidden_size=768, num_hidden_layers=24, state_size=16, expand=2,
                      conv_kernel=4, use_cache=False)
    m = MambaModel(cfg).to("cuda", dtype=dtype).eval()
    ids = torch.randint(0, cfg.vocab_size, (batch, length), device="cuda")
    with torch.no_grad():
        m(input_ids=ids[:, :128], use_cache=False)
        torch.cuda.synchronize()
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            m(input_ids=ids, use_cache=False)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    times.sort()
    t = times[len(times) // 2]
    return {"impl": "transformers MambaModel (torch path)", "dtype": str(dtype).replace("torch.", ""),
            "batch": batch, "length": length, "seconds": t, "tokens_per_s": batch * length / t,
            "torch": torch.__version__, "transformers": __import__("transformers").__version__}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else None
    for dtype, b, l, r in [(torch.float32, 8, 2048, 3), (torch.bfloat16, 8, 2048, 3), (torch.bfloat16, 64, 2048, 1)]:
        res = bench(dtype, b, l, r)
        line = json.dumps(res)
        print(line, flush=True)
        if out:
            with open(out, "a") as f:
                f.write(line + "\n")


if __name__ == "__main__":
    main()
