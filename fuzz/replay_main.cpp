// Replays fuzz inputs without libFuzzer: a `main` for a fuzz target (fuzz/NAME.cpp) that calls
// its LLVMFuzzerTestOneInput on every file under the folders and files it is given (recursively),
// so the normal build checks the seed corpora and the kept crash inputs without clang.
//   fuzz_NAME_replay fuzz/corpus/NAME
// Exits 1 when it finds no input (a missing corpus is a failure, not a pass); a reader that
// crashes on an input crashes this program, after its name is printed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// The files under `where` (itself when it is a file), in name order.
std::vector<fs::path> inputs_under(const fs::path& where) {
  std::vector<fs::path> files;
  if (fs::is_regular_file(where)) {
    files.push_back(where);
  } else if (fs::is_directory(where)) {
    for (const auto& entry : fs::recursive_directory_iterator(where))
      if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    for (const fs::path& file : inputs_under(argv[i])) {
      std::ifstream in(file, std::ios::binary);
      const std::vector<char> bytes{std::istreambuf_iterator<char>(in),
                                    std::istreambuf_iterator<char>()};
      std::cout << "replaying " << file.string() << " (" << bytes.size() << " bytes)" << std::endl;
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++replayed;
    }
  }
  if (replayed == 0) {
    std::cerr << "no input found under the folders given" << std::endl;
    return 1;
  }
  std::cout << replayed << " inputs replayed, none crashed" << std::endl;
  return 0;
}
