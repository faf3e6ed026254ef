"""Self-contained PyTorch Mamba-1 with the Hugging Face parameterisation and tensor names, for training.

* ``MambaLM``: token model (``MambaForCausalLM`` layout: ``backbone.embeddings.weight``,
  ``backbone.layers.{i}.norm.weight``, ``backbone.layers.{i}.mixer.*``, ``backbone.norm_f.weight``,
  ``lm_head.weight`` unless tied).
* ``MambaContinuous``: our ``"model_type": "mamba_continuous"`` family (``backbone.input_proj.{weight,bias}``
  → the same layers → ``backbone.norm_f`` → ``head.{weight,bias}``).
* The equations are those of transformers' ``MambaMixer.slow_forward`` (and of
  ``tests/conformance/make_fixtures.py``'s float64 reference); only the selective scan is organised for speed:
  ``linear_scan`` runs the recurrence h_t = a_t·h_{t-1} + b_t in chunks (a sequential loop inside each chunk,
  vectorised over all chunks, then a short sequential carry between chunks), which uses only products and
  sums of values in (0, 1], so it is as stable as the plain loop. Its backward is the same scan run in reverse
  (custom autograd Function), so memory stays O(B·L·D·N) per layer.
* ``save_checkpoint`` / ``load_checkpoint``: config.json + model.safetensors, with ``safetensors.torch`` when it
  is installed and a small pure-Python reader/writer otherwise.

Works with PyTorch 1.13 (CPU smoke tests) through 2.x (GPU training, bf16 autocast: the SSM part always runs in
fp32 or fp64).
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------------------------- config

class MambaConfig:
    """Backbone hyper-parameters (Hugging Face MambaConfig names) plus the head of one of the two families."""

    def __init__(self, hidden_size=128, num_hidden_layers=4, state_size=16, expand=2, conv_kernel=4,
                 time_step_rank="auto", use_bias=False, use_conv_bias=True, layer_norm_epsilon=1e-5,
                 vocab_size=None, tie_word_embeddings=True, input_features=None, output_features=None,
                 extra=None):
        self.hidden_size = int(hidden_size)
        self.num_hidden_layers = int(num_hidden_layers)
        self.state_size = int(state_size)
        self.expand = int(expand)
        self.intermediate_size = self.expand * self.hidden_size
        self.conv_kernel = int(conv_kernel)
        self.time_step_rank = (math.ceil(self.hidden_size / 16) if time_step_rank == "auto"
                               else int(time_step_rank))
        self.use_bias = bool(use_bias)
        self.use_conv_bias = bool(use_conv_bias)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.vocab_size = vocab_size
        self.tie_word_embeddings = bool(tie_word_embeddings)
        self.input_features = input_features
        self.output_features = output_features
        # Keys written to config.json as they are (normalization_half_life, frame_size, notes ...).
        self.extra = dict(extra or {})
        if (vocab_size is None) == (input_features is None):
            raise ValueError("give either vocab_size (token model) or input_features/output_features (continuous)")
        if input_features is not None and output_features is None:
            raise ValueError("a continuous model needs output_features")

    @property
    def continuous(self):
        return self.input_features is not None

    def to_json(self):
        """The config.json dict: transformers' MambaConfig keys (token models load in transformers as they are)."""
        d = {
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_hidden_layers,
            "state_size": self.state_size,
            "expand": self.expand,
            "intermediate_size": self.intermediate_size,
            "conv_kernel": self.conv_kernel,
            "time_step_rank": self.time_step_rank,
            "use_bias": self.use_bias,
            "use_conv_bias": self.use_conv_bias,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "residual_in_fp32": True,
            "hidden_act": "silu",
        }
        if self.continuous:
            d.update({"model_type": "mamba_continuous", "input_features": int(self.input_features),
                      "output_features": int(self.output_features)})
        else:
            d.update({"model_type": "mamba", "architectures": ["MambaForCausalLM"],
                      "vocab_size": int(self.vocab_size), "tie_word_embeddings": self.tie_word_embeddings,
                      "pad_token_id": 0, "bos_token_id": 0, "eos_token_id": 0})
        d.update(self.extra)
        return d

    @staticmethod
    def from_json(d):
        known = {"hidden_size", "num_hidden_layers", "state_size", "expand", "conv_kernel", "time_step_rank",
                 "use_bias", "use_conv_bias", "layer_norm_epsilon", "vocab_size", "tie_word_embeddings",
                 "input_features", "output_features"}
        kw = {k: d[k] for k in known if k in d}
        if d.get("model_type") == "mamba_continuous":
            kw.pop("vocab_size", None)
        else:
            kw.pop("input_features", None)
            kw.pop("output_features", None)
        skip = known | {"intermediate_size", "residual_in_fp32", "hidden_act", "model_type", "architectures",
                        "pad_token_id", "bos_token_id", "eos_token_id"}
        cfg = MambaConfig(extra={k: v for k, v in d.items() if k not in skip}, **kw)
        if "intermediate_size" in d and int(d["intermediate_size"]) != cfg.intermediate_size:
            raise ValueError(f"intermediate_size {d['intermediate_size']} != expand × hidden_size "
                             f"{cfg.intermediate_size}: not supported here")
        return cfg


