#include "attention/model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "Eigen/Dense"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attention/check.h"
#include "attention/hashing.h"

namespace attex::attention {
namespace {

// Stack-allocated vectors: a fixed maximum size keeps Eigen off the heap.
using Vec = Eigen::Matrix<float, Eigen::Dynamic, 1, 0, kMaxDModel, 1>;
using ConstVecMap = Eigen::Map<const Eigen::VectorXf>;
using VecMap = Eigen::Map<Eigen::VectorXf>;
using ConstMatrixMap =
    Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// Format embeddings are small next to the user vector (norm_scale) so that
// the overlap of user and ad tokens, not the slot, decides the ranking; they
// only tilt it per format.
constexpr float kFormatWeight = 0.25f;

// The stream of the orthogonal matrix; rows of E use streams 0..buckets-1.
constexpr uint64_t kProjectionStream = ~uint64_t{0};

// Scales v to length `scale`; a zero or non-finite v becomes zero, so that
// one bad embedding cannot turn every score into NaN.
void NormaliseTo(Vec& v, float scale) {
  const float norm = v.norm();
  if (norm > 0.0f && std::isfinite(norm)) {
    v *= scale / norm;
  } else {
    v.setZero();
  }
}

uint64_t TokenHash(std::string_view token) { return Fnv1a64(token); }

}  // namespace

absl::Status ValidateConfig(const ModelConfig& config) {
  if (config.d_model < 1 || config.d_model > kMaxDModel) {
    return absl::InvalidArgumentError(
        absl::StrCat("d_model must be in [1, ", kMaxDModel, "], got ", config.d_model));
  }
  if (config.heads < 1 || config.d_model % config.heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("heads must divide d_model (", config.d_model, "), got ", config.heads));
  }
  if (config.buckets < 1 || config.buckets > (1 << 24) ||
      int64_t{config.buckets} * config.d_model > (int64_t{1} << 26)) {
    return absl::InvalidArgumentError(absl::StrCat("buckets out of range: ", config.buckets));
  }
  if (!(config.norm_scale > 0.0f) || !std::isfinite(config.norm_scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat("norm_scale must be finite and positive, got ", config.norm_scale));
  }
  if (config.pooling != Pooling::kNormalised && config.pooling != Pooling::kSum) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown pooling ", static_cast<uint32_t>(config.pooling)));
  }
  return absl::OkStatus();
}

std::unique_ptr<const Model> Model::Default(const ModelConfig& config) {
  ATTEX_CHECK(ValidateConfig(config).ok());
  const int d = config.d_model;
  std::vector<float> embeddings(static_cast<size_t>(config.buckets) * d);
  for (int r = 0; r < config.buckets; ++r) {
    FillGaussian(config.seed, r, embeddings.data() + static_cast<size_t>(r) * d, d);
  }

  // Q of the QR decomposition of a Gaussian matrix, with the columns' signs
  // fixed by R's diagonal, is a uniformly random orthogonal matrix.
  std::vector<float> gaussian(static_cast<size_t>(d) * d);
  FillGaussian(config.seed, kProjectionStream, gaussian.data(), d * d);
  const Eigen::MatrixXd g = Eigen::Map<const Eigen::MatrixXf>(gaussian.data(), d, d).cast<double>();
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
  Eigen::MatrixXd q = qr.householderQ();
  for (int j = 0; j < d; ++j) {
    if (qr.matrixQR()(j, j) < 0) q.col(j) *= -1.0;
  }
  std::vector<float> w(static_cast<size_t>(d) * d);
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j < d; ++j) w[static_cast<size_t>(i) * d + j] = static_cast<float>(q(i, j));
  }
  // W_Q = W_K: q . k = (u + slot) . a, so shared tokens give large scores.
  return std::unique_ptr<const Model>(new Model(config, std::move(embeddings), w, w));
}

Model::Model(const ModelConfig& config, std::vector<float> embeddings, std::vector<float> w_q,
             std::vector<float> w_k)
    : config_(config),
      embeddings_(std::move(embeddings)),
      w_q_(std::move(w_q)),
      w_k_(std::move(w_k)) {
  version_ = absl::StrFormat("default-d%d-h%d-%08x", config_.d_model, config_.heads, Checksum());
}

int Model::d_model() const { return config_.d_model; }
int Model::heads() const { return config_.heads; }
Pooling Model::pooling() const { return config_.pooling; }
int Model::d_head() const { return config_.d_model / config_.heads; }
const std::string& Model::version() const { return version_; }

const float* Model::Row(uint64_t hash) const {
  return embeddings_.data() + BucketOf(hash, config_.buckets) * config_.d_model;
}

