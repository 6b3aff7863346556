// Pricing of one slot: the floor that applies to it and what its winner
// pays. Pure functions of numbers, no catalogue and no state; thread-safe.
// All amounts are CPM micros.
#ifndef ATTEX_AUCTION_PRICING_H_
#define ATTEX_AUCTION_PRICING_H_

#include <cstdint>
#include <optional>

#include "attex/v1/exchange.pb.h"

namespace attex::auction {

// The floor of a slot: its own where it names one (> 0), else the default,
// raised to the dynamic reserve, rho x the slot's attention price (the
// attention-weighted expected bid), rounded to the nearest micro.
int64_t SlotFloor(int64_t slot_floor, int64_t default_floor, double reserve_rho,
                  double attention_price);

// Whether a request's auction is first price: its own type, or
// `default_type` where it leaves it unspecified.
bool IsFirstPrice(attex::v1::AuctionType requested, attex::v1::AuctionType default_type);

// What a second-price winner pays: the least bid that would have kept its
// rank, the runner-up's ranking score (weight x bid) / the winner's weight,
// rounded up; the floor where there is no runner-up or the weight is 0.
// Never less than `floor`, never more than `winner_bid`. Expects
// winner_bid >= floor (ranking admits no bid under the floor).
int64_t SecondPrice(int64_t winner_bid, double winner_weight, std::optional<double> runner_up_score,
                    int64_t floor);

// What a slot's winner pays: its bid in a first-price auction, else
// SecondPrice.
int64_t ClearingPrice(bool first_price, int64_t winner_bid, double winner_weight,
                      std::optional<double> runner_up_score, int64_t floor);

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_PRICING_H_
