// How many times this process has evaluated a trained tool on a test set: the engine's evaluation
// at the end of a job and `evaluate_tool` on the test set each count one. A finished job's test
// set is evaluated once, by the engine; tests read the count to hold that.
#pragma once

#include <cstdint>

namespace trainyard {

/// Adds one to the process's count of test-set evaluations.
void count_test_evaluation();

/// Test-set evaluations this process has made so far.
std::int64_t test_evaluations();

}  // namespace trainyard
