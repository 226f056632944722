// trainyard across processes on 127.0.0.1: a scheduler, nodes and clients as real processes,
// real training on a slice of Fashion-MNIST. Order after a reorder from a second client, a node
// killed mid-job, a scheduler killed and restarted, and peers without the secret.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "runtime/train/diagnostics.hpp"
#include "runtime/train/tool_files.hpp"
#include "tests/nodes/cluster_fixture.hpp"

namespace trainyard::testing {
namespace {

std::vector<std::string> run_order(std::map<std::string, nlohmann::json> jobs) {
  std::vector<std::pair<std::int64_t, std::string>> ran;
  for (auto& [name, j] : jobs)
    if (j["run_order"].get<std::int64_t>() > 0)
      ran.emplace_back(j["run_order"].get<std::int64_t>(), name);
  std::sort(ran.begin(), ran.end());
  std::vector<std::string> names;
  for (auto& [order, name] : ran)
    names.push_back(name);
  return names;
}

// A TCP connection to 127.0.0.1:port, or -1.
int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Whether the other side closed the connection (what it sent before is skipped).
bool closed_by_peer(int fd) {
  char buf[4096];
  for (;;) {
    const auto n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0)
      continue;
    return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
  }
}

// A process's peak resident memory in MB, from /proc.
long peak_resident_mb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  long kb = -1;
  while (status >> key)
    if (key == "VmHWM:") {
      status >> kb;
      break;
    }
  return kb / 1024;
}

std::string best_weights(const std::string& workspace, const std::string& tool) {
  return workspace + "/tools/" + tool + "/" + tool_files::best;
}

TEST_F(Cluster, RemoteJobsRunInQueueOrderAcrossTwoNodesAfterAReorderFromAnotherClient) {
  start_scheduler();
  auto [submitted, out] = client({"submit", campaign({"j1", "j2", "j3", "j4"}, 1), "--json"});
  ASSERT_EQ(submitted, 0) << out;
  // A second client reorders while nothing runs: j4 to the top, j1 to the third place.
  auto [top, top_out] = client({"queue", "top", "j4"});
  ASSERT_EQ(top, 0) << top_out;
  auto [moved, moved_out] = client({"queue", "move", "j1", "3", "--json"});
  ASSERT_EQ(moved, 0) << moved_out;
  auto order = jobs();
  EXPECT_EQ(order["j4"]["queue_position"], 0);
  EXPECT_EQ(order["j2"]["queue_position"], 1);
  EXPECT_EQ(order["j1"]["queue_position"], 2);
  EXPECT_EQ(order["j3"]["queue_position"], 3);

  start_node();
  start_node();
  for (auto job : {"j1", "j2", "j3", "j4"}) {
    auto [code, text] = client({"wait", job, "--timeout", "300", "--json"}, 330s);
    EXPECT_EQ(code, 0) << text;
    EXPECT_NE(text.find("\"state\":\"completed\""), std::string::npos) << text;
  }
  EXPECT_EQ(run_order(jobs()), (std::vector<std::string>{"j4", "j2", "j1", "j3"}));
}

TEST_F(Cluster, ANodeKilledMidJobLosesNothingAndTheResumedJobIsBitIdentical) {
  start_scheduler();
  // Two tools with the same settings: one is interrupted by a kill -9, the other is not.
  auto [submitted, out] =
    client({"submit", campaign({"interrupted", "reference"}, 3, "deterministic = true\n", "",
                            /*train=*/4000)});
  ASSERT_EQ(submitted, 0) << out;
  // The waiter listens before the node starts, so it cannot miss the first iteration.
  auto first_iteration = background({"wait", "interrupted", "--iteration", "--timeout", "120"});
  ASSERT_TRUE(eventually("interrupted", [](const nlohmann::json&) { return true; }, 10s));
  start_node();
  ASSERT_EQ(first_iteration->finish(150s), 0) << first_iteration->output();
  kill_node(0);
  // The scheduler notices within seconds and puts the job back at the head of the queue.
  EXPECT_TRUE(eventually(
    "interrupted", [](const nlohmann::json& j) { return j["state"] == "queued"; }, 15s))
    << "the job of the killed node was not requeued";
  EXPECT_EQ(jobs()["interrupted"]["queue_position"], 0);
  start_node();
  for (auto job : {"interrupted", "reference"}) {
    auto [code, text] = client({"wait", job, "--timeout", "300"}, 330s);
    EXPECT_EQ(code, 0) << text;
  }
  auto all = jobs();
  EXPECT_EQ(all["interrupted"]["state"], "completed");
  EXPECT_EQ(all["interrupted"]["iteration"], 3);
  auto a = read_weight_bytes(best_weights(workspace(), "interrupted"));
  auto b = read_weight_bytes(best_weights(workspace(), "reference"));
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(*a, *b) << "a job resumed after its node was killed must end bit-identical";
  EXPECT_EQ(all["interrupted"]["final_metrics"], all["reference"]["final_metrics"]);
}

