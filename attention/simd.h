// Which SIMD instruction set the attention kernels use. Chosen at run time
// from what the CPU supports; tests and benchmarks may force a path.
#ifndef ATTEX_ATTENTION_SIMD_H_
#define ATTEX_ATTENTION_SIMD_H_

#include <string_view>

namespace attex::attention {

enum class Isa : int {
  kPortable = 0,  // Plain C++ (GCC vector extensions lowered to the baseline).
  kAvx2 = 1,      // AVX2 + FMA.
  kAvx512 = 2,    // AVX-512 F/BW/VL/DQ.
};

// True when this build contains the path and the CPU runs it.
bool IsaSupported(Isa isa);
// The widest supported path. Thread-safe; computed once.
Isa BestIsa();
std::string_view IsaName(Isa isa);

}  // namespace attex::attention

#endif  // ATTEX_ATTENTION_SIMD_H_
