#include "agent/probes/tx_timestamps.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

TEST(TxTimestamps, EachTimestampFindsItsSendOnce) {
  TxTimestamps<uint16_t> tx;
  tx.Sent(100);
  tx.Sent(101);
  EXPECT_EQ(tx.Take(1), std::optional<uint16_t>(101));
  EXPECT_EQ(tx.Take(0), std::optional<uint16_t>(100));
  EXPECT_EQ(tx.Take(0), std::nullopt) << "taken already";
  EXPECT_EQ(tx.Take(2), std::nullopt) << "never sent";
}

TEST(TxTimestamps, SmallWhileTimestampsKeepUpAndBoundedWhenTheyNeverCome) {
  TxTimestamps<uint32_t> keeping_up;
  for (uint32_t i = 0; i < 100000; ++i) {
    keeping_up.Sent(i);
    ASSERT_EQ(keeping_up.Take(i), std::optional<uint32_t>(i));
  }
  EXPECT_EQ(keeping_up.slots(), TxTimestamps<uint32_t>::kInitialSlots);

  TxTimestamps<uint32_t> never;
  for (uint32_t i = 0; i < 100000; ++i) never.Sent(i);
  EXPECT_EQ(never.slots(), TxTimestamps<uint32_t>::kMaxSlots);
  // The newest sends are still matched; the ones long past are forgotten.
  EXPECT_EQ(never.Take(99999), std::optional<uint32_t>(99999));
  EXPECT_EQ(never.Take(99999 - TxTimestamps<uint32_t>::kMaxSlots), std::nullopt);
}

TEST(TxTimestamps, GrowingKeepsEverySendInFlight) {
  TxTimestamps<uint32_t> tx;
  for (uint32_t i = 0; i < 1000; ++i) tx.Sent(i * 7);
  for (uint32_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(tx.Take(i), std::optional<uint32_t>(i * 7)) << i;
  }
}

TEST(TxTimestamps, ResetStartsTheCounterAgain) {
  TxTimestamps<uint16_t> tx;
  tx.Sent(5);
  tx.Reset();
  EXPECT_EQ(tx.Take(0), std::nullopt);
  tx.Sent(6);
  EXPECT_EQ(tx.Take(0), std::optional<uint16_t>(6));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
