// trainyard's version, in one place: `--version` prints it, the gate makes peers share it (their
// wire protocol must match), and CMakeLists.txt reads its project version from this line.
#pragma once

namespace trainyard {

inline constexpr const char* trainyard_version = "0.6.0";

}  // namespace trainyard
