#ifndef NETPROBE_AGENT_PROBES_TX_TIMESTAMPS_H_
#define NETPROBE_AGENT_PROBES_TX_TIMESTAMPS_H_

#include <cstdint>
#include <optional>
#include <vector>

namespace netprobe {

// Matches the kernel's transmit timestamps to what a socket sent. With
// SOF_TIMESTAMPING_OPT_ID the error queue names each timestamp by a counter
// of the socket's sends, from 0; Sent() is called for every send the kernel
// accepted, in order, with the key the probe knows the packet by (a ping's
// wire sequence, a datagram's sequence). A ring indexed by the counter: it
// starts small (a probe at a few packets a second holds a few hundred bytes)
// and doubles while sends outrun their timestamps, up to kMaxSlots; past
// that, a timestamp that never came is forgotten once kMaxSlots sends passed
// it (its RTT falls back to the send time taken in user space).
// Not thread-safe: loop thread only.
template <typename Key>
class TxTimestamps {
 public:
  static constexpr uint32_t kInitialSlots = 16;
  static constexpr uint32_t kMaxSlots = 4096;

  // The socket accepted one more packet, known as `key`.
  void Sent(Key key) {
    if (slots_.empty()) slots_.resize(kInitialSlots);
    if (slots_[next_id_ % slots_.size()].used && slots_.size() < kMaxSlots) Grow();
    slots_[next_id_ % slots_.size()] = Slot{next_id_, key, true};
    ++next_id_;
  }
  // The key of the send the kernel's timestamp `id` is for, once; nullopt
  // for an id already taken, forgotten, or never sent.
  std::optional<Key> Take(uint32_t id) {
    if (slots_.empty()) return std::nullopt;
    Slot& slot = slots_[id % slots_.size()];
    if (!slot.used || slot.id != id) return std::nullopt;
    slot.used = false;
    return slot.key;
  }
  // A new socket: its counter starts at 0 again.
  void Reset() {
    next_id_ = 0;
    slots_.clear();
    slots_.shrink_to_fit();
  }
  size_t slots() const { return slots_.size(); }

 private:
  struct Slot {
    uint32_t id = 0;
    Key key{};
    bool used = false;
  };
  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    for (const Slot& slot : old) {
      if (slot.used) slots_[slot.id % slots_.size()] = slot;
    }
  }

  uint32_t next_id_ = 0;
  std::vector<Slot> slots_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TX_TIMESTAMPS_H_
