"""Shared training utilities: device choice, wall-clock-budgeted training loop with a cosine schedule over the
budget, optimiser groups, metrics files."""
import json
import math
import os
import platform
import time

import torch


def pick_device():
    """TORCH_DEVICE (cpu|cuda|cuda:N) if set, else cuda when available, else cpu."""
    name = os.environ.get("TORCH_DEVICE")
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def setup(seed):
    torch.manual_seed(seed)
    torch.set_float32_matmul_precision("high")  # TF32 matmuls on GPUs that have them; the scan stays fp32
    dev = pick_device()
    log(f"torch {torch.__version__} on {dev}"
        + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else f" ({platform.processor() or 'cpu'})"))
    return dev


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def param_groups(model, weight_decay):
    """Weight decay on matrices only (not on A_log, D, norms, biases, conv taps)."""
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        if p.ndim >= 2 and not n.endswith("A_log") and "conv1d" not in n:
            decay.append(p)
        else:
            no_decay.append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class Budget:
    """Wall-clock training budget: ``frac()`` in [0, 1] drives the schedule, ``done()`` ends the loop."""

    def __init__(self, seconds, max_steps=None):
        self.seconds = float(seconds)
        self.max_steps = max_steps
        self.start = time.time()
        self.steps = 0

    def elapsed(self):
        return time.time() - self.start

    def frac(self):
        f = self.elapsed() / max(self.seconds, 1e-9)
        if self.max_steps:
            f = max(f, self.steps / self.max_steps)
        return min(1.0, f)

    def done(self):
        return self.frac() >= 1.0

    def lr(self, peak, warmup_steps=50, floor=0.05):
        """Linear warm-up over the first steps, then cosine from peak to floor·peak over the remaining budget."""
        w = min(1.0, (self.steps + 1) / warmup_steps)
        return peak * w * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * self.frac())))


def write_json(path, obj):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=lambda o: o.item() if hasattr(o, "item") else str(o))
        f.write("\n")


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
