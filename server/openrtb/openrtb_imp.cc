// OpenRTB 2.6 imp[] -> attex.v1.Slot (openrtb_imp.h).
#include "server/openrtb/openrtb_imp.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "api/limits.h"

namespace attex::openrtb {
namespace {

// AdCOM placement positions (banner.pos, video.pos) -> attex positions,
// 0 the most prominent: fullscreen, above the fold and header first, then
// unknown, sidebar, below the fold and footer.
int32_t Position(int64_t pos) {
  switch (pos) {
    case 7:  // Fullscreen.
      return 0;
    case 1:  // Above the fold.
    case 4:  // Header.
      return 1;
    case 6:  // Sidebar.
      return 3;
    case 3:  // Below the fold.
    case 5:  // Footer.
      return 4;
    default:  // 0: unknown.
      return 2;
  }
}

// What a media object (banner, video, audio or native) asks for: its
// sizes, MIME types and durations, and its position.
struct Media {
  absl::InlinedVector<std::pair<int64_t, int64_t>, 4> sizes;  // Distinct.
  bool flexible = false;  // A format[] by ratio: any size of it will do.
  absl::InlinedVector<absl::string_view, 4> mimes;
  int64_t min_duration = 0, max_duration = 0;
  int32_t position = 2;  // Unknown.
};

absl::Status Duration(const Field& f, int64_t* seconds) {
  ATTEX_RETURN_IF_ERROR(Int(f, seconds));
  if (*seconds < 0 || *seconds > api::kMaxDurationS) {
    return Bad(f, absl::StrCat("must be 0 to ", api::kMaxDurationS, " seconds"));
  }
  return absl::OkStatus();
}

absl::Status ReadMedia(const Field& media, Media* out) {
  Object obj;
  ATTEX_RETURN_IF_ERROR(AsObject(media, &obj));
  int64_t w = 0, h = 0;
  auto add_size = [&](int64_t sw, int64_t sh) {
    for (const auto& size : out->sizes) {
      if (size.first == sw && size.second == sh) return;
    }
    out->sizes.emplace_back(sw, sh);
  };
  std::optional<Field> mimes;  // Where the error names them.
  for (const Field& f : obj) {
    if (f.key == "w") {
      ATTEX_RETURN_IF_ERROR(Int(f, &w));
    } else if (f.key == "h") {
      ATTEX_RETURN_IF_ERROR(Int(f, &h));
    } else if (f.key == "pos") {
      int64_t pos = 0;
      ATTEX_RETURN_IF_ERROR(Int(f, &pos));
      out->position = Position(pos);
    } else if (f.key == "mimes" && media.key != "banner" && media.key != "native") {
      ATTEX_RETURN_IF_ERROR(Strings(f, [&](absl::string_view mime) {
        if (!mime.empty() &&
            std::find(out->mimes.begin(), out->mimes.end(), mime) == out->mimes.end()) {
          out->mimes.push_back(mime);
        }
      }));
      mimes = f;
    } else if (f.key == "minduration" && media.key != "banner" && media.key != "native") {
      ATTEX_RETURN_IF_ERROR(Duration(f, &out->min_duration));
    } else if (f.key == "maxduration" && media.key != "banner" && media.key != "native") {
      ATTEX_RETURN_IF_ERROR(Duration(f, &out->max_duration));
    } else if (f.key == "format" && media.key == "banner") {
      ATTEX_RETURN_IF_ERROR(Objects(f, [&](const Object& format) -> absl::Status {
        int64_t fw = 0, fh = 0, wratio = 0, hratio = 0;
        for (const Field& g : format) {
          if (g.key == "w") ATTEX_RETURN_IF_ERROR(Int(g, &fw));
          if (g.key == "h") ATTEX_RETURN_IF_ERROR(Int(g, &fh));
          if (g.key == "wratio") ATTEX_RETURN_IF_ERROR(Int(g, &wratio));
          if (g.key == "hratio") ATTEX_RETURN_IF_ERROR(Int(g, &hratio));
        }
        if (fw > 0 && fh > 0 && fw <= api::kMaxSizePixels && fh <= api::kMaxSizePixels) {
          add_size(fw, fh);
        } else if (wratio > 0 && hratio > 0) {
          out->flexible = true;
        }
        return absl::OkStatus();
      }));
    }
  }
  if (w < 0 || w > api::kMaxSizePixels) return Bad(&media, "w", "must be 0 to 100000");
  if (h < 0 || h > api::kMaxSizePixels) return Bad(&media, "h", "must be 0 to 100000");
  if (w > 0 && h > 0) add_size(w, h);
  if (media.key == "banner" && out->sizes.empty() && !out->flexible) {
    return Bad(media, "needs a size: w and h, or format[] with w and h");
  }
  if (media.key == "banner" && out->sizes.size() > api::kMaxSlotSizes) {
    return Bad(&media, "format",
               absl::StrCat("more than ", api::kMaxSlotSizes, " sizes: attex matches at most ",
                            api::kMaxSlotSizes));
  }
  if (out->mimes.size() > api::kMaxSlotMimes) {
    return Bad(*mimes, absl::StrCat("more than ", api::kMaxSlotMimes, " entries"));
  }
  for (absl::string_view mime : out->mimes) {
    if (mime.size() > api::kMaxMimeBytes) {
      return Bad(*mimes, absl::StrCat("longer than ", api::kMaxMimeBytes, " bytes"));
    }
  }
  if (out->max_duration != 0 && out->max_duration < out->min_duration) {
    return Bad(&media, "maxduration", "must be at least minduration");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseImp(const Field& e, const MappingOptions& options, Request* out,
                      absl::flat_hash_set<absl::string_view>* ids, bool* private_only) {
  Object obj;
  ATTEX_RETURN_IF_ERROR(AsObject(e, &obj));
  attex::v1::Slot slot;
  Imp imp;
  absl::string_view id, cur = "USD";  // OpenRTB's default bidfloorcur.
  double floor = 0;
  bool instl = false;
  std::optional<Field> media[4];  // banner, video, audio, native: the first present wins.
  *private_only = false;
  for (const Field& f : obj) {
    if (f.key == "id") {
      ATTEX_RETURN_IF_ERROR(String(f, &id));
    } else if (f.key == "banner" || f.key == "video" || f.key == "audio" || f.key == "native") {
      const int i = f.key == "banner" ? 0 : f.key == "video" ? 1 : f.key == "audio" ? 2 : 3;
      media[i] = f;
    } else if (f.key == "bidfloor") {
      ATTEX_RETURN_IF_ERROR(Number(f, &floor));
    } else if (f.key == "bidfloorcur") {
      ATTEX_RETURN_IF_ERROR(String(f, &cur));
    } else if (f.key == "instl") {
      ATTEX_RETURN_IF_ERROR(Flag(f, &instl));
    } else if (f.key == "pmp") {
      Object pmp;
      ATTEX_RETURN_IF_ERROR(AsObject(f, &pmp));
      for (const Field& g : pmp) {
        if (g.key == "private_auction") ATTEX_RETURN_IF_ERROR(Flag(g, private_only));
      }
    }
  }
  if (id.empty()) return Bad(&e, "id", "is required");
  if (!ids->insert(id).second) return Bad(&e, "id", absl::StrCat("repeats \"", id, "\""));
  static constexpr absl::string_view kFormats[] = {"banner", "video", "audio", "native"};
  static constexpr MediaType kTypes[] = {MediaType::kBanner, MediaType::kVideo, MediaType::kAudio,
                                         MediaType::kNative};
  int chosen = -1;
  for (int i = 0; i < 4 && chosen < 0; ++i) {
    if (media[i].has_value()) chosen = i;
  }
  if (chosen < 0) return Bad(e, "needs one of banner, video, audio or native");
  // Every media object is checked (a banner without a size is an error
  // even beside a video); the chosen one is what the slot asks for.
  Media asked;
  for (int i = 3; i >= 0; --i) {
    if (!media[i].has_value()) continue;
    Media read;
    ATTEX_RETURN_IF_ERROR(ReadMedia(*media[i], &read));
    if (i == chosen) asked = std::move(read);
  }
  if (floor < 0) return Bad(&e, "bidfloor", "must not be negative");
  if (floor > 1e9) return Bad(&e, "bidfloor", "must be at most 1000000000");
  int64_t floor_micros = std::llround(floor * 1e6);
  if (floor_micros > 0) {
    const int64_t rate = options.rates.Rate(cur);
    if (rate == 0) {
      return Bad(&e, "bidfloorcur",
                 absl::StrCat("no exchange rate for \"", cur.substr(0, 16), "\": floors in ",
                              options.rates.account(), " or a currency of --currency_rates"));
    }
    floor_micros = CurrencyRates::ToAccountUp(floor_micros, rate);
    if (floor_micros > api::kMaxCpmMicros) {
      return Bad(&e, "bidfloor", absl::StrCat("must be at most 1000000 ", options.rates.account()));
    }
  }
  if (*private_only) return absl::OkStatus();  // attex has no deals: not offered.
  slot.set_id(std::string(id));
  slot.set_format(std::string(kFormats[chosen]));
  slot.set_position(instl ? 0 : asked.position);
  slot.set_floor_cpm_micros(floor_micros);
  // Banners: the sizes named; by ratio, any. Video players scale what they
  // play: their w x h is said in the answer, not matched.
  if (chosen == 0 && !asked.flexible) {
    for (const auto& [w, h] : asked.sizes) {
      auto* size = slot.add_sizes();
      size->set_w(static_cast<int32_t>(w));
      size->set_h(static_cast<int32_t>(h));
    }
  }
  for (absl::string_view mime : asked.mimes) slot.add_mimes(std::string(mime));
  slot.set_min_duration_s(static_cast<int32_t>(asked.min_duration));
  slot.set_max_duration_s(static_cast<int32_t>(asked.max_duration));
  if (asked.sizes.size() == 1 && !asked.flexible) {
    imp.w = static_cast<int32_t>(asked.sizes[0].first);
    imp.h = static_cast<int32_t>(asked.sizes[0].second);
  }
  imp.mtype = kTypes[chosen];
  *out->bid.add_slots() = std::move(slot);
  out->imps.push_back(imp);
  return absl::OkStatus();
}

}  // namespace attex::openrtb
