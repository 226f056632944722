// Reading large campaigns: the time load_campaign takes for campaigns of N jobs (each with its
// own tool, one dataset and one split), for several N in one process, and the cost per job, so
// that a reader that grows faster than the file shows at once (per-job cost rising with N).
//
//   ./build/campaign_load [jobs...]     default: 1000 4000 20000
//
// Prints JSON: for each N the seconds, the microseconds per job and the file's size.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/campaign.hpp"

namespace {

std::string campaign_text(int jobs) {
  std::string text =
    "[dataset.fashion]\nkind = fashion-mnist\nsubset = train\n"
    "[split.s]\ndataset = fashion\nmode = count\ntrain = 800\nvalidation = 200\ntest = 200\n";
  for (int i = 0; i < jobs; ++i) {
    const std::string n = std::to_string(i);
    text += "[tool.t" + n + "]\ndataset = fashion\nmodel_width = 8\n# tool " + n + "\n";
    text += "[job.j" + n + "]\ntool = t" + n + "\nsplit = s\niterations = 2\nbatch_size = 32\n"
            "learning_rate = 0.002\nflip_horizontal = true\n";
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i)
    sizes.push_back(std::stoi(argv[i]));
  if (sizes.empty())
    sizes = {1000, 4000, 20000};
  const auto dir = std::filesystem::temp_directory_path() / "trainyard-campaign-load";
  std::filesystem::create_directories(dir);
  nlohmann::json runs = nlohmann::json::array();
  for (int jobs : sizes) {
    const auto path = (dir / ("c" + std::to_string(jobs) + ".ini")).string();
    const std::string text = campaign_text(jobs);
    std::ofstream(path) << text;
    const auto start = std::chrono::steady_clock::now();
    auto c = trainyard::load_campaign(path);
    const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!c || static_cast<int>(c->jobs.size()) != jobs) {
      std::fprintf(stderr, "campaign of %d jobs: %s\n", jobs,
                   c ? "wrong job count" : c.error().message.c_str());
      return 1;
    }
    runs.push_back({{"jobs", jobs},
                    {"bytes", text.size()},
                    {"seconds", seconds},
                    {"us_per_job", seconds * 1e6 / jobs}});
  }
  std::filesystem::remove_all(dir);
  std::printf("%s\n", nlohmann::json{{"bench", "campaign_load"}, {"runs", runs}}.dump(2).c_str());
  return 0;
}
