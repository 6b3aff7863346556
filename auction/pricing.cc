#include "auction/pricing.h"

#include <algorithm>
#include <cmath>

namespace attex::auction {

int64_t SlotFloor(int64_t slot_floor, int64_t default_floor, double reserve_rho,
                  double attention_price) {
  const int64_t floor = slot_floor > 0 ? slot_floor : default_floor;
  return std::max<int64_t>(floor, std::llround(reserve_rho * attention_price));
}

bool IsFirstPrice(attex::v1::AuctionType requested, attex::v1::AuctionType default_type) {
  return requested == attex::v1::AUCTION_TYPE_FIRST_PRICE ||
         (requested == attex::v1::AUCTION_TYPE_UNSPECIFIED &&
          default_type == attex::v1::AUCTION_TYPE_FIRST_PRICE);
}

int64_t SecondPrice(int64_t winner_bid, double winner_weight, std::optional<double> runner_up_score,
                    int64_t floor) {
  // The winner's score is at least the runner-up's, so the quotient is at
  // most the bid but for rounding, which the clamp takes back.
  const int64_t price = runner_up_score.has_value() && winner_weight > 0
                            ? static_cast<int64_t>(std::ceil(*runner_up_score / winner_weight))
                            : floor;
  return std::clamp<int64_t>(price, floor, winner_bid);
}

int64_t ClearingPrice(bool first_price, int64_t winner_bid, double winner_weight,
                      std::optional<double> runner_up_score, int64_t floor) {
  return first_price ? winner_bid : SecondPrice(winner_bid, winner_weight, runner_up_score, floor);
}

}  // namespace attex::auction
