#include "actors/remote.hpp"

#include <chrono>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "actors/embedded_yard.hpp"

namespace trainyard {

namespace {

failure config_error(std::string message) {
  return make_failure(error_code::invalid_config, std::move(message));
}

std::string trim(std::string s) {
  auto end = s.find_last_not_of(" \t\r\n");
  s.erase(end == std::string::npos ? 0 : end + 1);
  auto begin = s.find_first_not_of(" \t\r\n");
  return begin == std::string::npos ? std::string() : s.substr(begin);
}

std::string random_challenge() {
  static thread_local std::random_device device;
  std::ostringstream out;
  for (int i = 0; i < 4; ++i) {
    std::uint64_t x = (static_cast<std::uint64_t>(device()) << 32) ^ device();
    out << std::hex << x;
  }
  return out.str();
}

struct gate_state {
  std::string secret;
  scheduler_actor scheduler;
  dataset_actor datasets;
  // Challenges handed out and not yet answered, oldest first; each is good for one proof.
  std::deque<std::string> open;
  static inline const char* name = "gate";
};

std::string peer_of(caf::local_actor* self) {
  auto sender = self->current_sender();
  return sender ? "peer " + caf::to_string(sender->node()) : "an anonymous peer";
}

gate_actor::behavior_type gate(gate_actor::stateful_pointer<gate_state> self, std::string secret,
                               scheduler_actor scheduler, dataset_actor datasets) {
  self->state.secret = std::move(secret);
  self->state.scheduler = std::move(scheduler);
  self->state.datasets = std::move(datasets);
  return {
    [=](hello_atom, const std::string& version) -> caf::result<std::string> {
      if (version != trainyard_version) {
        std::cerr << "trainyard scheduler: refused " << peer_of(self) << ": trainyard version "
                  << version << ", this scheduler runs " << trainyard_version << std::endl;
        return make_caf_error(error_code::invalid_request,
                              std::string("this scheduler runs trainyard ") + trainyard_version +
                                " and refuses version " + version +
                                "; run the same trainyard version on every machine");
      }
      auto challenge = random_challenge();
      auto& open = self->state.open;
      open.push_back(challenge);
      if (open.size() > 4096)  // forgotten handshakes must not grow memory without end
        open.pop_front();
      return challenge;
    },
    [=](prove_atom, const std::string& challenge,
        const std::string& proof) -> caf::result<scheduler_actor, dataset_actor> {
      auto& st = self->state;
      auto it = std::find(st.open.begin(), st.open.end(), challenge);
      if (it == st.open.end()) {
        std::cerr << "trainyard scheduler: refused " << peer_of(self)
                  << ": unknown or reused challenge" << std::endl;
        return make_caf_error(error_code::invalid_request,
                              "unknown or reused challenge; connect again");
      }
      st.open.erase(it);
      auto expected_proof = prove_secret(st.secret, challenge);
      if (proof.size() != expected_proof.size() ||
          CRYPTO_memcmp(proof.data(), expected_proof.data(), proof.size()) != 0) {
        std::cerr << "trainyard scheduler: refused " << peer_of(self) << ": wrong secret"
                  << std::endl;
        return make_caf_error(error_code::invalid_request,
                              "the scheduler refused the secret; give every member the same "
                              "secret (TRAINYARD_SECRET or --secret-file)");
      }
      return caf::make_result(st.scheduler, st.datasets);
    },
  };
}

}  // namespace

expected<cluster_endpoint> parse_endpoint(const std::string& text) {
  cluster_endpoint e;
  auto colon = text.rfind(':');
  std::string port_text = colon == std::string::npos ? text : text.substr(colon + 1);
  if (colon != std::string::npos && colon > 0)
    e.host = text.substr(0, colon);
  if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']')
    e.host = e.host.substr(1, e.host.size() - 2);
  char* end = nullptr;
  auto port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535)
    return config_error("'" + text + "' is not an address: expected HOST:PORT, e.g. "
                        "127.0.0.1:7207");
  e.port = static_cast<std::uint16_t>(port);
  return e;
}

std::string to_string(const cluster_endpoint& endpoint) {
  return endpoint.host + ":" + std::to_string(endpoint.port);
}

