// Command-line reading shared by the benchmarks that take --name value options
// (bench/locate_train.cpp, bench/item_classifier.cpp). Header only: every .cpp in bench/ is a
// program of its own.
#pragma once

#include <cstdlib>
#include <iostream>
#include <string>

namespace trainyard::bench {

/// The value after option argv[i], advancing i past it; exits with status 2, naming the option,
/// when there is none.
inline std::string option_value(int argc, char** argv, int& i) {
  if (i + 1 >= argc) {
    std::cerr << argv[i] << " needs a value\n";
    std::exit(2);
  }
  return argv[++i];
}

}  // namespace trainyard::bench
