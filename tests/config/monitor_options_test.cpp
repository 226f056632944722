// Tests of `trainyard monitor`'s options: the scheduler is required, --help answers the usage
// with the keys, and a bad option is named.
#include "config/command_line.hpp"

#include <cstdlib>

#include <gtest/gtest.h>

namespace trainyard {
namespace {

expected<monitor_options> parse(std::vector<const char*> args) {
  args.insert(args.begin(), {"trainyard", "monitor"});
  return parse_monitor_options(static_cast<int>(args.size()), args.data());
}

TEST(MonitorOptions, TakesTheSchedulerAndASecretFileWithDefaults) {
  auto ok = parse({"--scheduler", "10.0.0.5:7000", "--secret-file", "/etc/yard.secret"});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->cluster.scheduler, "10.0.0.5:7000");
  EXPECT_EQ(ok->cluster.secret_file, "/etc/yard.secret");
  EXPECT_FALSE(ok->ascii);
  EXPECT_FALSE(ok->help);

  ::unsetenv("TRAINYARD_SCHEDULER");
  auto defaulted = parse({});
  ASSERT_TRUE(defaulted) << defaulted.error().message;
  EXPECT_EQ(defaulted->cluster.scheduler, "127.0.0.1:7207");

  auto bad = parse({"--scheduler", "h:1", "--colour"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("colour"), std::string::npos) << bad.error().message;
}

TEST(MonitorOptions, HelpShowsUsageAndKeys) {
  auto help = parse({"--help"});
  ASSERT_TRUE(help) << help.error().message;
  EXPECT_TRUE(help->help);
  EXPECT_NE(help->help_text.find("usage: trainyard monitor [--scheduler HOST:PORT]"),
            std::string::npos);
  EXPECT_NE(help->help_text.find("t moves it to the top"), std::string::npos);
}

}  // namespace
}  // namespace trainyard