# ------------------------------------------------------------------------------------------------- scan

def _chunk_len(L):
    """Steps per chunk: about sqrt(L) (balances the in-chunk loop against the carry loop), a power of 2."""
    if L <= 16:
        return max(L, 1)
    return int(min(256, max(16, 2 ** round(math.log2(math.sqrt(L))))))


@torch.no_grad()
def linear_scan(a, b, h0=None, chunk=None):
    """h_t = a_t * h_{t-1} + b_t along dim 1 (h_{-1} = h0 or 0); a, b: [B, L, ...]; returns (h, h_last).

    Chunked: inside each chunk of T steps a sequential loop runs over all chunks at once (cumulative products of a
    and the chunk-local h), then a sequential carry runs over the L/T chunks, then one pass adds each chunk's
    carried-in state times the cumulative products. About T + L/T small launches instead of L.
    """
    Bsz, L = a.shape[0], a.shape[1]
    rest = a.shape[2:]
    if h0 is not None:
        b = b.clone()
        b[:, 0] += a[:, 0] * h0
    T = chunk or _chunk_len(L)
    C = (L + T - 1) // T
    pad = C * T - L
    if pad:
        a = torch.cat([a, a.new_ones((Bsz, pad) + tuple(rest))], 1)
        b = torch.cat([b, b.new_zeros((Bsz, pad) + tuple(rest))], 1)
    ac = a.reshape((Bsz, C, T) + tuple(rest)).clone()
    hs = b.reshape((Bsz, C, T) + tuple(rest)).clone()
    for t in range(1, T):
        hs[:, :, t].addcmul_(ac[:, :, t], hs[:, :, t - 1])
        ac[:, :, t].mul_(ac[:, :, t - 1])
    if C > 1:
        carry = hs.new_empty((Bsz, C) + tuple(rest))
        carry[:, 0] = 0
        H = hs[:, 0, T - 1]
        for c in range(1, C):
            carry[:, c] = H
            H = torch.addcmul(hs[:, c, T - 1], ac[:, c, T - 1], H)
        hs.addcmul_(ac, carry.unsqueeze(2))
    h = hs.reshape((Bsz, C * T) + tuple(rest))
    if pad:
        h = h[:, :L]
    return h, h[:, L - 1]


def sequential_scan(a, b, h0=None):
    """The plain loop, as a reference for tests."""
    h = torch.zeros_like(b[:, 0]) if h0 is None else h0
    out = []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return torch.stack(out, 1)


class _Scan(torch.autograd.Function):
    """h = scan(a, b) with h_{-1} = 0; backward: g_t = dh_t + a_{t+1} g_{t+1}, da_t = g_t h_{t-1}, db_t = g_t."""

    @staticmethod
    def forward(ctx, a, b):
        h, _ = linear_scan(a, b)
        ctx.save_for_backward(a, h)
        return h

    @staticmethod
    def backward(ctx, gh):
        a, h = ctx.saved_tensors
        a_next = torch.cat([a[:, 1:], torch.zeros_like(a[:, :1])], 1)
        g, _ = linear_scan(a_next.flip(1), gh.contiguous().flip(1))
        g = g.flip(1)
        h_prev = torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], 1)
        return g * h_prev, g


def selective_scan(a, b, h0=None):
    """Differentiable scan; a, b: [B, L, D, N]; returns (h [B, L, D, N], h_last [B, D, N])."""
    if h0 is not None:
        b = torch.cat([b[:, :1] + a[:, :1] * h0.unsqueeze(1), b[:, 1:]], 1)
    if torch.is_grad_enabled() and (a.requires_grad or b.requires_grad):
        h = _Scan.apply(a.contiguous(), b.contiguous())
        return h, h[:, -1]
    return linear_scan(a, b)


# ----------------------------------------------------------------------------------------------- layers

def _hi(t):
    """fp32 for half types (the SSM and the norms run in fp32 under autocast), else as is (fp64 stays)."""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def _no_autocast(t):
    """A context that turns autocast off on t's device type (cuda / cpu)."""
    return torch.autocast(device_type=t.device.type, enabled=False)


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        x = _hi(x)
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dt)