TEST_F(Cluster, AKilledSchedulerComesBackWithItsQueueResultsAndRunningJob) {
  start_scheduler();
  auto [s1, o1] = client({"submit", campaign({"first"}, 1)});
  ASSERT_EQ(s1, 0) << o1;
  auto [s2, o2] = client({"submit", campaign({"long", "after"}, 3, "", "", 4000)});
  ASSERT_EQ(s2, 0) << o2;
  // "last" has many iterations, so it is still running when the scheduler is killed even on a
  // loaded machine: with 3 it once completed between its first iteration and the listing.
  auto [s3, o3] = client({"submit", campaign({"last"}, 12, "", "", 4000)});
  ASSERT_EQ(s3, 0) << o3;
  auto [moved, moved_out] = client({"queue", "move", "last", "2"});
  ASSERT_EQ(moved, 0) << moved_out;  // queue: first, last, long, after
  auto last_iterated = background({"wait", "last", "--iteration", "--timeout", "120"});
  std::this_thread::sleep_for(1s);  // lets the waiter connect; it has 3 iterations of slack
  auto& node = start_node();
  ASSERT_EQ(last_iterated->finish(150s), 0) << last_iterated->output();
  auto before = jobs();
  ASSERT_EQ(before["first"]["state"], "completed");
  ASSERT_EQ(before["last"]["state"], "running");

  scheduler_->signal(SIGKILL);
  scheduler_->finish(10s);
  EXPECT_TRUE(node.read_until("the scheduler went away", 20s)) << node.output();
  start_scheduler({}, port_);
  // The node rejoins by itself; the interrupted job resumes first, the queue keeps its order.
  EXPECT_TRUE(node.read_until_count("joined the scheduler", 2, 60s)) << node.output();
  auto after = jobs();
  EXPECT_EQ(after["first"]["state"], "completed");
  EXPECT_EQ(after["first"]["final_metrics"], before["first"]["final_metrics"]);
  for (auto job : {"last", "long", "after"}) {
    auto [code, text] = client({"wait", job, "--timeout", "300"}, 330s);
    EXPECT_EQ(code, 0) << job << ": " << text;
  }
  EXPECT_EQ(run_order(jobs()), (std::vector<std::string>{"first", "last", "long", "after"}));
}

