// The scheduler's front door. The port a scheduler listens on belongs to this broker, which relays
// every connection it lets in to the gate's own port on loopback; CAF's BASP (plain, or TLS
// through CAF's OpenSSL module) runs end to end through it. CAF 0.17 accepts any number of
// connections and keeps each open for as long as the peer likes, so a peer flooding the port
// would take every file descriptor (the scheduler's database, the dataset files it serves, the
// sockets of legitimate members) and memory with them. The door bounds that:
// - at most `max_connections` open at once, and at most `max_per_address` from one address: a
//   connection over either bound is closed as soon as it is accepted, and the refusal is logged
//   (once a minute per address);
// - a connection whose peer sends nothing for `idle_timeout` is closed (every member sends a
//   BASP heartbeat every 0.5 s, see configure_remote_system, so only a dead or hostile peer
//   stays silent that long);
// - plain BASP (TLS bytes cannot be read here, and a TLS peer without a certificate of the
//   cluster's CA gets no further than its handshake): a frame may declare at most
//   wire::max_frame_bytes, and the read buffers CAF keeps for the relayed connections (each as
//   large as the largest frame it received) at most `max_buffered_bytes` together. A connection
//   whose frame would break either bound is closed before CAF reads that frame's header.
// Members on loopback can reach the gate's own port and go around the door; the secret and TLS
// still apply there.
#pragma once

#include <chrono>
#include <cstdint>

#include <caf/fwd.hpp>

#include <string>

#include <caf/actor.hpp>

#include "runtime/core/error.hpp"

namespace trainyard {

struct door_limits {
  int max_connections = 256;
  int max_per_address = 32;
  std::chrono::milliseconds idle_timeout{15000};
  std::uint64_t max_buffered_bytes = 1ull << 30;
  bool read_frames = true;  ///< plain BASP; false under TLS
};

/// The open door: the port it listens on and its broker (stopped with an exit message).
struct door {
  std::uint16_t port = 0;
  caf::actor broker;
};

/// Listens on `host`:`port` (0: any free port) and relays each connection let in to
/// 127.0.0.1:`inner_port`. invalid_config when it cannot listen there.
expected<door> open_door(caf::actor_system& system, const std::string& host, std::uint16_t port,
                         std::uint16_t inner_port, const door_limits& limits);

}  // namespace trainyard
