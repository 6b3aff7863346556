"""The served attention model in PyTorch: what attention/model.cc, model_io.cc
and scorer.cc compute, in float32, so that a model trained here is the model
the server serves (docs/model.md). Gradients flow through every parameter of
the file: the embedding table E, W_Q and W_K.

Run with Debian's interpreter (/usr/bin/python3) and python3-torch.
"""

import struct
import zlib

import torch

MAGIC = b"ATTEXMDL"
FORMAT_VERSION = 1  # The format of a model that pools as NORMALISED (every file before 2).
FORMAT_VERSION_POOLING = 2  # The header then names its pooling.
HEADER = struct.Struct("<8sIiiiQf")  # magic, version, d_model, heads, buckets, seed, norm_scale
POOLING = struct.Struct("<I")  # Format 2: the pooling, after the header.
# How ContextVector pools the user's evidence (model.h's Pooling).
NORMALISED = 0  # u = n(n(features) + n(recent), S): the same length for every user.
SUM = 1  # u = (S / sqrt(d)) (sum of feature rows + sum of recent rows): evidence adds up.
POOLINGS = {"normalised": NORMALISED, "sum": SUM}
MAX_RECENT = 64
FORMAT_WEIGHT = 0.25  # The slot format's share of norm_scale (model.cc's kFormatWeight).
MASK64 = (1 << 64) - 1
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def fnv1a64(data, h=FNV_OFFSET):
    """64-bit FNV-1a of bytes (or a str, as UTF-8), continuing from h."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    for c in data:
        h = ((h ^ c) * FNV_PRIME) & MASK64
    return h


def mix64(x):
    """The splitmix64 finaliser (hashing.h)."""
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & MASK64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & MASK64
    x ^= x >> 31
    return x


def bucket_of(token, buckets):
    """The row of E a token selects: BucketOf(Fnv1a64(token), buckets)."""
    return mix64(fnv1a64(token)) % buckets


def format_token(fmt):
    """The token of a slot format's embedding row."""
    return "slot:" + fmt


def ad_tokens(features, category, advertiser_id):
    """The tokens an ad's key pools, as auction/catalog.cc builds them."""
    tokens = list(features)
    if category:
        tokens.append("category:" + category)
    tokens.append("advertiser:" + advertiser_id)
    return tokens


class ModelFileError(ValueError):
    pass


def _scaled(v, scale):
    """v times `scale`; a non-finite v (any coordinate) becomes zero, as
    _normalise does, so that a bad embedding cannot poison the scores."""
    ok = torch.isfinite((v * v).sum(-1, keepdim=True))
    return torch.where(ok, v * scale, torch.zeros_like(v))


def _normalise(v, scale):
    """v scaled to length `scale` along its last axis; a zero or non-finite
    v becomes zero (without a NaN gradient: the norm of a zero row is never
    taken)."""
    sumsq = (v * v).sum(-1, keepdim=True)
    ok = (sumsq > 0) & torch.isfinite(sumsq)
    safe = torch.sqrt(torch.where(ok, sumsq, torch.ones_like(sumsq)))
    return torch.where(ok, v * (scale / safe), torch.zeros_like(v))