TEST_F(Cluster, PeersWithoutTheSecretOrSpeakingGarbageAreRefusedAndDisturbNothing) {
  start_scheduler();
  auto [submitted, out] = client({"submit", campaign({"steady"}, 2)});
  ASSERT_EQ(submitted, 0) << out;
  start_node();

  auto wrong = write("wrong-secret", "not-the-cluster-secret\n");
  auto [code, text] = client({"queue", "list", "--secret-file", wrong});
  EXPECT_NE(code, 0);
  EXPECT_NE(text.find("refused the secret"), std::string::npos) << text;
  EXPECT_TRUE(scheduler_->read_until("wrong secret", 10s)) << scheduler_->output();

  // A node with the wrong secret gives up with the reason instead of retrying forever.
  auto [node_code, node_text] = run_program(
    {binary(), "node", "--scheduler", address(), "--secret-file", wrong}, 30s);
  EXPECT_EQ(node_code, 1) << node_text;
  EXPECT_NE(node_text.find("refused the secret"), std::string::npos) << node_text;

  // No secret at all: told how to give one.
  ::unsetenv("TRAINYARD_SECRET");
  auto [none, none_text] = client({"queue", "list"});
  EXPECT_EQ(none, 2);
  EXPECT_NE(none_text.find("TRAINYARD_SECRET"), std::string::npos) << none_text;
  ::setenv("TRAINYARD_SECRET", "cluster-test-secret-0123", 1);

  // Bytes that are no trainyard message at all.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port_));
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  std::string garbage(4096, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i)
    garbage[i] = static_cast<char>((i * 7919) % 251);
  EXPECT_GT(::send(fd, garbage.data(), garbage.size(), MSG_NOSIGNAL), 0);
  ::close(fd);

  auto [w, result] = client({"wait", "steady", "--timeout", "300", "--json"}, 330s);
  EXPECT_EQ(w, 0) << result << "\nscheduler:\n" << scheduler_->output();
  EXPECT_NE(result.find("\"state\":\"completed\""), std::string::npos) << result;
  expect_scheduler_stops_on_sigterm();
}

// The door in front of the gate (actors/door.hpp): a peer opening connections by the hundred, one
// declaring a 4 GB frame and one that stays silent are each dropped, the scheduler's memory stays
// small, and the job that runs meanwhile completes.
TEST_F(Cluster, APeerFloodingConnectionsDeclaringHugeFramesOrStayingSilentIsDroppedAndJobsGoOn) {
  start_scheduler({"--max-connections", "64", "--max-per-address", "16"});
  auto [submitted, out] = client({"submit", campaign({"steady"}, 3)});
  ASSERT_EQ(submitted, 0) << out;
  start_node();
  const auto started = std::chrono::steady_clock::now();
  const int silent = connect_to(port_);
  ASSERT_GE(silent, 0);

  std::vector<int> flood;
  for (int i = 0; i < 400; ++i)
    if (int fd = connect_to(port_); fd >= 0)
      flood.push_back(fd);
  std::this_thread::sleep_for(2s);
  int still_open = 0;
  for (int fd : flood)
    still_open += closed_by_peer(fd) ? 0 : 1;
  EXPECT_EQ(flood.size(), 400u);
  // 16 from this address at most: the node's and the silent one's among them.
  EXPECT_LE(still_open, 14) << scheduler_->output();
  EXPECT_GE(still_open, 1);
  EXPECT_TRUE(scheduler_->read_until("refused connections from 127.0.0.1: 16 connections from it "
                                     "are open (at most 16, --max-per-address)",
                                     10s))
    << scheduler_->output();
  for (int fd : flood)
    ::close(fd);

  // A BASP header declaring a payload of 4 GB: CAF would size its read buffer to it.
  std::this_thread::sleep_for(500ms);
  const int huge = connect_to(port_);
  ASSERT_GE(huge, 0);
  unsigned char header[32] = {0x02, 0, 0, 0, 0xff, 0xff, 0xff, 0xf0};
  EXPECT_EQ(::send(huge, header, sizeof(header), MSG_NOSIGNAL), 32);
  EXPECT_TRUE(scheduler_->read_until("declared a frame of 4294967280 bytes", 10s))
    << scheduler_->output();
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(closed_by_peer(huge));
  ::close(huge);

  auto [w, result] = client({"wait", "steady", "--timeout", "300", "--json"}, 330s);
  EXPECT_EQ(w, 0) << result << "\nscheduler:\n" << scheduler_->output();
  EXPECT_NE(result.find("\"state\":\"completed\""), std::string::npos) << result;
  // The silent connection is closed once nothing was heard from it for 15 s.
  std::this_thread::sleep_until(started + 17s);
  EXPECT_TRUE(closed_by_peer(silent)) << scheduler_->output();
  EXPECT_TRUE(scheduler_->read_until("nothing heard for 15 s", 5s)) << scheduler_->output();
  ::close(silent);
  EXPECT_LT(peak_resident_mb(scheduler_->pid()), 400) << "the scheduler's peak memory";
  expect_scheduler_stops_on_sigterm();
}

