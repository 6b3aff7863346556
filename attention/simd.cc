#include "attention/simd.h"

#include "attention/fused.h"

namespace attex::attention {
namespace internal {

void Pass_portable(const PassArgs& args);
int Scan_portable(const ScanArgs&, int64_t, int64_t*, int64_t*, float*, int);
#ifdef ATTEX_X86_KERNELS
void Pass_avx2(const PassArgs& args);
int Scan_avx2(const ScanArgs&, int64_t, int64_t*, int64_t*, float*, int);
void Pass_avx512(const PassArgs& args);
int Scan_avx512(const ScanArgs&, int64_t, int64_t*, int64_t*, float*, int);
#endif

PassFn PassFor(Isa isa) {
#ifdef ATTEX_X86_KERNELS
  if (isa == Isa::kAvx512) return Pass_avx512;
  if (isa == Isa::kAvx2) return Pass_avx2;
#endif
  return Pass_portable;
}

ScanFn ScanFor(Isa isa) {
#ifdef ATTEX_X86_KERNELS
  if (isa == Isa::kAvx512) return Scan_avx512;
  if (isa == Isa::kAvx2) return Scan_avx2;
#endif
  return Scan_portable;
}

}  // namespace internal

bool IsaSupported(Isa isa) {
  switch (isa) {
    case Isa::kPortable:
      return true;
#ifdef ATTEX_X86_KERNELS
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#endif
    default:
      return false;
  }
}

Isa BestIsa() {
  static const Isa best = IsaSupported(Isa::kAvx512) ? Isa::kAvx512
                          : IsaSupported(Isa::kAvx2) ? Isa::kAvx2
                                                     : Isa::kPortable;
  return best;
}

std::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kPortable:
      return "portable";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "?";
}

}  // namespace attex::attention
