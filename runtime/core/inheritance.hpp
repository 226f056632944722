// What a continue job inherits: the training settings of the job it continues, except those its
// campaign section wrote and its own `iterations`. A user who trained with learning_rate = 0.002
// and flips and then continues with `continue = true, iterations = 2` gets 0.002 and flips again,
// not the defaults. No CAF, no torch.
#pragma once

#include <string>

#include "runtime/core/specs.hpp"

namespace trainyard {

/// Copies into `job` every setting of `previous` whose campaign key is not among `written`
/// (keys, comma-separated) and is not `iterations`. Returns the copied settings that changed a
/// value, as "key = value" pairs joined by ", " in field-table order ("" when none did).
std::string inherit_settings(training_settings& job, const training_settings& previous,
                             const std::string& written);

}  // namespace trainyard