// A scheduler killed while clients wait on it: a `wait` says so, reconnects to the restarted
// scheduler and still reports the job's end; a `submit` cut short says how many jobs were queued,
// and none of those is lost; submitting the campaign again queues the rest, each job once.
TEST_F(Cluster, ClientsOfASchedulerKilledMidRequestSaySoAndLoseNothing) {
  start_scheduler();
  const int port = port_;
  auto [submitted, out] = client({"submit", campaign({"steady"}, 2)});
  ASSERT_EQ(submitted, 0) << out;
  auto waiter = background({"wait", "steady", "--json"});
  std::this_thread::sleep_for(2s);  // the wait is with the scheduler
  scheduler_->signal(SIGKILL);
  scheduler_->finish(10s);
  EXPECT_TRUE(waiter->read_until("trainyard wait: lost the scheduler at " + address(), 10s))
    << waiter->output();
  start_scheduler({}, port);

  // Many jobs, so that the kill lands while the submit is under way.
  std::vector<std::string> names;
  for (int i = 0; i < 1500; ++i)
    names.push_back("bulk" + std::to_string(i));
  const auto bulk = campaign(names, 1);
  auto submitter = background({"submit", bulk});
  ASSERT_TRUE(submitter->read_until("queued as", 60s)) << submitter->output();
  scheduler_->signal(SIGKILL);
  scheduler_->finish(10s);
  EXPECT_EQ(submitter->finish(60s), 6) << submitter->output();
  std::smatch m;
  const std::string said = submitter->output();
  ASSERT_TRUE(std::regex_search(said, m, std::regex("; (\\d+) of 1500 jobs were queued before it")))
    << said;
  const int acknowledged = std::stoi(m[1]);
  EXPECT_NE(said.find("Submit the campaign again once the scheduler is back"), std::string::npos);

  start_scheduler({}, port);
  auto listed = jobs();
  int saved = 0;
  for (const auto& name : names)
    saved += listed.count(name) ? 1 : 0;
  EXPECT_GE(saved, acknowledged) << "an acknowledged submit was lost";
  auto [again, again_out] = client({"submit", bulk, "--json"}, 300s);
  EXPECT_EQ(again, 0) << again_out.substr(0, 2000);
  listed = jobs();
  int bulk_jobs = 0;
  for (const auto& [name, j] : listed)
    bulk_jobs += name.rfind("bulk", 0) == 0 ? 1 : 0;
  EXPECT_EQ(bulk_jobs, 1500);
  ASSERT_EQ(client({"queue", "cancel", "steady"}).first, 0);  // nothing needs training here
  EXPECT_EQ(waiter->finish(60s), 4) << waiter->output();  // the waiter saw the cancel: exit 4
  EXPECT_NE(waiter->output().find("\"state\":\"cancelled\""), std::string::npos)
    << waiter->output();
}

TEST_F(Cluster, ARunOnALiveSchedulersWorkspaceIsRefusedNamingTheScheduler) {
  start_scheduler();
  // A job trained by a one-process run there would never show in the scheduler's queue.
  auto [code, out] =
    run_program({binary(), "run", campaign({"beside"}, 1), "--workspace", workspace()}, 60s);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("is in use by 'trainyard scheduler' (pid "), std::string::npos) << out;
  auto [listed, text] = client({"queue", "list", "--json"});
  ASSERT_EQ(listed, 0) << text;
  EXPECT_EQ(text.find("beside"), std::string::npos) << text;
}

