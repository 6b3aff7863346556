// The attention model: feature hashing into a shared embedding table, pooled
// user/context vectors, per-slot queries and per-ad keys. Knows vectors, not
// ads or money.
#ifndef ATTEX_ATTENTION_MODEL_H_
#define ATTEX_ATTENTION_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace attex::attention {

// Limits that let the hot path use fixed stack buffers instead of the heap.
inline constexpr int kMaxDModel = 256;
inline constexpr int kMaxRecent = 64;  // Only the newest kMaxRecent tokens count.

// How ContextVector pools the user's evidence into u (docs/model.md).
enum class Pooling : uint32_t {
  // u = n(n(features) + n(recent, self-attention), norm_scale): the same
  // length for every user. The default model's, and every file of format 1.
  kNormalised = 0,
  // u = (norm_scale / sqrt(d_model)) x (sum of the feature rows + sum of the
  // newest kMaxRecent recent rows): agreeing evidence adds up, so that u's
  // length, and so the scores' spread, grows with it. A user embedding
  // counts as one part at length sqrt(d_model) (a random row's). Files of
  // format 2 name it.
  kSum = 1,
};

struct ModelConfig {
  int d_model = 64;         // Width of every embedding, query and key.
  int heads = 4;            // d_model % heads == 0; d_head = d_model / heads.
  int buckets = 1 << 16;    // Rows of the hashed embedding table E.
  uint64_t seed = 0x5eed;   // Everything in the default model derives from it.
  float norm_scale = 6.0f;  // Pooled vectors are L2-normalised, then scaled.
  Pooling pooling = Pooling::kNormalised;
};

// OK, or INVALID_ARGUMENT naming the bad field: d_model in [1, kMaxDModel],
// heads dividing d_model, buckets in [1, 2^24] with buckets x d_model at most
// 2^26 floats, norm_scale finite and positive, a known pooling.
absl::Status ValidateConfig(const ModelConfig& config);

// What a request says about the user and the page, as views into the request.
struct QueryInputs {
  absl::Span<const std::string_view> features;  // User and context features.
  absl::Span<const std::string_view> recent;    // Oldest first, newest last.
  absl::Span<const float> user_embedding;       // Empty, or d_model floats.
};

// Immutable once built; every method is const and thread-safe. No method
// allocates (the hot path calls ContextVector and SlotQuery per request).
// Span sizes are preconditions: the caller (the server) rejects a request
// whose user_embedding is neither empty nor d_model floats with
// INVALID_ARGUMENT; a wrong size reaching the model aborts. Non-finite
// embeddings pool to a zero vector rather than poisoning the scores.
class Model final {
 public:
  // The deterministic default model of DESIGN.md: E ~ N(0,1) rows derived
  // from the seed and the bucket index; W_Q = W_K = one random orthogonal
  // d_model x d_model matrix, so that a user and an ad sharing tokens get a
  // large dot product; format embeddings from hashing "slot:<format>". Aborts on a config that
  // ValidateConfig rejects.
  static std::unique_ptr<const Model> Default(const ModelConfig& config = {});
  // A model file written by Save: a header, the config, the matrices, and a
  // CRC-32 checksum. Errors: NOT_FOUND, DATA_LOSS (bad checksum or size),
  // INVALID_ARGUMENT (bad header or config).
  static absl::StatusOr<std::unique_ptr<const Model>> Load(const std::string& path);
  absl::Status Save(const std::string& path) const;

  int d_model() const;
  int heads() const;
  Pooling pooling() const;
  int d_head() const;
  // e.g. "default-d64-h4-1a2b3c4d": the checksum of the parameters (the
  // CRC-32 that Save writes), so a saved and reloaded model keeps its version.
  const std::string& version() const;

  // The pooled user/context vector u (d_model floats). kNormalised: the
  // mean of the hashed rows of `features`, plus a self-attention pooling of
  // `recent` led by its newest token, L2-normalised and scaled by
  // norm_scale; the two parts are each normalised before they are added, so
  // that they weigh the same. kSum: the sum of the rows of both, times
  // norm_scale / sqrt(d_model) (see Pooling). With a user_embedding it
  // replaces the features' part. All-empty inputs give a zero vector, and
  // so do non-finite ones. Only the newest kMaxRecent tokens count.
  void ContextVector(const QueryInputs& in, absl::Span<float> u) const;
  // A slot's query: q = W_Q (u + f), f the embedding of the slot's format
  // ("slot:<format>" hashed), d_model floats; the heads are consecutive
  // blocks of d_head. It is the sum of UserQuery (per request) and
  // FormatQuery (per format, which the catalogue folds into each ad's head
  // bias), so that a request's slots share one query against the keys.
  //
  // The slot's position does not enter the query. A position term would be
  // the same for every ad (position bias: how much attention a position
  // gets, not which ad gets it), and a term the same for every ad leaves
  // the softmax over ads unchanged; the auction uses position only to fill
  // slots in order.
  void SlotQuery(absl::Span<const float> u, std::string_view format, absl::Span<float> q) const;
  // W_Q u: the part of every slot's query the request brings.
  void UserQuery(absl::Span<const float> u, absl::Span<float> q) const;
  // W_Q f: the part the slot's format brings.
  void FormatQuery(std::string_view format, absl::Span<float> q) const;
  // k = W_K a, where a is the pooled (normalised, scaled) embedding of the
  // ad's tokens, or `embedding` (d_model floats) when it is not empty.
  // Called when a campaign changes, not per request.
  void AdKey(absl::Span<const std::string_view> tokens, absl::Span<const float> embedding,
             absl::Span<float> k) const;

 private:
  Model(const ModelConfig& config, std::vector<float> embeddings, std::vector<float> w_q,
        std::vector<float> w_k);

  // The row of E (d_model floats) that a token's Fnv1a64 hash selects.
  const float* Row(uint64_t token_hash) const;
  // ContextVector for Pooling::kSum.
  void SummedContextVector(const QueryInputs& in, absl::Span<float> u) const;
  // The bytes Save writes before the matrices: magic, format version, config.
  std::string EncodeHeader() const;
  // CRC-32 of the header and the matrices: the file's trailer.
  uint32_t Checksum() const;

  ModelConfig config_;
  std::vector<float> embeddings_;  // E: buckets x d_model, row-major.
  std::vector<float> w_q_;         // d_model x d_model, row-major.
  std::vector<float> w_k_;         // d_model x d_model, row-major.
  std::string version_;
};

}  // namespace attex::attention

#endif  // ATTEX_ATTENTION_MODEL_H_