class Model(torch.nn.Module):
    """E (buckets x d), W_Q and W_K (d x d) as parameters, and the header."""

    def __init__(self, d_model, heads, buckets, seed, norm_scale, embeddings, w_q, w_k,
                 pooling=NORMALISED):
        super().__init__()
        if pooling not in POOLINGS.values():
            raise ModelFileError(f"unknown pooling {pooling}")
        self.pooling = pooling
        if not 1 <= d_model <= 256:
            raise ModelFileError(f"d_model must be in [1, 256], got {d_model}")
        if heads < 1 or d_model % heads:
            raise ModelFileError(f"heads must divide d_model ({d_model}), got {heads}")
        if not 1 <= buckets <= (1 << 24) or buckets * d_model > (1 << 26):
            raise ModelFileError(f"buckets out of range: {buckets}")
        if not (norm_scale > 0 and norm_scale < float("inf")):
            raise ModelFileError(f"norm_scale must be finite and positive, got {norm_scale}")
        self.d_model, self.heads, self.buckets = d_model, heads, buckets
        self.seed, self.norm_scale = seed, float(norm_scale)
        self.embeddings = torch.nn.Parameter(torch.as_tensor(embeddings, dtype=torch.float32))
        self.w_q = torch.nn.Parameter(torch.as_tensor(w_q, dtype=torch.float32))
        self.w_k = torch.nn.Parameter(torch.as_tensor(w_k, dtype=torch.float32))
        assert self.embeddings.shape == (buckets, d_model)
        assert self.w_q.shape == (d_model, d_model) and self.w_k.shape == (d_model, d_model)
        self._rows = {}

    @property
    def d_head(self):
        return self.d_model // self.heads

    @staticmethod
    def random(d_model=64, heads=4, buckets=1 << 16, seed=0x5EED, norm_scale=6.0, rng_seed=0,
               pooling=NORMALISED, row_scale=1.0):
        """Random parameters: E's coordinates N(0, row_scale^2) (the scale
        matters only to SUM pooling, where a row's length is its token's
        weight: small rows make tokens that training never sees add next to
        nothing), W_Q and W_K's N(0, 1 / d)."""
        g = torch.Generator().manual_seed(rng_seed)
        e = torch.randn(buckets, d_model, generator=g) * row_scale
        w_q = torch.randn(d_model, d_model, generator=g) / d_model ** 0.5
        w_k = torch.randn(d_model, d_model, generator=g) / d_model ** 0.5
        return Model(d_model, heads, buckets, seed, norm_scale, e, w_q, w_k, pooling)

    # -- the file (model_io.cc) --------------------------------------------
    def header_bytes(self):
        """Format 1 for a NORMALISED model (the bytes of every earlier file),
        format 2 with the pooling otherwise."""
        if self.pooling == NORMALISED:
            return HEADER.pack(MAGIC, FORMAT_VERSION, self.d_model, self.heads, self.buckets,
                               self.seed, self.norm_scale)
        return HEADER.pack(MAGIC, FORMAT_VERSION_POOLING, self.d_model, self.heads, self.buckets,
                           self.seed, self.norm_scale) + POOLING.pack(self.pooling)

    def body_bytes(self):
        with torch.no_grad():
            parts = [t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
                     for t in (self.embeddings, self.w_q, self.w_k)]
        return b"".join(parts)

    def checksum(self):
        return zlib.crc32(self.body_bytes(), zlib.crc32(self.header_bytes())) & 0xFFFFFFFF

    def version(self):
        """As Model::version(): the CRC-32 that names the file."""
        return "default-d%d-h%d-%08x" % (self.d_model, self.heads, self.checksum())

    def save(self, path):
        """Writes the file Model::Load reads, aside and renamed."""
        data = self.header_bytes() + self.body_bytes()
        data += struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        import os
        os.replace(tmp, path)

    @staticmethod
    def load(path):
        with open(path, "rb") as f:
            data = f.read()
        if len(data) < HEADER.size + 4:
            raise ModelFileError(f"{path}: too short for a model file")
        magic, version, d, heads, buckets, seed, scale = HEADER.unpack_from(data)
        if magic != MAGIC:
            raise ModelFileError(f"{path}: not an attex model (bad magic)")
        if version not in (FORMAT_VERSION, FORMAT_VERSION_POOLING):
            raise ModelFileError(f"{path}: unsupported format version {version}")
        header = HEADER.size
        pooling = NORMALISED
        if version == FORMAT_VERSION_POOLING:
            if len(data) < header + POOLING.size + 4:
                raise ModelFileError(f"{path}: too short for a model file")
            (pooling,) = POOLING.unpack_from(data, header)
            header += POOLING.size
            if pooling == NORMALISED or pooling not in POOLINGS.values():
                raise ModelFileError(f"{path}: unknown pooling {pooling}")
        expected = header + (buckets * d + 2 * d * d) * 4 + 4
        if len(data) != expected:
            raise ModelFileError(f"{path}: {len(data)} bytes, expected {expected}")
        (stored,) = struct.unpack_from("<I", data, len(data) - 4)
        if zlib.crc32(data[:-4]) & 0xFFFFFFFF != stored:
            raise ModelFileError(f"{path}: checksum mismatch")
        import numpy as np
        floats = np.frombuffer(data, dtype="<f4", count=buckets * d + 2 * d * d,
                               offset=header)
        e = floats[:buckets * d].reshape(buckets, d).copy()
        w_q = floats[buckets * d:buckets * d + d * d].reshape(d, d).copy()
        w_k = floats[buckets * d + d * d:].reshape(d, d).copy()
        return Model(d, heads, buckets, seed, scale, e, w_q, w_k, pooling)

    # -- what the server computes (model.cc, scorer.cc) ---------------------
    def row_index(self, token):
        i = self._rows.get(token)
        if i is None:
            i = self._rows[token] = bucket_of(token, self.buckets)
        return i

    def rows(self, tokens):
        return self.embeddings[torch.tensor([self.row_index(t) for t in tokens],
                                            dtype=torch.long)]

    def context_vector(self, features=(), recent=(), user_embedding=()):
        """Model::ContextVector: u (d floats)."""
        d = self.d_model
        if self.pooling == SUM:
            return self._summed_context(features, recent, user_embedding)
        total = torch.zeros(d)
        if len(user_embedding):
            total = total + _normalise(torch.as_tensor(user_embedding, dtype=torch.float32), 1.0)
        elif len(features):
            total = total + _normalise(self.rows(features).sum(0), 1.0)
        if len(recent):
            rows = self.rows(list(recent)[-MAX_RECENT:])
            logits = rows @ rows[-1] * (1.0 / d ** 0.5)
            a = torch.softmax(logits, 0)
            total = total + _normalise((a[:, None] * rows).sum(0), 1.0)
        return _normalise(total, self.norm_scale)

    def _summed_context(self, features, recent, user_embedding):
        """SUM pooling: (S / sqrt(d)) (p + r), p the sum of the feature rows
        (or the user embedding at length sqrt(d), the length of a random
        row), r the sum of the newest MAX_RECENT recent rows."""
        d = self.d_model
        total = torch.zeros(d)
        if len(user_embedding):
            total = total + _normalise(torch.as_tensor(user_embedding, dtype=torch.float32),
                                       self.sum_unit())
        elif len(features):
            total = total + self.rows(features).sum(0)
        if len(recent):
            total = total + self.rows(list(recent)[-MAX_RECENT:]).sum(0)
        return _scaled(total, self.sum_scale())

    def sum_unit(self):
        """sqrt(d) in float32, as model.cc computes it."""
        return float(torch.sqrt(torch.tensor(float(self.d_model), dtype=torch.float32)))

    def sum_scale(self):
        """S / sqrt(d) in float32, as model.cc computes it."""
        return float(torch.tensor(self.norm_scale, dtype=torch.float32) /
                     torch.sqrt(torch.tensor(float(self.d_model), dtype=torch.float32)))

    def format_vector(self, fmt):
        return _normalise(self.rows([format_token(fmt)])[0], FORMAT_WEIGHT * self.norm_scale)

    def slot_query(self, u, fmt):
        """Model::SlotQuery: W_Q (u + f)."""
        return self.w_q @ u + self.w_q @ self.format_vector(fmt)

    def ad_key(self, tokens=(), embedding=()):
        """Model::AdKey: W_K a."""
        if len(embedding):
            a = torch.as_tensor(embedding, dtype=torch.float32)
        else:
            a = self.rows(tokens).sum(0)
        return self.w_k @ _normalise(a, self.norm_scale)

    def head_scores(self, q, keys):
        """score_h,i = q_h . k_h,i / sqrt(d_head): keys (n x d) -> (n x heads)."""
        n = keys.shape[0]
        qh = q.reshape(self.heads, self.d_head)
        kh = keys.reshape(n, self.heads, self.d_head)
        return (kh * qh).sum(-1) * (1.0 / self.d_head ** 0.5)

    def weights(self, scores):
        """ScoreSlot's weights over eligible ads: the mean over heads of each
        head's softmax; also each head's log normaliser."""
        log_z = torch.logsumexp(scores, 0)
        return torch.exp(scores - log_z).mean(1), log_z

    # -- the same, for a batch of impressions (the trainer's) --------------
    def batch_relevance(self, batch, tensors=None):
        """log(mean_h exp(score_h)) of each impression of `batch` (a Batch):
        the ad's head scores for the slot's query, as the server computes them.
        `tensors`, when given, is (E, W_Q, W_K) to use in place of the model's
        own (the trainer's low-rank parametrisation materialises them)."""
        e, w_q, w_k = tensors if tensors is not None else (self.embeddings, self.w_q, self.w_k)
        feat = (e[batch.feat_idx] * batch.feat_mask[..., None]).sum(1)
        rows = e[batch.recent_idx]  # n x L x d, newest at recent_len - 1.
        n = rows.shape[0]
        if self.pooling == SUM:
            p = torch.where(batch.has_user_emb[:, None],
                            _normalise(batch.user_emb, self.sum_unit()), feat)
            r = (rows * batch.recent_mask[..., None]).sum(1)
            u = _scaled(p + r, self.sum_scale())
        else:
            u = self._normalised_context(batch, feat, rows, n)
        return self._relevance_of(batch, u, e, w_q, w_k)

    def _normalised_context(self, batch, feat, rows, n):
        d, s = self.d_model, self.norm_scale
        p = torch.where(batch.has_user_emb[:, None], _normalise(batch.user_emb, 1.0),
                        _normalise(feat, 1.0))
        if rows.shape[1]:
            last = (batch.recent_len - 1).clamp(min=0)
            newest = rows[torch.arange(n), last]
            logits = (rows * newest[:, None, :]).sum(-1) * (1.0 / d ** 0.5)
            logits = torch.where(batch.recent_mask > 0, logits, torch.full_like(logits, -1e30))
            a = torch.softmax(logits, 1) * batch.recent_mask
            r = _normalise((a[..., None] * rows).sum(1), 1.0)
        else:
            r = torch.zeros(n, d)
        return _normalise(p + r, s)

    def _relevance_of(self, batch, u, e, w_q, w_k):
        """log(mean_h exp(score_h)) for the pooled context vectors u (n x d)."""
        n, s = u.shape[0], self.norm_scale
        f = _normalise(e[batch.format_idx], FORMAT_WEIGHT * s)
        q = u @ w_q.T + f @ w_q.T
        ad = (e[batch.ad_idx] * batch.ad_mask[..., None]).sum(1)
        ad = torch.where(batch.has_ad_emb[:, None], batch.ad_emb, ad)
        k = _normalise(ad, s) @ w_k.T
        scores = (q * k).reshape(n, self.heads, self.d_head).sum(-1) * (1.0 / self.d_head ** 0.5)
        return self.relevance(scores)

    def relevance(self, scores):
        """log(mean_h exp(score_h)): the ad's part of the click logit."""
        return torch.logsumexp(scores, -1) - torch.log(torch.tensor(float(self.heads)))