TEST_F(Cluster, WaitExitCodesSayHowTheJobEnded) {
  start_scheduler();
  auto [submitted, out] = client({"submit", campaign({"done", "dropped"}, 1)});
  ASSERT_EQ(submitted, 0) << out;
  // No node yet: both stay queued, so a bounded wait times out.
  auto [timed_out, t_out] = client({"wait", "done", "--timeout", "0.5"}, 30s);
  EXPECT_EQ(timed_out, 5) << t_out;
  auto [cancel, c_out] = client({"queue", "cancel", "dropped"});
  EXPECT_EQ(cancel, 0) << c_out;
  auto [cancelled, cd_out] = client({"wait", "dropped", "--json"}, 30s);
  EXPECT_EQ(cancelled, 4) << cd_out;
  auto [unknown, u_out] = client({"wait", "no-such-job"}, 30s);
  EXPECT_EQ(unknown, 1) << u_out;
  EXPECT_NE(u_out.find("no job named 'no-such-job'"), std::string::npos) << u_out;
  start_node();
  auto [done, d_out] = client({"wait", "done", "--timeout", "300"}, 330s);
  EXPECT_EQ(done, 0) << d_out;
  // Nothing listens on port 1: the client retries for a while, counting down, then says so with
  // its own exit code.
  auto [gone, g_out] =
    run_program({binary(), "wait", "done", "--scheduler", "127.0.0.1:1"}, 60s);
  EXPECT_EQ(gone, 6) << g_out;
  EXPECT_NE(g_out.find("; retrying, 10 s left"), std::string::npos) << g_out;
  EXPECT_NE(g_out.find("trainyard wait: cannot reach the scheduler at 127.0.0.1:1"),
            std::string::npos)
      << g_out;
  expect_scheduler_stops_on_sigterm();
}

}  // namespace
}  // namespace trainyard::testing

