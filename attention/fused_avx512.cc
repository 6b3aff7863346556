// The fused kernels compiled for the avx512 path (flags in CMakeLists.txt).
#define ATTEX_FUSED_WIDTH 16
#include "attention/fused_kernel.h"

namespace attex::attention::internal {

void Pass_avx512(const PassArgs& args) { fused_kernel::Pass(args); }

int Scan_avx512(const ScanArgs& args, int64_t begin, int64_t* next, int64_t* rows_out, float* p_out,
                int capacity) {
  return fused_kernel::Scan(args, begin, next, rows_out, p_out, capacity);
}

}  // namespace attex::attention::internal
