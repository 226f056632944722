// Tests of `trainyard monitor`'s options: the scheduler is required, --help answers the usage
// with the keys, and a bad option is named.
#include "config/command_line.hpp"

#include <gtest/gtest.h>

namespace trainyard {
namespace {

expected<monitor_options> parse(std::vector<const char*> args) {
  args.insert(args.begin(), {"trainyard", "monitor"});
  return parse_monitor_options(static_cast<int>(args.size()), args.data());
}

TEST(MonitorOptions, NeedsTheSchedulerAndTakesASecretFile) {
  auto ok = parse({"--scheduler", "10.0.0.5:7000", "--secret-file", "/etc/yard.secret"});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->scheduler, "10.0.0.5:7000");
  EXPECT_EQ(ok->secret_file, "/etc/yard.secret");
  EXPECT_FALSE(ok->ascii);
  EXPECT_FALSE(ok->help);

  auto missing = parse({});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, error_code::invalid_config);
  EXPECT_NE(missing.error().message.find("--scheduler HOST:PORT"), std::string::npos);

  auto bad = parse({"--scheduler", "h:1", "--colour"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("colour"), std::string::npos) << bad.error().message;
}

TEST(MonitorOptions, HelpShowsUsageAndKeys) {
  auto help = parse({"--help"});
  ASSERT_TRUE(help) << help.error().message;
  EXPECT_TRUE(help->help);
  EXPECT_NE(help->help_text.find("usage: trainyard monitor --scheduler HOST:PORT"),
            std::string::npos);
  EXPECT_NE(help->help_text.find("t moves it to the top"), std::string::npos);
}

}  // namespace
}  // namespace trainyard
