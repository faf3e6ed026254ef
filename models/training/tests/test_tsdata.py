"""The numpy CausalNormalizer / AnomalyScorer twins against hand-computed values (Java-free), and the synthetic
generators for sanity (finite, varied)."""
import math
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tsdata  # noqa: E402


class NormalizerTest(unittest.TestCase):
    def test_plain_running_moments_while_1_over_n_dominates(self):
        # half-life 1e9: α ≈ 7e-10 < 1/(n+1) for these steps, so the moments are the plain running mean / variance.
        # x = 1, 2, 4, 8: by hand
        #   t0: z = 0;                       m = 1,      v = 0
        #   t1: z = (2-1)/sqrt(0+1e-8) = 1e4 → clipped to 20;  m = 1.5, v = 0.25
        #   t2: z = (4-1.5)/sqrt(0.25+1e-8) = 4.99999990;      m = 7/3, v = 14/9 (variance of 1, 2, 4)
        #   t3: z = (8-7/3)/sqrt(14/9+1e-8) = 4.54344...;      m = 15/4, v = 6.6875 (variance of 1, 2, 4, 8)
        z, mean, scale = tsdata.normalize(np.array([1.0, 2.0, 4.0, 8.0]), 1e9)
        want = [0.0, 20.0, 2.5 / math.sqrt(0.25 + 1e-8), (8 - 7 / 3) / math.sqrt(14 / 9 + 1e-8)]
        np.testing.assert_allclose(z, np.float32(want), rtol=1e-7)
        self.assertAlmostEqual(want[3], 4.5434, places=4)
        np.testing.assert_allclose(mean, [0, 1, 1.5, 7 / 3], rtol=1e-12)
        np.testing.assert_allclose(scale, np.sqrt(np.array([0, 0, 0.25, 14 / 9]) + 1e-8), rtol=1e-12)
        cn = tsdata.CausalNormalizer((), 1e9)
        for v in [1.0, 2.0, 4.0, 8.0]:
            cn.step(v)
        self.assertAlmostEqual(float(cn.mean), 3.75, places=12)
        self.assertAlmostEqual(float(cn.var), np.var([1, 2, 4, 8]), places=9)

    def test_ewm_weight_takes_over(self):
        # half-life 1: α = 0.5, w = max(0.5, 1/(n+1)) = 1, 0.5, 0.5, ...; x = 0, 4, 4, 10
        #   t0: z 0;  m 0, v 0
        #   t1: z clip(4/1e-4) = 20;  w .5: d 4, m 2, v .5*(0+.5*16) = 4
        #   t2: z (4-2)/sqrt(4+1e-8) = 1;  d 2, m 3, v .5*(4+.5*4) = 3
        #   t3: z (10-3)/sqrt(3+1e-8) = 4.04145;  d 7, m 6.5, v .5*(3+.5*49) = 13.75
        z, mean, scale = tsdata.normalize(np.array([0.0, 4.0, 4.0, 10.0]), 1.0)
        np.testing.assert_allclose(z, np.float32([0, 20, 2 / math.sqrt(4 + 1e-8), 7 / math.sqrt(3 + 1e-8)]),
                                   rtol=1e-7)
        np.testing.assert_allclose(mean, [0, 0, 2, 3])
        cn = tsdata.CausalNormalizer((), 1.0)
        for v in [0.0, 4.0, 4.0, 10.0]:
            cn.step(v)
        self.assertEqual((float(cn.mean), float(cn.var)), (6.5, 13.75))

    def test_float32_inputs_and_negative_clip(self):
        # inputs go through float32 first, as the Java CSV reader stores them
        z, _, _ = tsdata.normalize(np.array([0.1, 0.1, -1e6]), 512)
        self.assertEqual(z[1], 0.0)  # 0.1 as float32 twice: d = 0 exactly
        self.assertEqual(z[2], -20.0)

    def test_vectorised_equals_one_series_at_a_time(self):
        rng = np.random.default_rng(5)
        x = tsdata.synth_batch(rng, 6, 700)
        z, m, s = tsdata.normalize(x, 64)
        for b in range(6):
            zb, mb, sb = tsdata.normalize(x[b], 64)
            np.testing.assert_array_equal(z[b], zb)
            np.testing.assert_array_equal(m[b], mb)

    def test_fast_paths_equal_the_streaming_class(self):
        rng = np.random.default_rng(9)
        x = tsdata.synth_batch(rng, 7, 900)
        for rows in (x, x[:1], x[2]):  # vectorised (7 series), scalar loop (1 series, and 1-D)
            z, m, s = tsdata.normalize(rows, 100)
            r2 = np.atleast_2d(rows)
            cn = tsdata.CausalNormalizer((r2.shape[0],), 100)
            means, zs = [], []
            for t in range(r2.shape[1]):
                means.append(cn.mean.copy())
                zs.append(cn.step(r2[:, t]))
            np.testing.assert_array_equal(np.atleast_2d(z), np.stack(zs, 1))
            np.testing.assert_array_equal(np.atleast_2d(m), np.stack(means, 1))

    def test_naive_forecast_units(self):
        # last-value forecast of z_{t+1}: (x_t − m_t)/s_t with the moments after step t; for a constant series after
        # a jump it is exactly the z the next step gets when the value repeats
        x = np.array([1.0, 3.0, 2.0, 5.0, 5.0])
        z, m, s = tsdata.normalize(x, 1e9)
        nz = tsdata.naive_next_z(x, m, s)
        self.assertAlmostEqual(float(nz[3]), float(z[4]), places=6)  # x_4 == x_3