class MambaMixer(nn.Module):
    """transformers' MambaMixer (same parameter names); forward takes/returns [B, L, H] and an optional state."""

    def __init__(self, cfg):
        super().__init__()
        H, D, N, R, K = (cfg.hidden_size, cfg.intermediate_size, cfg.state_size, cfg.time_step_rank,
                         cfg.conv_kernel)
        self.D_inner, self.N, self.R, self.K = D, N, R, K
        self.in_proj = nn.Linear(H, 2 * D, bias=cfg.use_bias)
        self.conv1d = nn.Conv1d(D, D, K, groups=D, bias=cfg.use_conv_bias)
        self.x_proj = nn.Linear(D, R + 2 * N, bias=False)
        self.dt_proj = nn.Linear(R, D, bias=True)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, N + 1, dtype=torch.float32)).repeat(D, 1))
        self.D = nn.Parameter(torch.ones(D))
        self.out_proj = nn.Linear(D, H, bias=cfg.use_bias)
        self._init_dt()

    def _init_dt(self, dt_min=1e-3, dt_max=0.1, floor=1e-4):
        """mamba_ssm's init: dt_proj weight ±R^-0.5, bias = softplus^-1 of a log-uniform dt in [dt_min, dt_max]."""
        with torch.no_grad():
            s = self.R ** -0.5
            self.dt_proj.weight.uniform_(-s, s)
            dt = torch.exp(torch.rand(self.D_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
            dt = dt.clamp(min=floor)
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))

    def forward(self, h, state=None):
        """h [B, L, H]; state = (conv_tail [B, D, K-1], ssm [B, D, N]) or None; returns (out, new_state)."""
        Bsz, L, _ = h.shape
        D, N, R, K = self.D_inner, self.N, self.R, self.K
        xz = self.in_proj(h)
        x, z = xz[..., :D], xz[..., D:]
        xt = x.transpose(1, 2)  # [B, D, L]
        tail = xt.new_zeros(Bsz, D, K - 1) if state is None else state[0].to(xt.dtype)
        xt = torch.cat([tail, xt], 2)
        new_tail = xt[:, :, xt.shape[2] - (K - 1):]
        xc = F.conv1d(xt, self.conv1d.weight, self.conv1d.bias, groups=D)  # [B, D, L]
        xc = F.silu(xc).transpose(1, 2)  # [B, L, D]
        dbc = self.x_proj(xc)
        dt = F.softplus(_hi(self.dt_proj(dbc[..., :R])))  # threshold 20, as transformers
        Bm, Cm = _hi(dbc[..., R:R + N]), _hi(dbc[..., R + N:])
        xf = _hi(xc)
        A = -torch.exp(_hi(self.A_log)).to(dt.dtype)
        dA = torch.exp(dt.unsqueeze(-1) * A)  # [B, L, D, N]
        dBx = (dt * xf).unsqueeze(-1) * Bm.unsqueeze(2)  # [B, L, D, N]
        hs, last = selective_scan(dA, dBx, None if state is None else state[1].to(dA.dtype))
        y = torch.matmul(hs, Cm.unsqueeze(-1)).squeeze(-1) + xf * _hi(self.D)
        y = y * F.silu(_hi(z))
        out = self.out_proj(y if torch.is_autocast_enabled() else y.to(self.out_proj.weight.dtype))
        return out, (new_tail, last)


class MambaBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm = RMSNorm(cfg.hidden_size, cfg.layer_norm_epsilon)
        self.mixer = MambaMixer(cfg)

    def forward(self, h, state=None):
        out, st = self.mixer(self.norm(h), state)
        return _hi(h) + _hi(out), st  # residual in fp32 (residual_in_fp32)


