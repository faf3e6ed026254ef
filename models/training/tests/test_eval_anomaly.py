"""eval_anomaly's definitions on hand-made cases, and its reading of labels CSV + JSON lines."""
import json
import math
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import eval_anomaly as ea  # noqa: E402

R0 = 2 / (1 + math.exp(-5)) - 1  # reward at a window's first step


def case(labels, flags):
    return ea.evaluate({"a": (labels, [None] * len(labels), flags)}, {"a": flags})


class EvalTest(unittest.TestCase):
    def test_perfect_and_null(self):
        lab = [0] * 100 + [1] * 5 + [0] * 100
        perfect = case(lab, [t == 100 for t in range(205)])
        self.assertAlmostEqual(perfect["nab_score"], 100.0)
        self.assertEqual((perfect["event"]["precision"], perfect["event"]["recall"]), (1.0, 1.0))
        self.assertAlmostEqual(perfect["point"]["precision"], 1.0)
        self.assertAlmostEqual(perfect["point"]["recall"], 0.2)
        null = case(lab, [False] * 205)
        self.assertAlmostEqual(null["nab_score"], 0.0)
        self.assertEqual(null["event"]["f1"], 0.0)

    def test_late_detection_earns_less_and_false_positive_costs(self):
        lab = [0] * 100 + [1] * 10 + [0] * 100
        # window [100, 120): detection at 110 → y = 10/20 − 1 = −0.5
        late = case(lab, [t == 110 for t in range(210)])
        r = 2 / (1 + math.exp(-2.5)) - 1
        self.assertAlmostEqual(late["nab_score"], 100 * (r + 1) / (R0 + 1))
        # the same plus two false alarms 30 steps apart (two clusters) and one burst of 3 (one cluster)
        flags = [t in (110, 20, 50, 160, 161, 163) for t in range(210)]
        fp = case(lab, flags)
        self.assertAlmostEqual(fp["nab_score"], 100 * (r - 3 * 0.11 + 1) / (R0 + 1))
        self.assertEqual(fp["event"]["clusters"], 4)
        self.assertAlmostEqual(fp["event"]["precision"], 0.25)
        # a flag right after the labelled run (inside the +10 tolerance) still detects it
        tol = case(lab, [t == 115 for t in range(210)])
        self.assertEqual(tol["event"]["detected"], 1)
        miss = case(lab, [t == 125 for t in range(210)])
        self.assertEqual(miss["event"]["detected"], 0)
        self.assertAlmostEqual(miss["nab_score"], 100 * (-1 - 0.11 + 1) / (R0 + 1))

    def test_reflag_uses_warmup_and_threshold(self):
        self.assertEqual(ea.reflag([None, 9.0, 9.0, 5.0, 7.0], 6.0, 1), [False, False, True, False, True])

    def test_files_and_alignment(self):
        with tempfile.TemporaryDirectory() as d:
            csvp = os.path.join(d, "l.csv")
            with open(csvp, "w") as f:
                f.write("series_id,time,value,label\n")
                # written out of time order: the job sorts by time, so must the evaluator
                for t in [2, 0, 1, 3]:
                    f.write(f"x,{100 + t},{t},{1 if t == 2 else 0}\n")
            jl = os.path.join(d, "s.jsonl")
            with open(jl, "w") as f:
                f.write("not json header line\n")
                for t in range(4):
                    f.write(json.dumps({"series_id": "x", "step": t, "time": 100 + t, "score": 9.0 if t == 2 else 1.0,
                                        "anomaly": t == 2}) + "\n")
            res = ea.run(csvp, jl)
            self.assertEqual(res["at_threshold"]["event"]["detected"], 1)
            self.assertAlmostEqual(res["at_threshold"]["point"]["f1"], 1.0)
            with open(jl, "a") as f:
                f.write(json.dumps({"series_id": "x", "step": 4, "time": 104}) + "\n")
            with self.assertRaises(SystemExit) as e:
                ea.run(csvp, jl)
            self.assertIn("4 labelled steps, 5 scored", str(e.exception))


if __name__ == "__main__":
    unittest.main()
