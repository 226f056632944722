// The cluster's network edge: addresses, the shared secret, TLS, the gate a scheduler publishes
// and the handshake every node, client and monitor goes through to reach the scheduler.
//
// A scheduler publishes one gate actor on a loopback port (CAF's BASP over TCP, or over TLS
// through CAF's OpenSSL module), behind the door on its public port (actors/door.hpp), which
// bounds the connections a peer may hold and the frames it may declare. A peer connects, says
// its trainyard version (`hello`, answered with a one-use random challenge), and proves it holds
// the secret with HMAC-SHA256(secret, challenge); the secret itself never travels. Only then does
// it get the scheduler's and the dataset actor's handles. A wrong version, a wrong proof or an
// unknown challenge is refused and logged. CAF's typed-interface check at connection time refuses
// a peer built with another protocol too.
#pragma once

#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

#include "actors/door.hpp"
#include "actors/protocol.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/version.hpp"  // trainyard_version: peers must share it

namespace trainyard {

/// Where a scheduler listens.
struct cluster_endpoint {
  std::string host = "127.0.0.1";  ///< default: loopback only
  std::uint16_t port = 7207;       ///< default 7207; 0 lets the system pick (scheduler only)
};

/// "HOST:PORT", "PORT" or ":PORT"; invalid_config says what was expected.
expected<cluster_endpoint> parse_endpoint(const std::string& text);
std::string to_string(const cluster_endpoint& endpoint);

/// What makes a peer a member of the cluster.
struct cluster_credentials {
  std::string secret;  ///< shared secret (file or TRAINYARD_SECRET); never on the command line
  /// TLS: all three set turns it on. The CA verifies the peer's certificate on both sides.
  std::string tls_certificate, tls_key, tls_ca;
  bool tls() const { return !tls_certificate.empty(); }
};

/// The secret from `secret_file` when given, else from the environment variable
/// TRAINYARD_SECRET; invalid_config when neither is there or the secret is shorter than 8 bytes.
/// TLS paths must all be given or none.
expected<cluster_credentials> load_credentials(const std::string& secret_file,
                                               const std::string& tls_certificate = {},
                                               const std::string& tls_key = {},
                                               const std::string& tls_ca = {});

/// configure_actor_system() plus CAF's network layer (and its OpenSSL module when TLS is on),
/// with heartbeats so that a peer that hangs is noticed within seconds.
void configure_remote_system(caf::actor_system_config& cfg, const cluster_credentials& creds);

/// HMAC-SHA256(secret, challenge) in lowercase hex.
std::string prove_secret(const std::string& secret, const std::string& challenge);

/// Spawns the gate for `scheduler` and `datasets`.
gate_actor spawn_gate(caf::actor_system& system, std::string secret, scheduler_actor scheduler,
                      dataset_actor datasets);

/// Where members reach a published gate: the door's port, and the door (stop it with an exit
/// message when the scheduler stops).
struct published_gate {
  std::uint16_t port = 0;
  caf::actor door;
};

/// Publishes the gate (TLS when the credentials say so) on a loopback port of its own and opens
/// the door (actors/door.hpp) on the endpoint in front of it.
expected<published_gate> publish_gate(caf::actor_system& system, const gate_actor& gate,
                                      const cluster_endpoint& where,
                                      const cluster_credentials& creds,
                                      door_limits limits = {});

/// The cluster's handles as a member sees them.
struct cluster_handles {
  scheduler_actor scheduler;
  dataset_actor datasets;
};

/// Connects to a scheduler and passes its gate (blocking, at most `timeout_ms`). Failures name the
/// endpoint and what to check: not running, wrong secret, other version, TLS mismatch.
expected<cluster_handles> connect_scheduler(caf::actor_system& system,
                                            const cluster_endpoint& where,
                                            const cluster_credentials& creds,
                                            std::int64_t timeout_ms = 5000);

}  // namespace trainyard
