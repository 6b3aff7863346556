// attex-load's OpenRTB 2.6 requests: a workload BidRequest written as the
// JSON body a supply-side platform would post, so that --method openrtb
// sends the same traffic as --method bid. Features that OpenRTB has no
// field for (the user's interests, the page's site token) travel as
// segments of the data provider "attex", which the endpoint takes as attex
// features (docs/openrtb.md); recent interactions are not sent.
#ifndef ATTEX_CLIENT_LOAD_OPENRTB_BODY_H_
#define ATTEX_CLIENT_LOAD_OPENRTB_BODY_H_

#include <string>

#include "attex/v1/exchange.pb.h"

namespace attex::load {

std::string OpenRtbBody(const attex::v1::BidRequest& request);

}  // namespace attex::load

#endif  // ATTEX_CLIENT_LOAD_OPENRTB_BODY_H_
