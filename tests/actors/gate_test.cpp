// The gate a scheduler publishes: only a peer of the same version that proves it holds the secret
// gets the cluster's handles; each challenge works once.
#include "actors/remote.hpp"
#include "tests/actors/yard_fixture.hpp"

namespace trainyard::testing {
namespace {

using Gate = YardTest;

TEST_F(Gate, OnlyTheRightSecretAndVersionOpenItAndEachChallengeWorksOnce) {
  auto gate = spawn_gate(*system_, "the-cluster-secret", yard_->scheduler(), yard_->datasets());
  caf::scoped_actor self{*system_};
  auto hello = [&](const std::string& version) {
    expected<std::string> out = make_failure(error_code::timeout, "no answer");
    self->request(gate, std::chrono::seconds(5), hello_atom::value, version)
      .receive([&](std::string& c) { out = c; },
               [&](caf::error& e) { out = make_failure(code_of(e), describe(e)); });
    return out;
  };
  auto prove = [&](const std::string& challenge, const std::string& proof) {
    expected<scheduler_actor> out = make_failure(error_code::timeout, "no answer");
    self->request(gate, std::chrono::seconds(5), prove_atom::value, challenge, proof)
      .receive([&](scheduler_actor& s, dataset_actor&) { out = s; },
               [&](caf::error& e) { out = make_failure(code_of(e), describe(e)); });
    return out;
  };

  // A message the gate does not understand is answered with an error and changes nothing.
  self->request(caf::actor_cast<caf::actor>(gate), std::chrono::seconds(5),
                std::string("let me in"), 42)
    .receive([&](caf::message&) { ADD_FAILURE() << "an unknown message was accepted"; },
             [&](caf::error& e) { EXPECT_TRUE(e); });

  auto old = hello("0.0.1");
  ASSERT_FALSE(old);
  EXPECT_NE(old.error().message.find("same trainyard version"), std::string::npos);

  auto c1 = hello(trainyard_version);
  ASSERT_TRUE(c1) << c1.error().message;
  auto wrong = prove(*c1, prove_secret("another-secret", *c1));
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("refused the secret"), std::string::npos);
  // The challenge was spent by the failed attempt.
  auto spent = prove(*c1, prove_secret("the-cluster-secret", *c1));
  ASSERT_FALSE(spent);
  EXPECT_NE(spent.error().message.find("reused challenge"), std::string::npos);

  auto c2 = hello(trainyard_version);
  ASSERT_TRUE(c2);
  EXPECT_NE(*c1, *c2);
  auto ok = prove(*c2, prove_secret("the-cluster-secret", *c2));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->address(), yard_->scheduler().address());
  caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
}

TEST(Endpoint, ParsesHostAndPortAndSaysWhatItExpects) {
  auto a = parse_endpoint("10.1.2.3:7000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "10.1.2.3");
  EXPECT_EQ(a->port, 7000);
  auto b = parse_endpoint(":7001");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "127.0.0.1");
  for (auto bad : {"host:", "host:http", "h:70000", ""}) {
    auto e = parse_endpoint(bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_NE(e.error().message.find("HOST:PORT"), std::string::npos);
  }
}

TEST(Credentials, ComeFromAFileOrTheEnvironmentNeverEmpty) {
  ::unsetenv("TRAINYARD_SECRET");
  auto none = load_credentials("");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("TRAINYARD_SECRET"), std::string::npos);
  ::setenv("TRAINYARD_SECRET", "short", 1);
  EXPECT_FALSE(load_credentials(""));
  ::setenv("TRAINYARD_SECRET", "long-enough-secret", 1);
  auto env = load_credentials("");
  ASSERT_TRUE(env);
  EXPECT_EQ(env->secret, "long-enough-secret");
  auto half_tls = load_credentials("", "cert.pem");
  ASSERT_FALSE(half_tls);
  EXPECT_NE(half_tls.error().message.find("together"), std::string::npos);
  EXPECT_EQ(prove_secret("k", "c").size(), 64u);
  EXPECT_NE(prove_secret("k", "c"), prove_secret("k", "d"));
}

}  // namespace
}  // namespace trainyard::testing