class ScorerTest(unittest.TestCase):
    def test_scores_by_hand(self):
        # errors 1, 1, 3 with half-life 1e9 (plain running mean of squares):
        #   s0 = 0 (no history); meanSq 1;  s1 = 1/1 = 1; meanSq 1;  s2 = 3/1 = 3; meanSq (1+1+9)/3
        sc = tsdata.AnomalyScorer(1e9, threshold=2.5, warmup=2, skip=0)  # the unskipped arithmetic
        got = []
        for e in [1.0, 1.0, 3.0, 0.0]:
            before = sc.n
            s = sc.score(e)
            got.append((s, sc.flags(s, before)))
        self.assertEqual([g[1] for g in got], [False, False, True, False])
        np.testing.assert_allclose([g[0] for g in got], [0, 1 / math.sqrt(1 + 1e-12), 3 / math.sqrt(1 + 1e-12), 0])
        self.assertAlmostEqual(sc.mean_sq, 11 / 4)

    def test_skip_variant(self):
        # skip=2: the first two errors score 0 and stay out of meanSq; the third is then the first folded
        sc = tsdata.AnomalyScorer(1e9, threshold=2.5, warmup=0, skip=2)
        got = [sc.score(e) for e in [20.0, 5.0, 1.0, 3.0]]
        self.assertEqual(got[:3], [0.0, 0.0, 0.0])
        self.assertAlmostEqual(got[3], 3 / math.sqrt(1 + 1e-12))
        self.assertEqual(sc.count(), 4)
        # the job's scorer (skip=0) on the same errors: the start-up error 20 dominates
        job = tsdata.AnomalyScorer(1e9, threshold=2.5, warmup=0)
        got = [job.score(e) for e in [20.0, 5.0, 1.0, 3.0]]
        self.assertAlmostEqual(got[3], 3 / math.sqrt((400 + 25 + 1) / 3))

    def test_score_series_rows(self):
        x = np.array([[1.0], [2.0], [4.0], [8.0]])
        z, m, s = tsdata.normalize(x.T, 1e9)
        z, m, s = z.T, m.T, s.T
        pred = np.array([[0.5], [3.0], [1.0], [0.0]], dtype=np.float32)  # pred[t] forecasts z[t+1]
        rows = tsdata.score_series(x, z, m, s, pred, 1e9, 6, 0)
        self.assertIsNone(rows[0]["error"])
        self.assertAlmostEqual(rows[1]["error"], 19.5, places=5)  # |20 − 0.5|
        self.assertAlmostEqual(rows[2]["error"], abs(float(z[2, 0]) - 3.0), places=5)
        self.assertAlmostEqual(rows[2]["score"], rows[2]["error"] / 19.5, places=5)
        # prediction in original units: mean + scale · pred of the step before
        self.assertAlmostEqual(rows[3]["prediction"][0], float(m[3, 0] + s[3, 0] * 1.0), places=5)


class SynthTest(unittest.TestCase):
    def test_finite_and_varied(self):
        rng = np.random.default_rng(0)
        x = tsdata.synth_batch(rng, 32, 1024)
        self.assertTrue(np.isfinite(x).all())
        scales = np.log10(x.std(1) + 1e-12)
        self.assertGreater(scales.max() - scales.min(), 3)  # many orders of magnitude
        z, _, _ = tsdata.normalize(x, 512)
        self.assertTrue(np.isfinite(z).all())
        self.assertLess(np.abs(z[:, 100:]).mean(), 3)


if __name__ == "__main__":
    unittest.main()