void Model::ContextVector(const QueryInputs& in, absl::Span<float> u) const {
  const int d = config_.d_model;
  ATTEX_CHECK(u.size() == static_cast<size_t>(d));
  ATTEX_CHECK(in.user_embedding.empty() || in.user_embedding.size() == static_cast<size_t>(d));
  if (config_.pooling == Pooling::kSum) {
    SummedContextVector(in, u);
    return;
  }

  // Each part is normalised before the sum so that neither the number of
  // features nor the scale of a platform's embedding decides the mix.
  Vec total = Vec::Zero(d);
  Vec part(d);
  if (!in.user_embedding.empty()) {
    part = ConstVecMap(in.user_embedding.data(), d);
    NormaliseTo(part, 1.0f);
    total += part;
  } else if (!in.features.empty()) {
    part.setZero();
    for (std::string_view f : in.features) part += ConstVecMap(Row(TokenHash(f)), d);
    NormaliseTo(part, 1.0f);
    total += part;
  }

  if (!in.recent.empty()) {
    // Self-attention led by the newest token: the tokens that resemble it
    // (repeats above all) carry the pooled interest.
    const size_t n = std::min(in.recent.size(), static_cast<size_t>(kMaxRecent));
    const size_t first = in.recent.size() - n;
    const float* rows[kMaxRecent];
    float logits[kMaxRecent];
    for (size_t t = 0; t < n; ++t) rows[t] = Row(TokenHash(in.recent[first + t]));
    const ConstVecMap newest(rows[n - 1], d);
    const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(d));
    float max_logit = -std::numeric_limits<float>::infinity();
    for (size_t t = 0; t < n; ++t) {
      logits[t] = ConstVecMap(rows[t], d).dot(newest) * inv_sqrt_d;
      max_logit = std::max(max_logit, logits[t]);
    }
    float sum = 0.0f;
    for (size_t t = 0; t < n; ++t) {
      logits[t] = std::exp(logits[t] - max_logit);
      sum += logits[t];
    }
    part.setZero();
    for (size_t t = 0; t < n; ++t) part += (logits[t] / sum) * ConstVecMap(rows[t], d);
    NormaliseTo(part, 1.0f);
    total += part;
  }

  NormaliseTo(total, config_.norm_scale);
  VecMap(u.data(), d) = total;
}

void Model::SummedContextVector(const QueryInputs& in, absl::Span<float> u) const {
  const int d = config_.d_model;
  // The length of a row of the default model's E (N(0, 1) coordinates), so
  // that one feature of a random table counts about as much as under
  // kNormalised, and a platform's embedding as much as one feature.
  const float unit = std::sqrt(static_cast<float>(d));
  Vec total = Vec::Zero(d);
  if (!in.user_embedding.empty()) {
    Vec part = ConstVecMap(in.user_embedding.data(), d);
    NormaliseTo(part, unit);
    total += part;
  } else {
    for (std::string_view f : in.features) total += ConstVecMap(Row(TokenHash(f)), d);
  }
  const size_t n = std::min(in.recent.size(), static_cast<size_t>(kMaxRecent));
  for (size_t t = in.recent.size() - n; t < in.recent.size(); ++t) {
    total += ConstVecMap(Row(TokenHash(in.recent[t])), d);
  }
  if (std::isfinite(total.squaredNorm())) {
    total *= config_.norm_scale / unit;
  } else {
    total.setZero();
  }
  VecMap(u.data(), d) = total;
}

void Model::UserQuery(absl::Span<const float> u, absl::Span<float> q) const {
  const int d = config_.d_model;
  ATTEX_CHECK(u.size() == static_cast<size_t>(d) && q.size() == static_cast<size_t>(d));
  VecMap(q.data(), d).noalias() = ConstMatrixMap(w_q_.data(), d, d) * ConstVecMap(u.data(), d);
}

void Model::FormatQuery(std::string_view format, absl::Span<float> q) const {
  const int d = config_.d_model;
  ATTEX_CHECK(q.size() == static_cast<size_t>(d));
  // Hash the prefix and the body in sequence: no string is built.
  Vec slot = ConstVecMap(Row(Fnv1a64(format, Fnv1a64("slot:"))), d);
  NormaliseTo(slot, kFormatWeight * config_.norm_scale);
  VecMap(q.data(), d).noalias() = ConstMatrixMap(w_q_.data(), d, d) * slot;
}

void Model::SlotQuery(absl::Span<const float> u, std::string_view format,
                      absl::Span<float> q) const {
  const int d = config_.d_model;
  ATTEX_CHECK(q.size() == static_cast<size_t>(d));
  float f[kMaxDModel];
  FormatQuery(format, absl::MakeSpan(f, d));
  UserQuery(u, q);
  for (int j = 0; j < d; ++j) q[j] += f[j];
}

void Model::AdKey(absl::Span<const std::string_view> tokens, absl::Span<const float> embedding,
                  absl::Span<float> k) const {
  const int d = config_.d_model;
  ATTEX_CHECK(k.size() == static_cast<size_t>(d));
  ATTEX_CHECK(embedding.empty() || embedding.size() == static_cast<size_t>(d));
  Vec a = Vec::Zero(d);
  if (!embedding.empty()) {
    a = ConstVecMap(embedding.data(), d);
  } else {
    for (std::string_view t : tokens) a += ConstVecMap(Row(TokenHash(t)), d);
  }
  NormaliseTo(a, config_.norm_scale);
  VecMap(k.data(), d).noalias() = ConstMatrixMap(w_k_.data(), d, d) * a;
}

}  // namespace attex::attention
