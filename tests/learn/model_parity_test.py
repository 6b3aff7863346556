"""Parity of tools/attex_model.py with the C++ model (docs/model.md): for the
same model file and inputs, the context vector, keys, queries, head scores,
log normalisers and weights agree within 1e-5 (relative to max(1, |x|)),
feature hashing included; a file written by Python loads in attex-model and
in the real attex-server, whose Explain then agrees with Python and whose
decisions differ from the default model's.

usage: model_parity_test.py BIN_DIR
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import harness  # noqa: E402  (puts tools/ on the path)
import attex_model as am  # noqa: E402
import torch  # noqa: E402

BIN = None

CASES = [
    {"features": ["interest:running", "geo:US-CA", "device:mobile"],
     "recent": ["kw:marathon", "kw:shoes", "kw:marathon"],
     "slots": ["banner", "native"],
     "ads": [{"tokens": ["interest:running", "category:sports", "advertiser:a1"],
              "format": "banner"},
             {"tokens": ["kw:shoes", "advertiser:a2"], "format": "banner"},
             {"tokens": ["interest:coffee", "category:food", "advertiser:a3"],
              "format": "native"},
             {"tokens": ["interest:running"], "format": "native"}]},
    {"features": ["site:news", "kw:caf\u00e9", "\u8bed\u8a00:\u4e2d\u6587"], "recent": [],
     "slots": ["banner"],
     "ads": [{"tokens": ["kw:caf\u00e9"], "format": "banner"},
             {"tokens": ["site:news", "x"], "format": "banner"},
             {"tokens": ["y"], "format": "banner"}]},
    {"features": [], "recent": ["r%d" % (i % 7) for i in range(80)],  # past kMaxRecent
     "slots": ["video"],
     "ads": [{"tokens": ["r1", "r2"], "format": "video"},
             {"tokens": ["r6"], "format": "video"}]},
    {"features": [], "recent": [], "slots": ["banner"],  # all empty: u = 0
     "ads": [{"tokens": ["a"], "format": "banner"}, {"tokens": ["b"], "format": "banner"}]},
]


def with_embeddings(d):
    """A case with a user embedding (it replaces the features) and an ad
    embedding (it replaces the tokens)."""
    g = torch.Generator().manual_seed(7)
    return {"features": ["ignored:feature"], "recent": ["kw:tea"],
            "user_embedding": torch.randn(d, generator=g).tolist(), "slots": ["banner"],
            "ads": [{"embedding": torch.randn(d, generator=g).tolist(), "format": "banner"},
                    {"tokens": ["kw:tea"], "format": "banner"}]}


def python_side(model, case):
    with torch.no_grad():
        u = model.context_vector(case.get("features", []), case.get("recent", []),
                                 case.get("user_embedding", []))
        keys = torch.stack([model.ad_key(ad.get("tokens", []), ad.get("embedding", []))
                            for ad in case["ads"]])
        slots = []
        for fmt in case["slots"]:
            q = model.slot_query(u, fmt)
            scores = model.head_scores(q, keys)
            eligible = torch.tensor([ad["format"] == fmt for ad in case["ads"]])
            w, log_z = model.weights(scores[eligible])
            weights = torch.zeros(len(case["ads"]))
            weights[eligible] = w
            slots.append({"query": q.tolist(), "head_scores": scores.tolist(),
                          "log_normalisers": log_z.tolist(), "weights": weights.tolist()})
        return {"u": u.tolist(), "keys": keys.tolist(), "slots": slots}


def probe(model_path, cases):
    out = subprocess.run([os.path.join(BIN, "attex-model"), "probe", "--model", model_path],
                         input="".join(json.dumps(c) + "\n" for c in cases),
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


class ModelParityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.default_path = os.path.join(cls.tmp.name, "default.bin")
        subprocess.run([os.path.join(BIN, "attex-model"), "default", "--out", cls.default_path],
                       check=True)
        cls.random_path = os.path.join(cls.tmp.name, "random.bin")
        cls.random = am.Model.random(d_model=64, heads=4, buckets=4096, rng_seed=11)
        cls.random.save(cls.random_path)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def assertClose(self, a, b, what):
        ok, why = harness.close(a, b)
        self.assertTrue(ok, f"{what}: {why}")

    def check_parity(self, path, model):
        cases = CASES + [with_embeddings(model.d_model)]
        cpp = probe(path, cases)
        self.assertEqual(len(cpp), len(cases))
        for n, (case, c) in enumerate(zip(cases, cpp)):
            p = python_side(model, case)
            self.assertEqual(c["version"], model.version())
            self.assertClose(c["u"], p["u"], f"case {n} u")
            self.assertClose(c["keys"], p["keys"], f"case {n} keys")
            for s, (cs, ps) in enumerate(zip(c["slots"], p["slots"])):
                for field in ("query", "head_scores", "log_normalisers", "weights"):
                    self.assertClose(cs[field], ps[field], f"case {n} slot {s} {field}")

    def test_default_model_agrees_with_python(self):
        model = am.Model.load(self.default_path)
        self.assertEqual((model.d_model, model.heads, model.buckets), (64, 4, 1 << 16))
        self.check_parity(self.default_path, model)

    def test_python_written_model_loads_in_cpp_and_agrees(self):
        self.check_parity(self.random_path, am.Model.load(self.random_path))
        small = am.Model.random(d_model=24, heads=3, buckets=333, rng_seed=5)
        path = os.path.join(self.tmp.name, "small.bin")
        small.save(path)
        self.check_parity(path, small)

    def test_summed_model_agrees_with_python(self):
        # Pooling SUM (format 2): written by Python, read by C++, and back.
        summed = am.Model.random(d_model=64, heads=4, buckets=4096, rng_seed=13, pooling=am.SUM)
        path = os.path.join(self.tmp.name, "summed.bin")
        summed.save(path)
        with open(path, "rb") as f:
            self.assertEqual(f.read(12)[8:], b"\x02\x00\x00\x00")
        loaded = am.Model.load(path)
        self.assertEqual(loaded.pooling, am.SUM)
        self.assertNotEqual(loaded.version(), am.Model.load(self.random_path).version())
        self.check_parity(path, loaded)
        small = am.Model.random(d_model=24, heads=3, buckets=333, rng_seed=6, pooling=am.SUM)
        small.save(path)
        self.check_parity(path, small)
        # attex-model writes a summed default model that Python reads alike.
        cpp_path = os.path.join(self.tmp.name, "summed-default.bin")
        subprocess.run([os.path.join(BIN, "attex-model"), "default", "--out", cpp_path,
                        "--pooling", "sum", "--buckets", "4096"], check=True)
        cpp = am.Model.load(cpp_path)
        self.assertEqual(cpp.pooling, am.SUM)
        self.check_parity(cpp_path, cpp)

    def test_normalised_files_keep_format_one(self):
        with open(self.default_path, "rb") as f:
            self.assertEqual(f.read(12)[8:], b"\x01\x00\x00\x00")
        with open(self.random_path, "rb") as f:
            self.assertEqual(f.read(12)[8:], b"\x01\x00\x00\x00")

    def test_hashing_matches_known_values(self):
        # FNV-1a 64 of "" and "a" (the published test vectors).
        self.assertEqual(am.fnv1a64(""), 0xCBF29CE484222325)
        self.assertEqual(am.fnv1a64("a"), 0xAF63DC4C8601EC8C)

    def test_corrupt_file_is_refused_by_both(self):
        with open(self.random_path, "rb") as f:
            data = bytearray(f.read())
        data[100] ^= 1
        path = os.path.join(self.tmp.name, "corrupt.bin")
        with open(path, "wb") as f:
            f.write(bytes(data))
        with self.assertRaisesRegex(am.ModelFileError, "checksum"):
            am.Model.load(path)
        r = subprocess.run([os.path.join(BIN, "attex-model"), "probe", "--model", path],
                           input="", capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("checksum mismatch", r.stderr)

    REQUEST = ["--feature", "interest:running", "--feature", "kw:espresso",
               "--recent", "kw:marathon", "--context_feature", "site:news",
               "--country", "US", "--slot", "s1:banner:0", "--slot", "s2:native:1"]

    def check_server_explains(self, name, path, model):
        """The server's Explain, on `path`, agrees with Python's `model`."""
        with harness.Server(BIN, os.path.join(self.tmp.name, "srv-" + name),
                            [f"--model={path}"]) as srv:
            learned = srv.cli("platform", "explain", *self.REQUEST)
            campaigns = srv.cli("operator", "campaign", "list")["campaigns"]
        self.assertEqual(learned["model_version"], model.version())
        tokens = {(c["id"], cr["id"]): am.ad_tokens(cr.get("features", []),
                                                    cr.get("category", ""), c["advertiser_id"])
                  for c in campaigns for cr in c["creatives"]}
        with torch.no_grad():
            u = model.context_vector(["interest:running", "kw:espresso", "site:news"],
                                     ["kw:marathon"])
            for slot, fmt in zip(learned["slots"], ["banner", "native"]):
                q = model.slot_query(u, fmt)
                self.assertClose(slot["query"], q.tolist(), f"{name} {fmt} query")
                cands = slot["candidates"]
                self.assertEqual(len(cands), slot["eligible"])  # All of them: exact weights.
                keys = torch.stack([model.ad_key(tokens[(c["campaign_id"], c["creative_id"])])
                                    for c in cands])
                self.assertClose([c["key"] for c in cands], keys.tolist(), f"{name} {fmt} keys")
                scores = model.head_scores(q, keys)
                self.assertClose([c["head_scores"] for c in cands], scores.tolist(),
                                 f"{name} {fmt} head scores")
                w, log_z = model.weights(scores)
                self.assertClose(slot["log_normalisers"], log_z.tolist(), f"{name} {fmt} log_z")
                self.assertClose([c["attention_weight"] for c in cands], w.tolist(),
                                 f"{name} {fmt} weights")
        return learned

    def test_server_explains_a_summed_model_as_python_computes_it(self):
        summed = am.Model.random(d_model=64, heads=4, buckets=4096, rng_seed=17, pooling=am.SUM)
        path = os.path.join(self.tmp.name, "summed-server.bin")
        summed.save(path)
        self.check_server_explains("summed", path, summed)

    def test_server_explains_what_python_computes_and_decides_differently(self):
        learned = self.check_server_explains("random", self.random_path, self.random)
        with harness.Server(BIN, os.path.join(self.tmp.name, "srv-default")) as srv:
            default = srv.cli("platform", "explain", *self.REQUEST)

        def weights(explanation):
            return {(s["slot_id"], c["campaign_id"]): c["attention_weight"]
                    for s in explanation["slots"] for c in s["candidates"]}

        w_learned, w_default = weights(learned), weights(default)
        self.assertEqual(w_learned.keys(), w_default.keys())
        self.assertGreater(max(abs(w_learned[k] - w_default[k]) for k in w_learned), 0.05)


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    unittest.main()
