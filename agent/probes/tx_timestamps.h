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
// wire sequence, a datagram's sequence). A ring: memory is fixed, and a
// timestamp that never came is forgotten once kSlots sends passed it.
// Not thread-safe: loop thread only.
template <typename Key>
class TxTimestamps {
 public:
  static constexpr uint32_t kSlots = 1 << 16;

  // The socket accepted one more packet, known as `key`.
  void Sent(Key key) {
    Slot& slot = slots_[next_id_ % kSlots];
    slot = Slot{next_id_, key, true};
    ++next_id_;
  }
  // The key of the send the kernel's timestamp `id` is for, once; nullopt
  // for an id already taken, forgotten, or never sent.
  std::optional<Key> Take(uint32_t id) {
    Slot& slot = slots_[id % kSlots];
    if (!slot.used || slot.id != id) return std::nullopt;
    slot.used = false;
    return slot.key;
  }
  // A new socket: its counter starts at 0 again.
  void Reset() {
    next_id_ = 0;
    for (Slot& slot : slots_) slot.used = false;
  }

 private:
  struct Slot {
    uint32_t id = 0;
    Key key{};
    bool used = false;
  };
  uint32_t next_id_ = 0;
  std::vector<Slot> slots_ = std::vector<Slot>(kSlots);
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TX_TIMESTAMPS_H_