class Backbone(nn.Module):
    """``backbone.*``: embeddings (tokens) or input_proj (continuous), the layers, norm_f."""

    def __init__(self, cfg):
        super().__init__()
        if cfg.continuous:
            self.input_proj = nn.Linear(cfg.input_features, cfg.hidden_size)
        else:
            self.embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([MambaBlock(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm_f = RMSNorm(cfg.hidden_size, cfg.layer_norm_epsilon)

    def forward(self, inp, state=None):
        """Returns (last_hidden_state after norm_f [B, L, H], new per-layer states)."""
        if hasattr(self, "input_proj"):
            with _no_autocast(inp):  # fp32 input projection: raw values / z-scores keep their precision
                h = self.input_proj(_hi(inp))
        else:
            h = self.embeddings(inp)
        new = []
        for i, layer in enumerate(self.layers):
            h, st = layer(h, None if state is None else state[i])
            new.append(st)
        return self.norm_f(h), new


def _init_weights(model, cfg):
    """mamba_ssm-style init: embeddings N(0, 0.02), out_proj rescaled by 1/sqrt(n_layer) (prenorm residual)."""
    with torch.no_grad():
        if hasattr(model.backbone, "embeddings"):
            nn.init.normal_(model.backbone.embeddings.weight, std=0.02)
        for layer in model.backbone.layers:
            p = layer.mixer.out_proj.weight
            nn.init.kaiming_uniform_(p, a=math.sqrt(5))
            p /= math.sqrt(cfg.num_hidden_layers)
            if layer.mixer.in_proj.bias is not None:
                nn.init.zeros_(layer.mixer.in_proj.bias)
            if layer.mixer.out_proj.bias is not None:
                nn.init.zeros_(layer.mixer.out_proj.bias)


class MambaLM(nn.Module):
    """Token model; ``lm_head`` is the embedding matrix when ``tie_word_embeddings`` (then not saved)."""

    def __init__(self, cfg):
        super().__init__()
        assert not cfg.continuous
        self.config = cfg
        self.backbone = Backbone(cfg)
        if not cfg.tie_word_embeddings:
            self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        _init_weights(self, cfg)

    def head_weight(self):
        return self.backbone.embeddings.weight if self.config.tie_word_embeddings else self.lm_head.weight

    def forward(self, ids, state=None):
        """ids [B, L] int64 → (logits [B, L, V], hidden [B, L, H], state)."""
        h, st = self.backbone(ids, state)
        logits = F.linear(h, self.head_weight())
        return logits, h, st


class MambaContinuous(nn.Module):
    """Continuous-input model: input_proj → layers → norm_f → head (e.g. next-step prediction)."""

    def __init__(self, cfg):
        super().__init__()
        assert cfg.continuous
        self.config = cfg
        self.backbone = Backbone(cfg)
        self.head = nn.Linear(cfg.hidden_size, cfg.output_features)
        _init_weights(self, cfg)

    def forward(self, x, state=None):
        """x [B, L, k] → (prediction [B, L, out], hidden [B, L, H], state).

        Under autocast the head still runs in fp32: predictions are compared at the 1e-2 level of normalised units.
        """
        h, st = self.backbone(x, state)
        with _no_autocast(h):
            pred = self.head(_hi(h))
        return pred, h, st


def build_model(cfg):
    return MambaContinuous(cfg) if cfg.continuous else MambaLM(cfg)


# ----------------------------------------------------------------------------------------- safetensors

_ST_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
              torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8"}
_ST_SIZES = {"F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1}


def write_safetensors(path, tensors, metadata=None):
    """Pure-Python safetensors writer: u64 LE header length, JSON header (dtype, shape, data_offsets), raw LE
    data in header order, the header padded with spaces to a multiple of 8 bytes."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _ST_DTYPES:
            raise ValueError(f"{name}: dtype {t.dtype} not supported")
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    """Pure-Python safetensors reader → {name: tensor} (BF16/F16 kept in their dtype)."""
    import numpy as np
    np_types = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
                "U8": "u1", "BF16": "<i2"}
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        s, t = e["data_offsets"]
        arr = np.frombuffer(data, dtype=np_types[e["dtype"]], count=(t - s) // _ST_SIZES[e["dtype"]],
                            offset=base + s).reshape(e["shape"]).copy()
        ten = torch.from_numpy(arr.astype(arr.dtype.newbyteorder("=")))
        if e["dtype"] == "BF16":
            ten = ten.view(torch.bfloat16)
        out[name] = ten
    return out


def state_dict_for_export(model, dtype=torch.float32):
    """The tensors a checkpoint holds: HF names, tied lm_head omitted."""
    sd = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}
    return sd


def save_checkpoint(directory, model, config=None, extra_files=None, dtype=torch.float32):
    """Writes directory/config.json and directory/model.safetensors (plus extra_files: {name: dict → JSON})."""
    cfg = config or model.config
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(cfg.to_json(), f, indent=2, sort_keys=True)
        f.write("\n")
    sd = state_dict_for_export(model, dtype)
    path = os.path.join(directory, "model.safetensors")
    meta = {"format": "pt", "writer": "models/training/mamba_torch.py"}
    try:
        from safetensors.torch import save_file
        save_file(sd, path, metadata=meta)
    except ImportError:
        write_safetensors(path, sd, meta)
    for name, obj in (extra_files or {}).items():
        with open(os.path.join(directory, name), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    return path


def load_checkpoint(directory, map_location="cpu"):
    """Reads config.json + model.safetensors (single file) written by save_checkpoint or save_pretrained."""
    with open(os.path.join(directory, "config.json")) as f:
        cfg = MambaConfig.from_json(json.load(f))
    model = build_model(cfg)
    sd = read_safetensors(os.path.join(directory, "model.safetensors"))
    sd = {k: v.float() if v.dtype in (torch.bfloat16, torch.float16) else v for k, v in sd.items()}
    if cfg.continuous is False and cfg.tie_word_embeddings:
        sd.pop("lm_head.weight", None)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise ValueError(f"{directory}: missing tensors {missing}, unexpected {unexpected}")
    return model.to(map_location), cfg


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())
