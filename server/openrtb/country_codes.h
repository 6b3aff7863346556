// ISO 3166-1 country codes: OpenRTB's device.geo.country is alpha-3
// ("USA"), attex's Context.country alpha-2 ("US").
#ifndef ATTEX_SERVER_OPENRTB_COUNTRY_CODES_H_
#define ATTEX_SERVER_OPENRTB_COUNTRY_CODES_H_

#include "absl/strings/string_view.h"

namespace attex::openrtb {

// The alpha-2 code of an upper-case alpha-3 code ("USA" -> "US"); empty when
// `alpha3` is not an assigned ISO 3166-1 code. Thread-safe, no allocation.
absl::string_view CountryAlpha2(absl::string_view alpha3);

}  // namespace attex::openrtb

#endif  // ATTEX_SERVER_OPENRTB_COUNTRY_CODES_H_