expected<cluster_credentials> load_credentials(const std::string& secret_file,
                                               const std::string& tls_certificate,
                                               const std::string& tls_key,
                                               const std::string& tls_ca) {
  cluster_credentials c;
  if (!secret_file.empty()) {
    std::ifstream in(secret_file);
    if (!in)
      return config_error("cannot read the secret file '" + secret_file + "'");
    std::stringstream buf;
    buf << in.rdbuf();
    c.secret = trim(buf.str());
  } else if (const char* env = std::getenv("TRAINYARD_SECRET")) {
    c.secret = trim(env);
  } else {
    return config_error("no cluster secret: set the environment variable TRAINYARD_SECRET or "
                        "pass --secret-file FILE (the same secret on every member)");
  }
  if (c.secret.size() < 8)
    return config_error("the cluster secret is shorter than 8 characters; use a long random "
                        "one, e.g. from 'openssl rand -hex 32'");
  int given = !tls_certificate.empty() + !tls_key.empty() + !tls_ca.empty();
  if (given != 0 && given != 3)
    return config_error("TLS needs --tls-cert, --tls-key and --tls-ca together");
  for (const auto& path : {tls_certificate, tls_key, tls_ca})
    if (!path.empty() && !std::ifstream(path))
      return config_error("cannot read the TLS file '" + path + "'");
  c.tls_certificate = tls_certificate;
  c.tls_key = tls_key;
  c.tls_ca = tls_ca;
  return c;
}

void configure_remote_system(caf::actor_system_config& cfg, const cluster_credentials& creds) {
  configure_actor_system(cfg);
  cfg.load<caf::io::middleman>();
  // A peer that stops answering (frozen, cable pulled) is dropped after a few seconds; a killed
  // one is noticed at once through its closed connection.
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(500)});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(5)});
  if (creds.tls()) {
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = creds.tls_certificate;
    cfg.openssl_key = creds.tls_key;
    cfg.openssl_cafile = creds.tls_ca;
  }
}

std::string prove_secret(const std::string& secret, const std::string& challenge) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(challenge.data()), challenge.size(), digest,
       &length);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

gate_actor spawn_gate(caf::actor_system& system, std::string secret, scheduler_actor scheduler,
                      dataset_actor datasets) {
  return system.spawn(gate, std::move(secret), std::move(scheduler), std::move(datasets));
}

expected<published_gate> publish_gate(caf::actor_system& system, const gate_actor& g,
                                      const cluster_endpoint& where,
                                      const cluster_credentials& creds, door_limits limits) {
  // The gate listens on loopback only; members come in through the door on the endpoint.
  auto inner = creds.tls() ? caf::openssl::publish(g, 0, "127.0.0.1", true)
                           : system.middleman().publish(g, 0, "127.0.0.1", true);
  if (!inner)
    return make_failure(error_code::invalid_config,
                        "cannot listen on a loopback port: " + system.render(inner.error()));
  limits.read_frames = !creds.tls();
  auto opened = open_door(system, where.host, where.port, *inner, limits);
  if (!opened)
    return opened.error();
  return published_gate{opened->port, opened->broker};
}

expected<cluster_handles> connect_scheduler(caf::actor_system& system,
                                            const cluster_endpoint& where,
                                            const cluster_credentials& creds,
                                            std::int64_t timeout_ms) {
  auto connect = [&] {
    return creds.tls() ? caf::openssl::remote_actor<gate_actor>(system, where.host, where.port)
                       : system.middleman().remote_actor<gate_actor>(where.host, where.port);
  };
  auto g = connect();
  // CAF 0.17's broker starts an outgoing connection with a "last seen" time of zero, so its
  // heartbeat tick cuts the connection (connection_timeout) when the peer's handshake has not
  // arrived by the next tick, even though the peer is alive and only a moment slow. That error
  // before any answer is not the scheduler's; a few more tries ride it out.
  for (int tries = 1; !g && g.error() == caf::sec::connection_timeout && tries < 4; ++tries)
    g = connect();
  if (!g) {
    auto why = system.render(g.error());
    auto hint = g.error() == caf::sec::unexpected_actor_messaging_interface
                  ? " (the scheduler runs another trainyard version; use the same one)"
                  : " (is 'trainyard scheduler' running there, with the same TLS setting?)";
    return make_failure(error_code::interrupted,
                        "cannot reach the scheduler at " + to_string(where) + ": " + why + hint);
  }
  caf::scoped_actor self{system};
  auto timeout = std::chrono::milliseconds(timeout_ms);
  expected<cluster_handles> result =
    make_failure(error_code::timeout, "the scheduler at " + to_string(where) + " did not answer");
  auto on_error = [&](caf::error& err) {
    result = make_failure(code_of(err) == error_code::none ? error_code::interrupted
                                                           : code_of(err),
                          "the scheduler at " + to_string(where) + " refused: " + describe(err));
  };
  std::string challenge;
  self->request(*g, timeout, hello_atom::value, std::string(trainyard_version))
    .receive([&](std::string& c) { challenge = std::move(c); }, on_error);
  if (challenge.empty())
    return result;
  self->request(*g, timeout, prove_atom::value, challenge, prove_secret(creds.secret, challenge))
    .receive(
      [&](scheduler_actor& scheduler, dataset_actor& datasets) {
        result = cluster_handles{std::move(scheduler), std::move(datasets)};
      },
      on_error);
  return result;
}

}  // namespace trainyard
