// OpenRTB 2.6 imp[] -> attex.v1.Slot (openrtb_imp.h).
#include "server/openrtb/openrtb_imp.h"

#include <cmath>
#include <optional>
#include <string>

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

// The media object of an impression (banner, video, audio or native): its
// size when it names exactly one, and its position.
absl::Status Media(const Field& media, Imp* imp, int32_t* position) {
  Object obj;
  ATTEX_RETURN_IF_ERROR(AsObject(media, &obj));
  int64_t w = 0, h = 0;
  int sizes = 0;  // Distinct sizes named, counted up to 2.
  int64_t one_w = 0, one_h = 0;
  auto add_size = [&](int64_t sw, int64_t sh) {  // 0 x 0: a flexible (ratio) size.
    if (sizes == 0) {
      one_w = sw;
      one_h = sh;
      sizes = 1;
    } else if (sw != one_w || sh != one_h) {
      sizes = 2;
    }
  };
  for (const Field& f : obj) {
    if (f.key == "w") {
      ATTEX_RETURN_IF_ERROR(Int(f, &w));
    } else if (f.key == "h") {
      ATTEX_RETURN_IF_ERROR(Int(f, &h));
    } else if (f.key == "pos") {
      int64_t pos = 0;
      ATTEX_RETURN_IF_ERROR(Int(f, &pos));
      *position = Position(pos);
    } else if (f.key == "format" && media.key == "banner") {
      ATTEX_RETURN_IF_ERROR(Objects(f, [&](const Object& format) -> absl::Status {
        int64_t fw = 0, fh = 0, wratio = 0, hratio = 0;
        for (const Field& g : format) {
          if (g.key == "w") ATTEX_RETURN_IF_ERROR(Int(g, &fw));
          if (g.key == "h") ATTEX_RETURN_IF_ERROR(Int(g, &fh));
          if (g.key == "wratio") ATTEX_RETURN_IF_ERROR(Int(g, &wratio));
          if (g.key == "hratio") ATTEX_RETURN_IF_ERROR(Int(g, &hratio));
        }
        if (fw > 0 && fh > 0 && fw <= 100'000 && fh <= 100'000) {
          add_size(fw, fh);
        } else if (wratio > 0 && hratio > 0) {
          add_size(0, 0);
        }
        return absl::OkStatus();
      }));
    }
  }
  if (w < 0 || w > 100'000) return Bad(&media, "w", "must be 0 to 100000");
  if (h < 0 || h > 100'000) return Bad(&media, "h", "must be 0 to 100000");
  if (w > 0 && h > 0) add_size(w, h);
  if (media.key == "banner" && sizes == 0) {
    return Bad(media, "needs a size: w and h, or format[] with w and h");
  }
  if (sizes == 1) {
    imp->w = static_cast<int32_t>(one_w);
    imp->h = static_cast<int32_t>(one_h);
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
  absl::string_view id, cur = "USD";
  double floor = 0;
  bool instl = false;
  int32_t position = 2;           // Unknown.
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
  // even beside a video); the chosen one's size and position are kept.
  for (int i = 3; i >= 0; --i) {
    if (!media[i].has_value()) continue;
    Imp scratch;
    int32_t pos = 2;
    ATTEX_RETURN_IF_ERROR(Media(*media[i], i == chosen ? &imp : &scratch, &pos));
    if (i == chosen) position = pos;
  }
  if (floor < 0) return Bad(&e, "bidfloor", "must not be negative");
  if (floor > static_cast<double>(api::kMaxCpmMicros) / 1e6) {
    return Bad(&e, "bidfloor", "must be at most 1000000");
  }
  if (floor > 0 && cur != options.currency) {
    return Bad(
        &e, "bidfloorcur",
        absl::StrCat("no exchange rate for \"", cur, "\": floors must be in ", options.currency));
  }
  if (*private_only) return absl::OkStatus();  // attex has no deals: not offered.
  slot.set_id(std::string(id));
  slot.set_format(std::string(kFormats[chosen]));
  slot.set_position(instl ? 0 : position);
  slot.set_floor_cpm_micros(std::llround(floor * 1e6));
  imp.mtype = kTypes[chosen];
  *out->bid.add_slots() = std::move(slot);
  out->imps.push_back(imp);
  return absl::OkStatus();
}

}  // namespace attex::openrtb
