"""tools/attex-fleet-sim on a short sweep: no overspend with kills and drains,
the same JSON for the same seed (and other JSON for another), store operations
that fall as fixed slices grow, under-delivery that rises again once fixed
slices are too large and that the adaptive rule keeps under every fixed size,
the overspend the outstanding floor prevents, a picture, and bad input refused.

usage: fleet_sim_test.py
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                    "attex-fleet-sim")


def sim(*argv):
    """Runs the tool; returns (exit code, stdout, stderr)."""
    p = subprocess.run([sys.executable, TOOL, "--quiet", *argv], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


class FleetSimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.png = os.path.join(cls.tmp.name, "sweep.png")
        code, out, err = sim("--sweep", "--quick", "--replica_counts", "20", "--json", "-",
                             "--png", cls.png)
        assert code == 0, err
        cls.results = json.loads(out)["results"]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def of(self, mode):
        return [r for r in self.results if r["slice"]["mode"] == mode]

    def test_no_sweep_run_overspends_though_replicas_are_killed_and_drained(self):
        self.assertEqual(len(self.results), 9)
        for r in self.results:
            self.assertTrue(r["guaranteed"])
            self.assertEqual(r["overspend_micros"], 0)
            self.assertEqual(r["max_overplaced_micros"], 0)
            self.assertEqual((r["kills"], r["drains"]), (1, 1))
            self.assertLessEqual(r["billed_micros"], r["deliverable_micros"])
            self.assertGreater(r["returns"], 0)

    def test_store_operations_fall_as_fixed_slices_grow(self):
        fixed = sorted(self.of("fixed"), key=lambda r: r["slice"]["size"])
        ops = [r["store_ops_per_s"] for r in fixed]
        self.assertEqual(ops, sorted(ops, reverse=True))
        self.assertGreater(ops[0], 2 * ops[-1])

    def test_too_large_fixed_slices_strand_budget_and_the_adaptive_rule_beats_every_size(self):
        fixed = sorted(self.of("fixed"), key=lambda r: r["slice"]["size"])
        ud = [r["under_delivery_end"] for r in fixed]
        best = ud.index(min(ud))
        self.assertLess(best, len(ud) - 1)
        self.assertGreater(ud[-1], 2 * ud[best])
        self.assertLess(max(r["under_delivery_end"] for r in self.of("adaptive")), min(ud))

    def test_the_same_seed_prints_the_same_json_and_another_seed_other_json(self):
        args = ("--quick", "--replicas", "20", "--json", "-")
        first, second, other = sim(*args), sim(*args), sim(*args, "--seed", "2")
        self.assertEqual(first[0], 0, first[2])
        self.assertEqual(first[1], second[1])
        self.assertNotEqual(first[1], other[1])

    def test_grants_below_the_outstanding_reservations_overspend(self):
        code, out, err = sim("--quick", "--replicas", "20", "--slice", "adaptive:8000",
                             "--no_floor", "--json", "-")
        self.assertEqual(code, 1)
        self.assertIn("OVERSPEND", err)
        self.assertGreater(json.loads(out)["results"][0]["overspend_micros"], 0)

    def test_the_sweep_is_drawn(self):
        with open(self.png, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_bad_input_names_the_field(self):
        for argv, field in ((("--slice", "fixed:0"), "--slice"),
                            (("--slice", "adaptive:8000:2"), "--slice"),
                            (("--replicas", "0"), "--replicas"),
                            (("--lease_s", "-1"), "--lease_s")):
            code, _, err = sim(*argv)
            self.assertEqual(code, 2, argv)
            self.assertIn(field, err)


if __name__ == "__main__":
    unittest.main()
