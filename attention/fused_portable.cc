// The fused kernels compiled for the portable path (flags in CMakeLists.txt).
#define ATTEX_FUSED_WIDTH 4
#include "attention/fused_kernel.h"

namespace attex::attention::internal {

void Pass_portable(const PassArgs& args) { fused_kernel::Pass(args); }

int Scan_portable(const ScanArgs& args, int64_t begin, int64_t* next, int64_t* rows_out,
                  float* p_out, int capacity) {
  return fused_kernel::Scan(args, begin, next, rows_out, p_out, capacity);
}

}  // namespace attex::attention::internal
