#include "attention/ann.h"

#include <algorithm>
#include <exception>
#include <queue>
#include <utility>

#include "absl/strings/str_cat.h"
#include "attention/check.h"

// hnswlib 0.6.2's SSE path prefetches through the element one past the end of
// a full link list (a 4-byte read past an allocation, used only as a prefetch
// address; later upstream versions stop doing it). Benign, but AddressSanitizer
// rightly reports it, so sanitized builds take hnswlib's plain path.
#if defined(__SANITIZE_ADDRESS__) && !defined(NO_MANUAL_VECTORIZATION)
#define NO_MANUAL_VECTORIZATION
#endif
#include "hnswlib/hnswlib.h"

namespace attex::attention {

struct AnnIndex::Impl {
  explicit Impl(int d) : space(d) {}
  hnswlib::InnerProductSpace space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
};

AnnIndex::AnnIndex(std::unique_ptr<Impl> impl, int64_t rows, int d_model, int ef_search)
    : impl_(std::move(impl)), rows_(rows), d_model_(d_model), ef_search_(ef_search) {}

AnnIndex::~AnnIndex() = default;

absl::StatusOr<std::unique_ptr<AnnIndex>> AnnIndex::Build(absl::Span<const float> keys,
                                                          int64_t rows, int d_model,
                                                          const AnnOptions& options,
                                                          const AnnProgress& progress) {
  if (rows < 0 || d_model <= 0 || keys.size() != static_cast<size_t>(rows) * d_model) {
    return absl::InvalidArgumentError("ann: keys must be rows x d_model floats");
  }
  if (options.m < 2 || options.ef_construction < 1 || options.ef_search < 1) {
    return absl::InvalidArgumentError("ann: m >= 2, ef_construction and ef_search >= 1");
  }
  auto impl = std::make_unique<Impl>(d_model);
  // hnswlib reports failures by exception; they stop here.
  try {
    impl->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        &impl->space, std::max<int64_t>(rows, 1), options.m, options.ef_construction);
    for (int64_t i = 0; i < rows; ++i) {
      impl->graph->addPoint(keys.data() + i * d_model, static_cast<hnswlib::labeltype>(i));
      if (progress && ((i + 1) % 4096 == 0 || i + 1 == rows) && !progress(i + 1)) {
        return absl::CancelledError(absl::StrCat("ann: build stopped after ", i + 1, " rows"));
      }
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("ann: hnswlib: ", e.what()));
  }
  return std::unique_ptr<AnnIndex>(new AnnIndex(std::move(impl), rows, d_model, options.ef_search));
}

int AnnIndex::Search(absl::Span<const float> query, absl::Span<int64_t> out) const {
  ATTEX_CHECK(query.size() == static_cast<size_t>(d_model_));
  if (rows_ == 0 || out.empty()) return 0;
  const size_t k = std::min<size_t>(out.size(), rows_);
  std::priority_queue<std::pair<float, hnswlib::labeltype>> found;
  try {
    // searchKnn's beam is max(ef, k); the graph's ef is shared, so pass it
    // through k rather than setEf (which would race between threads).
    found = impl_->graph->searchKnn(query.data(), std::max<size_t>(k, ef_search_));
  } catch (const std::exception&) {
    return 0;
  }
  while (found.size() > k) found.pop();  // The worst (largest distance) first.
  const int n = static_cast<int>(found.size());
  for (int i = n - 1; i >= 0; --i) {
    out[i] = static_cast<int64_t>(found.top().second);
    found.pop();
  }
  return n;
}

}  // namespace attex::attention