namespace trainyard::testing {
namespace {

// Makes a CA and a certificate it signed (for 127.0.0.1) in `dir` with the openssl program.
bool make_certificates(const std::string& dir, const std::string& name) {
  auto cmd = "cd '" + dir + "' && openssl req -x509 -newkey rsa:2048 -nodes -keyout " + name +
             "-ca.key -out " + name + "-ca.pem -days 2 -subj /CN=" + name +
             "-ca >/dev/null 2>&1 && openssl req -newkey rsa:2048 -nodes -keyout " + name +
             ".key -out " + name + ".csr -subj /CN=127.0.0.1 >/dev/null 2>&1 && openssl x509 "
             "-req -in " + name + ".csr -CA " + name + "-ca.pem -CAkey " + name +
             "-ca.key -CAcreateserial -out " + name + ".pem -days 2 >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

TEST_F(Cluster, TlsMembersWorkAndPeersWithoutTheClustersCertificateAreRefused) {
  auto dir = dir_.str();
  if (std::system("openssl version >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "the openssl program is missing (Debian package openssl)";
  ASSERT_TRUE(make_certificates(dir, "member"));
  ASSERT_TRUE(make_certificates(dir, "stranger"));
  auto tls = [&](const std::string& name) {
    return std::vector<std::string>{"--tls-cert", dir + "/" + name + ".pem", "--tls-key",
                                    dir + "/" + name + ".key", "--tls-ca",
                                    dir + "/member-ca.pem"};
  };
  start_scheduler(tls("member"));
  EXPECT_NE(scheduler_->output().find("(TLS)"), std::string::npos) << scheduler_->output();
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  auto [submitted, out] = client(with({"submit", campaign({"secure"}, 1)}, tls("member")));
  ASSERT_EQ(submitted, 0) << out;
  start_node(tls("member"));
  auto [done, done_out] = client(with({"wait", "secure", "--timeout", "300"}, tls("member")), 330s);
  EXPECT_EQ(done, 0) << done_out;

  // Without TLS, or with a certificate the cluster's CA did not sign: no way in.
  auto [plain, plain_out] = client({"queue", "list"}, 60s);
  EXPECT_EQ(plain, 6) << plain_out;
  auto [stranger, stranger_out] = client(with({"queue", "list"}, tls("stranger")), 60s);
  EXPECT_EQ(stranger, 6) << stranger_out;
  auto [member, member_out] = client(with({"queue", "list", "--json"}, tls("member")), 60s);
  EXPECT_EQ(member, 0) << member_out;
  EXPECT_NE(member_out.find("\"secure\""), std::string::npos) << member_out;
}

}  // namespace
}  // namespace trainyard::testing

namespace trainyard::testing {
namespace {

TEST_F(Cluster, ANodeWithoutTheSharedFilesystemFetchesTheDataAndSendsItsToolBack) {
  start_scheduler();
  auto [submitted, out] = client({"submit", campaign({"remote"}, 2)});
  ASSERT_EQ(submitted, 0) << out;
  auto cache = (dir_ / "node-cache").string();
  start_node({"--fetch-files", "--cache", cache});
  auto [done, text] = client({"wait", "remote", "--timeout", "300", "--json"}, 330s);
  ASSERT_EQ(done, 0) << text;
  // The node trained from its own copies...
  EXPECT_TRUE(std::filesystem::exists(
    cache + "/data/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"));
  EXPECT_TRUE(std::filesystem::exists(cache + "/workspace/tools/remote/best.pt"));
  // ...and the scheduler's workspace has the tool, as if the node had written it there.
  for (auto file : {"best.pt", "checkpoint.pt", "metrics.json", "metrics.csv"})
    EXPECT_TRUE(std::filesystem::exists(workspace() + "/tools/remote/" + file)) << file;
  auto [code, evaluated] = run_program(
    {binary(), "evaluate", "remote", "--workspace", workspace(), "--json"}, 120s, false);
  EXPECT_EQ(code, 0) << evaluated;
  auto e = nlohmann::json::parse(evaluated);
  EXPECT_GT(e["accuracy"].get<double>(), 0.5) << evaluated;
}

}  // namespace
}  // namespace trainyard::testing

namespace trainyard::testing {
namespace {

// Largest absolute difference between two weight files' float tensors (same names required).
double largest_difference(const std::map<std::string, std::string>& a,
                          const std::map<std::string, std::string>& b) {
  double worst = 0;
  for (const auto& [name, bytes] : a) {
    auto other = b.find(name);
    if (other == b.end() || other->second.size() != bytes.size())
      return 1e9;
    if (name.find("num_batches_tracked") != std::string::npos)
      continue;  // an int64 counter, not float weights
    auto n = bytes.size() / sizeof(float);
    const auto* x = reinterpret_cast<const float*>(bytes.data());
    const auto* y = reinterpret_cast<const float*>(other->second.data());
    for (std::size_t i = 0; i < n; ++i)
      worst = std::max(worst, static_cast<double>(std::abs(x[i] - y[i])));
  }
  return worst;
}

TEST_F(Cluster, ATwoDeviceJobOnTwoNodesMatchesOneDeviceWithTheDoubleBatch) {
  start_scheduler();
  // A model without batch statistics or dropout, no augmentation: two ranks of batch 16 each
  // must make the same updates as one rank of batch 32.
  auto tool = "batch_norm = false\ndropout = 0\n";
  auto [s1, o1] = client(
    {"submit", campaign({"single"}, 2, "deterministic = true\nbatch_size = 32\n", tool, 1200)});
  ASSERT_EQ(s1, 0) << o1;
  auto [s2, o2] = client({"submit", campaign({"pair"}, 2,
                                             "deterministic = true\nbatch_size = 16\ndevices = 2\n",
                                             tool, 1200)});
  ASSERT_EQ(s2, 0) << o2;
  start_node();
  start_node();
  for (auto job : {"single", "pair"}) {
    auto [code, text] = client({"wait", job, "--timeout", "400", "--json"}, 430s);
    ASSERT_EQ(code, 0) << job << ": " << text;
  }
  auto a = read_weight_bytes(best_weights(workspace(), "single"));
  auto b = read_weight_bytes(best_weights(workspace(), "pair"));
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_LT(largest_difference(*a, *b), 1e-4);
  auto all = jobs();
  EXPECT_NEAR(all["single"]["final_metrics"]["val_accuracy"].get<double>(),
              all["pair"]["final_metrics"]["val_accuracy"].get<double>(), 0.01);
}

}  // namespace
}  // namespace trainyard::testing
