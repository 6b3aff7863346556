"""attex-train on a small synthetic log: the training loss falls, the model
it writes loads in C++ (attex-model probe, same version), the curves are a
PNG, evaluate reports the learned, default and logistic-regression rows, and
the trainer's batched model equals the per-impression one that the parity
test holds to the C++ server.

usage: trainer_test.py BIN_DIR
"""

import contextlib
import importlib.machinery
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

import harness  # noqa: E402  (puts tools/ on the path)
import attex_model as am  # noqa: E402
import torch  # noqa: E402

BIN = None
loader = importlib.machinery.SourceFileLoader("attex_train",
                                              os.path.join(harness.TOOLS, "attex-train"))
spec = importlib.util.spec_from_loader("attex_train", loader)
attex_train = importlib.util.module_from_spec(spec)
loader.exec_module(attex_train)


def run(*argv):
    """attex-train's main with argv; returns (exit code, stdout)."""
    out = io.StringIO()
    old = sys.argv
    sys.argv = ["attex-train", *argv]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            attex_train.main()
    except SystemExit as e:
        code = e.code
    finally:
        sys.argv = old
    return code, out.getvalue()


class TrainerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.log = os.path.join(cls.tmp.name, "log")
        code, _ = run("synth", "--out", cls.log, "--impressions", "4000", "--seed", "3")
        assert code == 0

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def assert_cpp_loads(self, model_file, train_out):
        """The C++ side (attex-model probe) loads the trained file as the version it printed."""
        version = re.search(r"\((default-d16-h1-[0-9a-f]{8})\)", train_out).group(1)
        probe = subprocess.run(
            [os.path.join(BIN, "attex-model"), "probe", "--model", model_file],
            input=json.dumps({"features": ["interest:topic1"], "slots": ["banner"],
                              "ads": [{"tokens": ["kw:topic1-0"], "format": "banner"}]}) + "\n",
            capture_output=True, text=True, check=True)
        self.assertEqual(json.loads(probe.stdout)["version"], version)

    def test_trains_writes_a_model_cpp_loads_and_evaluates(self):
        out_model = os.path.join(self.tmp.name, "learned.bin")
        png = os.path.join(self.tmp.name, "curves.png")
        code, out = run("train", "--log", self.log, "--out", out_model, "--d_model", "16",
                        "--buckets", "1024", "--epochs", "3", "--lr", "0.01", "--plot", png)
        self.assertEqual(code, 0, out)
        first, last = map(float, re.search(r"training loss ([\d.]+) -> ([\d.]+)", out).groups())
        self.assertLess(last, 0.8 * first)
        with open(png, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assert_cpp_loads(out_model, out)

        default = os.path.join(self.tmp.name, "default.bin")
        subprocess.run([os.path.join(BIN, "attex-model"), "default", "--out", default,
                        "--d_model", "16", "--heads", "1", "--buckets", "1024"], check=True)
        code, out = run("evaluate", "--log", self.log, "--model", out_model, "--default", default)
        self.assertEqual(code, 0, out)
        rows = dict((m.group(1).strip(), float(m.group(2))) for m in re.finditer(
            r"^(learned|default|logistic regression) .*?([\d.]+)\s+[\d.]+$", out, re.M))
        self.assertEqual(len(rows), 3, out)
        self.assertGreater(rows["learned"], rows["default"])  # The synthetic truth is learnable.
        # The baseline's L2 is chosen on the training split, never on the held-out rows.
        self.assertRegex(out, r"logistic regression \(hashed crosses, C [\d.]+\)")

        # With attex-sim's truth file: its third column, where there is one, is the
        # observable ceiling's row, beside the truth's.
        impressions, _ = attex_train.read_log(self.log)
        for columns, rows_expected in ((2, ("truth",)), (3, ("observable", "truth"))):
            truth = os.path.join(self.tmp.name, f"truth{columns}.tsv")
            with open(truth, "w") as f:
                for r in impressions:
                    p = (r.impression_id % 97) / 100 + 0.01
                    f.write("\t".join([str(r.impression_id), str(p), str(p / 2)][:columns]) + "\n")
            scores = os.path.join(self.tmp.name, f"eval{columns}.json")
            code, out = run("evaluate", "--log", self.log, "--model", out_model, "--truth",
                            truth, "--lr_c", "0.1", "--json", scores)
            self.assertEqual(code, 0, out)
            with open(scores) as f:
                keys = set(json.load(f))
            self.assertEqual(keys, {"learned", "logistic", *rows_expected}, out)

    def test_keeps_the_epoch_of_least_validation_loss(self):
        out_model = os.path.join(self.tmp.name, "kept.bin")
        code, out = run("train", "--log", self.log, "--out", out_model, "--d_model", "16",
                        "--buckets", "1024", "--epochs", "3", "--lr", "0.01")
        self.assertEqual(code, 0, out)
        losses = [float(x) for x in re.findall(r"validation loss ([\d.]+)", out)]
        self.assertEqual(len(losses), 3, out)
        kept = int(re.search(r"kept epoch (\d+)", out).group(1))
        # Epoch 0 is the starting point, whose validation loss is not printed.
        if kept:
            self.assertEqual(losses[kept - 1], min(losses), out)

    def test_the_subspace_parametrisation_writes_what_it_trained(self):
        # --rank keeps E, W_Q and W_K in a subspace; the file holds the d x d
        # tensors it materialises, so the loaded file scores as the trainer did.
        model = am.Model.random(d_model=16, heads=1, buckets=512, rng_seed=5)
        impressions, _ = attex_train.read_log(self.log)
        batch = attex_train.Batch(model, impressions[:50], {})
        cm = attex_train.ClickModel(model, 1, 0.03, rank=4, dropout=0.5, seed=2)
        with torch.no_grad():
            cm.e_low.add_(torch.randn_like(cm.e_low))  # As if trained.
            cm.q_low.mul_(1.5)
        cm.eval()  # No dropout when scoring.
        with torch.no_grad():
            trained = model.batch_relevance(batch, cm.tensors())
            e, _, _ = cm.tensors()
            self.assertEqual(int(torch.linalg.matrix_rank(e)), 4)
        cm.write_back()
        path = os.path.join(self.tmp.name, "rank.bin")
        model.save(path)
        loaded = am.Model.load(path)
        with torch.no_grad():
            served = loaded.batch_relevance(attex_train.Batch(loaded, impressions[:50], {}))
        ok, why = harness.close(served.tolist(), trained.tolist())
        self.assertTrue(ok, why)
        code, out = run("train", "--log", self.log, "--out", path, "--d_model", "16",
                        "--buckets", "1024", "--epochs", "2", "--lr", "0.01", "--rank", "4",
                        "--dropout", "0.1", "--schedule", "cosine", "--lr_final", "0.001")
        self.assertEqual(code, 0, out)

    def test_batched_relevance_equals_the_per_impression_model(self):
        impressions, _ = attex_train.read_log(self.log)
        some = impressions[:20]
        some[0].user_embedding.extend([0.5] * 16)  # Replaces the features.
        some[1].ClearField("recent")
        some[2].recent.extend(["kw:topic1-1", "kw:topic1-1", "kw:topic2-0"])
        some[3].ClearField("features")
        for pooling in (am.NORMALISED, am.SUM):
            model = am.Model.random(d_model=16, heads=2, buckets=512, rng_seed=4, pooling=pooling)
            batch = attex_train.Batch(model, some, {})
            with torch.no_grad():
                batched = model.batch_relevance(batch)
                for i, r in enumerate(some):
                    u = model.context_vector(list(r.features), list(r.recent),
                                             list(r.user_embedding))
                    k = model.ad_key(list(r.ad_tokens))
                    scores = model.head_scores(model.slot_query(u, r.slot_format), k[None])
                    ok, why = harness.close(float(batched[i]), float(model.relevance(scores)[0]))
                    self.assertTrue(ok, f"pooling {pooling} impression {i}: {why}")

    def test_trains_a_summed_model_that_cpp_loads(self):
        out_model = os.path.join(self.tmp.name, "summed.bin")
        code, out = run("train", "--log", self.log, "--out", out_model, "--d_model", "16",
                        "--buckets", "1024", "--epochs", "2", "--lr", "0.01", "--pooling", "sum",
                        "--l2_rows", "1e-4")
        self.assertEqual(code, 0, out)
        self.assertIn("pooling sum", out)
        self.assertEqual(am.Model.load(out_model).pooling, am.SUM)
        self.assert_cpp_loads(out_model, out)

    def test_reads_the_log_the_real_server_writes(self):
        log = os.path.join(self.tmp.name, "server-log")
        with harness.Server(BIN, os.path.join(self.tmp.name, "srv"),
                            [f"--training_log={log}"]) as srv:
            bid = srv.cli("platform", "bid", "--user_id", "u-42", "--feature", "interest:running",
                          "--country", "US", "--slot", "s1:banner:0", "--slot", "s2:native:1")
            tokens = [p["billing_token"] for p in bid["placements"]]
            self.assertEqual(len(tokens), 2)
            srv.cli("platform", "events", "--type", "impression", *tokens)
            srv.cli("platform", "events", "--type", "click", tokens[1])
        impressions, clicked = attex_train.read_log(log)
        self.assertEqual(sorted((r.slot_format, r.slot_position) for r in impressions),
                         [("banner", 0), ("native", 1)])
        self.assertEqual(clicked, {r.impression_id for r in impressions
                                   if r.slot_format == "native"})
        self.assertTrue(all(list(r.features) == ["interest:running"] for r in impressions))

    def test_the_server_marks_explored_impressions_with_their_propensity(self):
        log = os.path.join(self.tmp.name, "explore-log")
        with harness.Server(BIN, os.path.join(self.tmp.name, "srv-explore"),
                            [f"--training_log={log}", "--explore_share=1"]) as srv:
            for i in range(4):
                bid = srv.cli("platform", "bid", "--request_id", f"x{i}", "--user_id", "u-42",
                              "--feature", "interest:running", "--country", "US",
                              "--slot", "s1:banner:0", "--slot", "s2:banner:1")
                srv.cli("platform", "events", "--type", "impression",
                        *[p["billing_token"] for p in bid["placements"]])
        impressions, _ = attex_train.read_log(log)
        self.assertEqual(len(impressions), 8)
        explored = [r for r in impressions if r.explore_propensity > 0]
        self.assertEqual(len(explored), 4)  # One slot of each request.
        for r in explored:
            self.assertLessEqual(r.explore_propensity, 1.0)
            self.assertEqual(r.price_cpm_micros, 100000)  # The floor.

    def test_explored_impressions_weigh_and_are_scored_apart(self):
        impressions, clicked = attex_train.read_log(self.log)
        for i, r in enumerate(impressions):
            if i % 4 == 0:
                r.explore_propensity = 0.5 if i % 8 == 0 else 0.25
        w = attex_train.sample_weights(impressions[:16], explore_weight=2.0, ips=True)
        # Inverse propensities 2 and 4, mean 3: weights 2 x 2/3 and 2 x 4/3.
        expected = [2 * 2 / 3 if i % 8 == 0 else 2 * 4 / 3 if i % 4 == 0 else 1.0
                    for i in range(16)]
        ok, why = harness.close(w.tolist(), expected)
        self.assertTrue(ok, why)
        self.assertEqual(attex_train.sample_weights(impressions[:4]).tolist(), [1.0] * 4)
        pb = attex_train.training_pb2()
        records = []
        for r in impressions:
            records.append(pb.TrainingRecord(impression=r))
            if r.impression_id in clicked:
                records.append(pb.TrainingRecord(click=pb.TrainingClick(
                    impression_id=r.impression_id, at_ms=r.at_ms + 1)))
        log = os.path.join(self.tmp.name, "explored")
        os.makedirs(log)
        attex_train.write_log(os.path.join(log, "training-0-0.pb"), records)
        out_model = os.path.join(self.tmp.name, "explored.bin")
        code, out = run("train", "--log", log, "--out", out_model, "--d_model", "16",
                        "--buckets", "1024", "--epochs", "1", "--ips", "--explore_weight", "2")
        self.assertEqual(code, 0, out)
        scores = os.path.join(self.tmp.name, "explored.json")
        code, out = run("evaluate", "--log", log, "--model", out_model, "--lr_c", "0.1",
                        "--json", scores)
        self.assertEqual(code, 0, out)
        self.assertRegex(out, r"explored: \d+ of the held-out impressions")
        with open(scores) as f:
            self.assertEqual(set(json.load(f)["explored"]), {"learned", "logistic"})

    def test_the_baseline_is_served_as_the_regression_scores_it(self):
        """evaluate --baseline_out: the C++ server's head scores for a user
        against every ad of the log are the regression's logits plus one
        term per slot, so the server ranks as the regression does."""
        impressions, clicked = attex_train.read_log(self.log)
        train, held = impressions[:3000], impressions[3000:]
        lr, hasher, _ = attex_train.fit_logistic(train, attex_train.labels(train, clicked), 0.1)
        path = os.path.join(self.tmp.name, "baseline.bin")
        attex_train.baseline_model(lr, hasher, impressions).save(path)
        ads = sorted({tuple(r.ad_tokens) for r in impressions})
        self.assertGreater(len(ads), 10)
        cases = [held[i] for i in range(0, 200, 40)]
        lines = [json.dumps({"features": list(r.features), "recent": list(r.recent),
                             "slots": [r.slot_format],
                             "ads": [{"tokens": list(a), "format": r.slot_format} for a in ads]})
                 for r in cases]
        probe = subprocess.run([os.path.join(BIN, "attex-model"), "probe", "--model", path],
                               input="\n".join(lines) + "\n", capture_output=True, text=True,
                               check=True)
        pb = attex_train.training_pb2()
        for r, line in zip(cases, probe.stdout.splitlines()):
            served = [s[0] for s in json.loads(line)["slots"][0]["head_scores"]]
            rows = []
            for a in ads:
                x = pb.TrainingImpression()
                x.CopyFrom(r)
                del x.ad_tokens[:]
                x.ad_tokens.extend(a)
                rows.append(x)
            logit = lr.decision_function(hasher.transform(attex_train.crosses(x) for x in rows))
            diff = [s - l for s, l in zip(served, logit)]
            self.assertLess(max(diff) - min(diff), 1e-3, f"impression {r.impression_id}")
            self.assertGreater(max(logit) - min(logit), 0.1)  # The ads do differ.
        # What the served formula cannot reproduce is refused, not approximated.
        odd = pb.TrainingImpression()
        odd.CopyFrom(impressions[0])
        odd.ad_tokens.append("extra:token")
        with self.assertRaisesRegex(am.ModelFileError, "same number of tokens"):
            attex_train.baseline_model(lr, hasher, impressions + [odd])
        code, out = run("evaluate", "--log", self.log, "--lr_c", "0.1", "--baseline_out",
                        os.path.join(self.tmp.name, "baseline2.bin"))
        self.assertEqual(code, 0, out)
        self.assertRegex(out, r"wrote the baseline .*logits to within [\d.e-]+ on 800 held-out")

    def test_bad_input_is_refused_with_a_clear_error(self):
        empty = os.path.join(self.tmp.name, "empty")
        os.makedirs(empty)
        code, _ = run("train", "--log", empty, "--out", os.path.join(self.tmp.name, "x.bin"))
        self.assertIn("too few to train", str(code))
        code, _ = run("evaluate", "--log", self.log, "--model", os.path.join(empty, "none.bin"))
        self.assertIn("No such file", str(code))
        # A file cut short mid-record: the records before the cut are read.
        src = os.listdir(self.log)[0]
        with open(os.path.join(self.log, src), "rb") as f:
            data = f.read()
        cut = os.path.join(self.tmp.name, "cut.pb")
        with open(cut, "wb") as f:
            f.write(data[:len(data) // 2])
        impressions, _ = attex_train.read_log(cut)
        self.assertGreater(len(impressions), 100)


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    unittest.main()
