// ATTEX_CHECK(cond): aborts loudly when an internal invariant or a caller's
// precondition is broken. Not for bad input from the network, which callers
// turn into INVALID_ARGUMENT before it reaches this module.
#ifndef ATTEX_ATTENTION_CHECK_H_
#define ATTEX_ATTENTION_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define ATTEX_CHECK(cond)                                                           \
  do {                                                                              \
    if (!(cond)) [[unlikely]] {                                                     \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

#endif  // ATTEX_ATTENTION_CHECK_H_
