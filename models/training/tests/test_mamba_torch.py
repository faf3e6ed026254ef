"""Checks mamba_torch against independent references: the plain sequential scan, autograd through it, and the
transformers outputs stored in tests/src/test/resources/conformance (made by tests/conformance/make_fixtures.py).

Run: /usr/bin/python3 -m unittest discover -s models/training/tests -v   (needs only torch + numpy)
"""
import json
import os
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import mamba_torch as mt  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
FIXTURES = os.path.join(REPO, "tests", "src", "test", "resources", "conformance")


def rel(a, b):
    return float((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-300))


def load_fixture(name):
    """Model (float64) from a fixture dir: single file or shards, with or without the backbone. prefix."""
    d = os.path.join(FIXTURES, name)
    with open(os.path.join(d, "config.json")) as f:
        raw = json.load(f)
    cfg = mt.MambaConfig.from_json(raw)
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    sd = {}
    for fn in files:
        sd.update(mt.read_safetensors(os.path.join(d, fn)))
    if not any(k.startswith("backbone.") for k in sd):
        sd = {"backbone." + k: v for k, v in sd.items()}
    has_head = "lm_head.weight" in sd or raw.get("architectures") == ["MambaForCausalLM"]
    if cfg.tie_word_embeddings:
        sd.pop("lm_head.weight", None)
    model = mt.build_model(cfg)
    model.load_state_dict({k: v.double() for k, v in sd.items()}, strict=True)
    model = model.double().eval()
    with open(os.path.join(d, "tokens.txt")) as f:
        tokens = [[int(t) for t in line.split()] for line in f if line.strip()]
    expected = mt.read_safetensors(os.path.join(d, "expected.safetensors"))
    return model, tokens, expected, has_head


class ScanTest(unittest.TestCase):
    def test_chunked_scan_equals_loop(self):
        g = torch.Generator().manual_seed(1)
        for L in [1, 2, 15, 16, 17, 63, 100, 257, 1000]:
            for chunk in [None, 1, 7, 64]:
                a = torch.rand(2, L, 3, 4, generator=g, dtype=torch.float64)
                b = torch.randn(2, L, 3, 4, generator=g, dtype=torch.float64)
                h0 = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
                for init in [None, h0]:
                    ref = mt.sequential_scan(a, b, init)
                    got, last = mt.linear_scan(a, b, init, chunk=chunk)
                    self.assertEqual(got.shape, ref.shape)
                    self.assertLess((got - ref).abs().max().item(), 1e-12, f"L={L} chunk={chunk}")
                    self.assertTrue(torch.equal(last, got[:, -1]))

    def test_scan_stable_with_strong_decay(self):
        # dt·A down to -50 per step: a log-space cumsum formulation would overflow; products of (0,1] values don't.
        g = torch.Generator().manual_seed(2)
        a = torch.exp(-50 * torch.rand(1, 4096, 8, 16, generator=g))
        b = torch.randn(1, 4096, 8, 16, generator=g)
        got, _ = mt.linear_scan(a, b)
        ref = mt.sequential_scan(a, b)
        self.assertTrue(torch.isfinite(got).all())
        self.assertLess(rel(got, ref), 1e-6)

    def test_scan_gradients(self):
        g = torch.Generator().manual_seed(3)
        a = torch.rand(2, 37, 3, 2, generator=g, dtype=torch.float64).requires_grad_()
        b = torch.randn(2, 37, 3, 2, generator=g, dtype=torch.float64).requires_grad_()
        self.assertTrue(torch.autograd.gradcheck(mt._Scan.apply, (a, b)))
        # against autograd through the plain loop, longer sequence, with an initial state
        a = torch.rand(2, 300, 4, 3, generator=g, dtype=torch.float64).requires_grad_()
        b = torch.randn(2, 300, 4, 3, generator=g, dtype=torch.float64).requires_grad_()
        h0 = torch.randn(2, 4, 3, generator=g, dtype=torch.float64).requires_grad_()
        w = torch.randn(2, 300, 4, 3, generator=g, dtype=torch.float64)
        h, _ = mt.selective_scan(a, b, h0)
        ga, gb, gh = torch.autograd.grad((h * w).sum(), (a, b, h0))
        ra, rb, rh = torch.autograd.grad((mt.sequential_scan(a, b, h0) * w).sum(), (a, b, h0))
        for x, y in [(ga, ra), (gb, rb), (gh, rh)]:
            self.assertLess(rel(x, y), 1e-12)


