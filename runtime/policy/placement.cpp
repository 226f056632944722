#include "runtime/policy/placement.hpp"

#include <algorithm>

namespace trainyard {

namespace {

std::size_t ranks_of(const placement_need& need) {
  return static_cast<std::size_t>(std::max(1, need.devices));
}

// The first `need` slots of one kind (gpu or not) that pass `usable`, in slot order.
template <class Usable>
std::optional<std::vector<std::size_t>> first_of_kind(bool gpu, std::size_t need,
                                                      const std::vector<slot_view>& slots,
                                                      Usable usable) {
  std::vector<std::size_t> chosen;
  for (std::size_t slot = 0; slot < slots.size() && chosen.size() < need; ++slot)
    if (slots[slot].gpu == gpu && usable(slots[slot]))
      chosen.push_back(slot);
  if (chosen.size() < need)
    return std::nullopt;
  return chosen;
}

}  // namespace

std::optional<std::vector<std::size_t>> place(const placement_need& head,
                                              const std::vector<slot_view>& slots) {
  const auto idle = [](const slot_view& s) { return s.alive && s.idle; };
  if (!head.cpu_only)
    if (auto gpus = first_of_kind(true, ranks_of(head), slots, idle))
      return gpus;
  return first_of_kind(false, ranks_of(head), slots, idle);
}

bool placeable(const placement_need& job, const std::vector<slot_view>& slots) {
  const auto alive = [](const slot_view& s) { return s.alive; };
  return (!job.cpu_only && first_of_kind(true, ranks_of(job), slots, alive)) ||
         first_of_kind(false, ranks_of(job), slots, alive);
}

}  // namespace trainyard
