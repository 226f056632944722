#include "runtime/policy/placement.hpp"

#include <algorithm>

namespace trainyard {

namespace {

std::size_t ranks_of(const placement_need& need) {
  return static_cast<std::size_t>(std::max(1, need.devices));
}

}  // namespace

std::optional<std::vector<std::size_t>> place(const placement_need& head,
                                              const std::vector<slot_view>& slots) {
  const auto need = ranks_of(head);
  std::vector<std::size_t> chosen;
  for (std::size_t slot = 0; slot < slots.size() && chosen.size() < need; ++slot)
    if (slots[slot].alive && slots[slot].idle)
      chosen.push_back(slot);
  if (chosen.size() < need)
    return std::nullopt;
  return chosen;
}

bool placeable(const placement_need& job, const std::vector<slot_view>& slots) {
  auto alive = std::count_if(slots.begin(), slots.end(), [](const slot_view& s) { return s.alive; });
  return static_cast<std::size_t>(alive) >= ranks_of(job);
}

}  // namespace trainyard
