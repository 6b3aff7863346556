// One OpenRTB 2.6 impression (imp[]) as an attex.v1.Slot: its format, its
// position, its floor, and the size and media type the answer needs. Part of
// ParseBidRequest (openrtb_mapping.h), which states the errors.
#ifndef ATTEX_SERVER_OPENRTB_OPENRTB_IMP_H_
#define ATTEX_SERVER_OPENRTB_OPENRTB_IMP_H_

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/openrtb/json_read.h"
#include "server/openrtb/openrtb_mapping.h"

namespace attex::openrtb {

// Maps impression `e` into out->bid's slots and out->imps, unless it is a
// private auction (*private_only is set then, and nothing is added). `ids`
// holds the impression ids seen so far (views into the document).
absl::Status ParseImp(const Field& e, const MappingOptions& options, Request* out,
                      absl::flat_hash_set<absl::string_view>* ids, bool* private_only);

}  // namespace attex::openrtb

#endif  // ATTEX_SERVER_OPENRTB_OPENRTB_IMP_H_