class ConformanceTest(unittest.TestCase):
    """Our model on the fixtures' checkpoints reproduces transformers' float64 outputs."""

    def check(self, name):
        model, tokens, expected, has_head = load_fixture(name)
        with torch.no_grad():
            for i, ids in enumerate(tokens):
                x = torch.tensor([ids])
                h, _ = model.backbone(x)
                self.assertLess(rel(h[0], expected[f"last_hidden_state.{i}"]), 1e-5, f"{name} line {i}")
                if has_head:
                    logits, _, _ = model(x)
                    self.assertLess(rel(logits[0], expected[f"logits.{i}"]), 1e-5, f"{name} logits {i}")
        return model, tokens

    def test_odd_shapes(self):  # biases on, conv kernel 3, expand 3, rank 5, untied head
        model, tokens = self.check("odd_shapes")
        # chunked with state carried == one pass (chunks of 64 over the 1500-step line)
        x = torch.tensor([tokens[-1]])
        with torch.no_grad():
            full, _ = model.backbone(x)
            st, parts = None, []
            for s in range(0, x.shape[1], 64):
                h, st = model.backbone(x[:, s:s + 64], st)
                parts.append(h)
            self.assertLess(rel(torch.cat(parts, 1), full), 1e-12)

    def test_tied_auto_rank(self):
        self.check("tied_auto_rank")

    def test_bf16_saved(self):
        self.check("bf16_saved")

    def test_bare_sharded(self):
        self.check("bare_model_sharded")

    def test_perturbed_weight_is_detected(self):
        # the check above can fail: one changed A_log entry moves the outputs beyond the tolerance
        model, tokens, expected, _ = load_fixture("tied_auto_rank")
        with torch.no_grad():
            model.backbone.layers[1].mixer.A_log[3, 5] += 0.05
            h, _ = model.backbone(torch.tensor([tokens[2]]))
        self.assertGreater(rel(h[0], expected["last_hidden_state.2"]), 1e-5)


class CheckpointTest(unittest.TestCase):
    def test_pure_python_safetensors_roundtrip(self):
        t = {"a": torch.randn(3, 5), "b": torch.arange(7, dtype=torch.int64), "c": torch.randn(4).bfloat16(),
             "d": torch.randn(2, 2, dtype=torch.float64)}
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.safetensors")
            mt.write_safetensors(p, t, {"k": "v"})
            with open(p, "rb") as f:
                raw = f.read()
            n = int.from_bytes(raw[:8], "little")
            header = json.loads(raw[8:8 + n])
            self.assertEqual(header["a"], {"dtype": "F32", "shape": [3, 5], "data_offsets": [0, 60]})
            self.assertEqual(header["__metadata__"], {"k": "v"})
            self.assertEqual(len(raw), 8 + n + 60 + 56 + 8 + 32)
            back = mt.read_safetensors(p)
            for k, v in t.items():
                self.assertEqual(back[k].dtype, v.dtype)
                self.assertTrue(torch.equal(back[k], v), k)

    def test_continuous_names_and_reload(self):
        cfg = mt.MambaConfig(hidden_size=24, num_hidden_layers=2, state_size=4, input_features=3,
                             output_features=2, extra={"normalization_half_life": 512})
        model = mt.build_model(cfg).eval()
        with tempfile.TemporaryDirectory() as d:
            mt.save_checkpoint(d, model)
            names = set(mt.read_safetensors(os.path.join(d, "model.safetensors")))
            want = {"backbone.input_proj.weight", "backbone.input_proj.bias", "backbone.norm_f.weight",
                    "head.weight", "head.bias"}
            for i in range(2):
                want |= {f"backbone.layers.{i}.norm.weight"} | {f"backbone.layers.{i}.mixer.{n}" for n in (
                    "in_proj.weight", "conv1d.weight", "conv1d.bias", "x_proj.weight", "dt_proj.weight",
                    "dt_proj.bias", "A_log", "D", "out_proj.weight")}
            self.assertEqual(names, want)
            with open(os.path.join(d, "config.json")) as f:
                c = json.load(f)
            self.assertEqual((c["model_type"], c["input_features"], c["output_features"],
                              c["normalization_half_life"]), ("mamba_continuous", 3, 2, 512))
            back, _ = mt.load_checkpoint(d)
            x = torch.randn(1, 40, 3)
            with torch.no_grad():
                self.assertTrue(torch.equal(model(x)[0], back.eval()(x)[0]))

    def test_tied_token_model_omits_lm_head(self):
        for tie in (True, False):
            model = mt.build_model(mt.MambaConfig(hidden_size=16, num_hidden_layers=1, vocab_size=6,
                                                  tie_word_embeddings=tie))
            with tempfile.TemporaryDirectory() as d:
                mt.save_checkpoint(d, model)
                names = set(mt.read_safetensors(os.path.join(d, "model.safetensors")))
                self.assertEqual("lm_head.weight" in names, not tie)
                self.assertIn("backbone.embeddings.weight", names)


if __name__ == "__main__":
    unittest.main()
