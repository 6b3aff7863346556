// Candidate retrieval for catalogues too large to scan within the deadline:
// an HNSW graph (hnswlib, Debian's libhnswlib-dev) over the ads' keys by
// inner product. The inner product of a whole query with a whole key is the
// sum of the per-head scores (times sqrt(d_head)), so the ads it retrieves
// are those attention favours; exact attention then runs over them only.
// Built when campaigns change; Search is const and thread-safe, but it
// allocates (hnswlib returns a std::priority_queue).
#ifndef ATTEX_ATTENTION_ANN_H_
#define ATTEX_ATTENTION_ANN_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace attex::attention {

struct AnnOptions {
  int m = 16;                 // Graph degree.
  int ef_construction = 100;  // Build-time beam.
  int ef_search = 256;        // Query-time beam (at least the candidates asked for).
};

// Called during a build with the rows indexed so far (every 4,096 rows and
// at the end); returning false stops the build, which then fails CANCELLED.
using AnnProgress = std::function<bool(int64_t rows_done)>;

class AnnIndex final {
 public:
  // `keys`: rows x d_model floats, row-major; copied, so they need not
  // outlive the call. INVALID_ARGUMENT on a bad shape or options; INTERNAL
  // if hnswlib fails; CANCELLED when `progress` asks to stop. A large build
  // takes long (minutes for 1e6 x 64 on one core): never on the bid path.
  static absl::StatusOr<std::unique_ptr<AnnIndex>> Build(absl::Span<const float> keys, int64_t rows,
                                                         int d_model,
                                                         const AnnOptions& options = {},
                                                         const AnnProgress& progress = nullptr);
  ~AnnIndex();

  int64_t rows() const { return rows_; }
  int dims() const { return d_model_; }  // Floats per row and query.
  // Up to out.size() rows with the largest query . key, best first. Returns
  // how many.
  int Search(absl::Span<const float> query, absl::Span<int64_t> out) const;

 private:
  struct Impl;
  AnnIndex(std::unique_ptr<Impl> impl, int64_t rows, int d_model, int ef_search);

  std::unique_ptr<Impl> impl_;
  int64_t rows_;
  int d_model_;
  int ef_search_;
};

}  // namespace attex::attention

#endif  // ATTEX_ATTENTION_ANN_H_
