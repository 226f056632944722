// The scheduler's front door (see door.hpp): a CAF broker that accepts on the scheduler's port and
// relays bytes between each peer it lets in and a connection of its own to the gate's port.
#include "actors/door.hpp"

#include <iostream>
#include <map>
#include <memory>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/protocol.hpp"
#include "actors/wire_bounds.hpp"

namespace trainyard {

namespace {

using clock_type = std::chrono::steady_clock;
using caf::io::connection_handle;

using open_door_atom = caf::atom_constant<caf::atom("opendoor")>;

constexpr std::size_t basp_header_bytes = 32;  // BASP's fixed header; payload length at byte 4
constexpr std::size_t read_chunk_bytes = 64 * 1024;

// One side of a relayed pair: the peer's connection (outer) or the door's own to the gate.
struct side {
  connection_handle partner;
  bool outer = false;
  std::string address;  // the peer's (outer only)
  clock_type::time_point last_heard = clock_type::now();
  // Plain BASP from the peer, frame by frame: the header read so far, then the payload's rest.
  unsigned char header[basp_header_bytes] = {};
  std::size_t header_have = 0;
  std::uint64_t payload_left = 0;
  std::uint64_t largest_frame = 0;  // what CAF's read buffer for this connection holds
};

struct door_state {
  door_limits limits;
  std::uint16_t inner_port = 0;
  std::map<connection_handle, side> sides;
  std::map<std::string, int> per_address;  ///< open connections by peer address
  std::uint64_t buffered = 0;
  std::map<std::string, clock_type::time_point> last_logged;
};

// Logs `what` unless the same kind of event from the same address was logged in the last minute:
// a flood leaves a line, not a flood of lines.
void log_once_a_minute(door_state& st, const std::string& address, const char* kind,
                       const std::string& what) {
  auto now = clock_type::now();
  const auto key = address + " " + kind;
  auto it = st.last_logged.find(key);
  if (it != st.last_logged.end() && now - it->second < std::chrono::minutes(1))
    return;
  st.last_logged[key] = now;
  std::cerr << "trainyard scheduler: " << what << std::endl;
}

// Closes both sides of the pair `hdl` belongs to and forgets them.
void close_pair(caf::io::broker* self, door_state& st, connection_handle hdl) {
  auto it = st.sides.find(hdl);
  if (it == st.sides.end())
    return;
  auto outer_it = it->second.outer ? it : st.sides.find(it->second.partner);
  if (outer_it != st.sides.end() && outer_it->second.outer) {
    auto& peer = outer_it->second;
    st.buffered -= peer.largest_frame;
    if (--st.per_address[peer.address] <= 0)
      st.per_address.erase(peer.address);
  }
  auto partner = it->second.partner;
  st.sides.erase(hdl);
  st.sides.erase(partner);
  self->close(hdl);
  self->close(partner);
}

// Reads the frames of a plain BASP stream from a peer; empty when `bytes` keep within the bounds,
// else why the connection must close.
std::string check_frames(door_state& st, side& peer, const std::vector<char>& bytes) {
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    if (peer.payload_left > 0) {
      auto n = std::min<std::uint64_t>(peer.payload_left, bytes.size() - pos);
      peer.payload_left -= n;
      pos += n;
      continue;
    }
    auto n = std::min(basp_header_bytes - peer.header_have, bytes.size() - pos);
    std::copy_n(bytes.data() + pos, n, peer.header + peer.header_have);
    peer.header_have += n;
    pos += n;
    if (peer.header_have < basp_header_bytes)
      break;
    peer.header_have = 0;
    const std::uint64_t length = std::uint64_t{peer.header[4]} << 24 |
                                 std::uint64_t{peer.header[5]} << 16 |
                                 std::uint64_t{peer.header[6]} << 8 | peer.header[7];
    if (length > wire::max_frame_bytes)
      return "a frame of " + std::to_string(length) + " bytes, more than a member may send (" +
             std::to_string(wire::max_frame_bytes) + ")";
    if (length > peer.largest_frame) {
      const auto grown = st.buffered + (length - peer.largest_frame);
      if (grown > st.limits.max_buffered_bytes)
        return "a frame of " + std::to_string(length) + " bytes, while the connections already " +
               "hold " + std::to_string(st.buffered >> 20) + " MB of the " +
               std::to_string(st.limits.max_buffered_bytes >> 20) + " MB they may";
      st.buffered = grown;
      peer.largest_frame = length;
    }
    peer.payload_left = length;
  }
  return {};
}

caf::behavior door_broker(caf::io::broker* self, std::shared_ptr<door_state> st) {
  self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
  return {
    [=](open_door_atom, const std::string& host,
        std::uint16_t port) -> caf::result<std::uint16_t> {
      auto opened = self->add_tcp_doorman(port, host.c_str(), true);
      if (!opened)
        return opened.error();
      return opened->second;
    },
    [=](const caf::io::new_connection_msg& msg) {
      const auto address = self->remote_addr(msg.handle);
      const auto& limits = st->limits;
      // Every relayed connection is two sides, the peer's and the gate's.
      const auto open = static_cast<int>(st->sides.size() / 2);
      const auto known = st->per_address.find(address);
      const int from_it = known == st->per_address.end() ? 0 : known->second;
      std::string refusal;
      if (open >= limits.max_connections)
        refusal = std::to_string(open) + " connections are open (at most " +
                  std::to_string(limits.max_connections) + ", --max-connections)";
      else if (from_it >= limits.max_per_address)
        refusal = std::to_string(from_it) + " connections from it are open (at most " +
                  std::to_string(limits.max_per_address) + ", --max-per-address)";
      if (!refusal.empty()) {
        self->close(msg.handle);
        log_once_a_minute(*st, address, "refused",
                          "refused connections from " + address + ": " + refusal);
        return;
      }
      auto inner = self->add_tcp_scribe("127.0.0.1", st->inner_port);
      if (!inner) {
        self->close(msg.handle);
        return;
      }
      side peer;
      peer.partner = *inner;
      peer.outer = true;
      peer.address = address;
      side gate;
      gate.partner = msg.handle;
      st->sides.emplace(msg.handle, peer);
      st->sides.emplace(*inner, gate);
      ++st->per_address[address];
      self->configure_read(msg.handle, caf::io::receive_policy::at_most(read_chunk_bytes));
      self->configure_read(*inner, caf::io::receive_policy::at_most(read_chunk_bytes));
    },
    [=](const caf::io::new_data_msg& msg) {
      auto it = st->sides.find(msg.handle);
      if (it == st->sides.end())
        return;
      auto& from = it->second;
      if (from.outer) {
        from.last_heard = clock_type::now();
        if (st->limits.read_frames) {
          auto why = check_frames(*st, from, msg.buf);
          if (!why.empty()) {
            log_once_a_minute(*st, from.address, "frame",
                              "closed a connection from " + from.address + ": it declared " + why);
            close_pair(self, *st, msg.handle);
            return;
          }
        }
      }
      self->write(from.partner, msg.buf.size(), msg.buf.data());
      self->flush(from.partner);
    },
    [=](const caf::io::connection_closed_msg& msg) { close_pair(self, *st, msg.handle); },
    [=](const caf::io::acceptor_closed_msg&) { self->quit(); },
    [=](tick_atom) {
      const auto now = clock_type::now();
      std::vector<connection_handle> silent;
      for (const auto& [hdl, s] : st->sides)
        if (s.outer && now - s.last_heard > st->limits.idle_timeout)
          silent.push_back(hdl);
      for (auto hdl : silent) {
        const auto address = st->sides[hdl].address;
        log_once_a_minute(*st, address, "silent",
                          "closed a connection from " + address + ": nothing heard for " +
                            std::to_string(st->limits.idle_timeout.count() / 1000) + " s");
        close_pair(self, *st, hdl);
      }
      for (auto it = st->last_logged.begin(); it != st->last_logged.end();)
        it = now - it->second > std::chrono::minutes(1) ? st->last_logged.erase(it) : std::next(it);
      self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
    },
  };
}

}  // namespace

expected<door> open_door(caf::actor_system& system, const std::string& host, std::uint16_t port,
                         std::uint16_t inner_port, const door_limits& limits) {
  const auto where = host + ":" + std::to_string(port);
  auto st = std::make_shared<door_state>();
  st->limits = limits;
  st->inner_port = inner_port;
  auto broker = system.middleman().spawn_broker(door_broker, st);
  expected<door> result = make_failure(error_code::invalid_config,
                                       "cannot listen on " + where);
  caf::scoped_actor self{system};
  self->request(broker, caf::infinite, open_door_atom::value, host, port)
    .receive([&](std::uint16_t bound) { result = door{bound, broker}; },
             [&](caf::error& err) {
               result = make_failure(error_code::invalid_config,
                                     "cannot listen on " + where + ": " +
                                       system.render(err) +
                                       " (is another scheduler running there? pick another port)");
             });
  if (!result)
    caf::anon_send_exit(broker, caf::exit_reason::user_shutdown);
  return result;
}

}  // namespace trainyard
