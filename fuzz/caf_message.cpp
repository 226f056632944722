// Fuzz target: the messages a remote peer can send, before the gate (hello, prove) and after it
// (submit, register, iterated, finished, train, define, fetch, ... and their answers). CAF's
// network layer hands each message's payload to caf::message's deserializer, which looks up each
// element's type by the name the peer wrote in the type registry (register_protocol) and runs that
// type's inspect (actors/protocol.hpp, the field tables). Whatever the bytes, it must answer with a
// message or an error; a message it accepts is written back and must read back to the same bytes.
//
// Seeds: with TRAINYARD_FUZZ_WRITE_SEEDS=DIR set, the target writes one file per protocol
// message into DIR at start (fuzz/corpus/caf_message was made so).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/protocol.hpp"

namespace {

using namespace trainyard;

// One system for the whole run, never destroyed: ending it from a static destructor would race
// CAF's own globals at exit.
caf::actor_system& system_of_the_fuzzer() {
  static auto* cfg = [] {
    auto* c = new caf::actor_system_config;
    register_protocol(*c);
    c->load<caf::io::middleman>();  // actor handles of remote nodes resolve through its proxies
    c->set("scheduler.max-threads", 1);
    return c;
  }();
  static auto* system = new caf::actor_system{*cfg};
  return *system;
}

std::vector<char> bytes_of(caf::actor_system& sys, caf::message msg) {
  std::vector<char> out;
  caf::binary_serializer sink{sys, out};
  if (auto err = sink(msg))
    std::abort();  // every message the protocol makes must serialize
  return out;
}

// One message of each kind a peer sends or answers, with the fields filled.
std::vector<caf::message> protocol_messages() {
  job_spec job;
  job.name = "first";
  job.tool.name = "shirts";
  job.tool.dataset = "fashion";
  job.split = "main";
  job.settings.learning_rate = 0.002;
  job.settings.augmentation.flip_horizontal = true;
  job.written_settings = "iterations";
  iteration_report report;
  report.job = 3;
  report.iteration = 2;
  report.metrics = {{"val_accuracy", 0.9}, {"train_loss", 0.3}};
  report.monitored_name = "val_accuracy";
  training_outcome outcome;
  outcome.state = job_state::completed;
  outcome.final_metrics = {{"test_accuracy", 0.88}};
  training_request request;
  request.job = 3;
  request.spec = job;
  request.assignment = {0, 1, 2, 3};
  worker_info worker;
  worker.name = "cpu";
  worker.kind = "cpu";
  worker.memory_bytes = 1ull << 34;
  job_info info;
  info.id = 3;
  info.name = "first";
  info.last_metrics = report.metrics;
  worker_status status;
  status.info = worker;
  split_spec split;
  split.name = "main";
  split.dataset = "fashion";
  dataset_spec dataset;
  dataset.name = "fashion";
  dataset.path = "/usr/share/datasets/fashion-mnist";
  return {
    caf::make_message(hello_atom::value, std::string("0.1.0")),
    caf::make_message(prove_atom::value, std::string("challenge"), std::string("00ff")),
    caf::make_message(submit_atom::value, job),
    caf::make_message(move_atom::value, job_id{3}, std::uint32_t{1}),
    caf::make_message(stop_atom::value, job_id{3}, std::string("enough")),
    caf::make_message(wait_atom::value, job_id{3}, std::int64_t{1000}),
    caf::make_message(register_atom::value, worker_actor{}, worker),
    caf::make_message(subscribe_atom::value, event_listener{}),
    caf::make_message(iterated_atom::value, report),
    caf::make_message(probed_atom::value, job_id{3}, probe_result{}),
    caf::make_message(finished_atom::value, job_id{3}, outcome),
    caf::make_message(train_atom::value, request, rendezvous_actor{}),
    caf::make_message(std::vector<job_info>{info}),
    caf::make_message(workers_atom::value, std::vector<worker_status>{status}),
    caf::make_message(define_atom::value, dataset),
    caf::make_message(define_atom::value, split),
    caf::make_message(split_atom::value, std::string("main"), false),
    caf::make_message(fetch_atom::value, std::string("/data/a.png"), std::uint64_t{0},
                      std::uint32_t{4096}),
    caf::make_message(std::vector<std::uint8_t>{1, 2, 3}),
    caf::make_message(make_caf_error(error_code::unknown_split, "no split 'x'")),
  };
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* folder = std::getenv("TRAINYARD_FUZZ_WRITE_SEEDS")) {
    auto& sys = system_of_the_fuzzer();
    int n = 0;
    for (auto& msg : protocol_messages()) {
      const auto bytes = bytes_of(sys, msg);
      std::ofstream(std::string(folder) + "/message-" + std::to_string(++n) + ".bin",
                    std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& sys = system_of_the_fuzzer();
  caf::message msg;
  caf::binary_deserializer source{sys, reinterpret_cast<const char*>(data), size};
  if (source(msg))
    return 0;  // refused with an error: what a peer sending these bytes gets
  // A bare double or float is one of CAF's own types, outside trainyard's inspects: a peer may
  // send one, no handler takes it, and nothing sends it on. An infinity in one would hang the
  // round trip below in CAF's encoder (see wire:: in actors/protocol.hpp).
  for (std::size_t i = 0; i < msg.size(); ++i)
    if ((msg.match_element<double>(i) && std::isinf(msg.get_as<double>(i))) ||
        (msg.match_element<float>(i) && std::isinf(msg.get_as<float>(i))))
      return 0;
  const auto written = bytes_of(sys, msg);
  caf::message again;
  caf::binary_deserializer reread{sys, written.data(), written.size()};
  if (reread(again) || bytes_of(sys, again) != written)
    __builtin_trap();  // what was accepted must survive its own round trip
  return 0;
}
