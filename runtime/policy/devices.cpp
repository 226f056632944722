// The device list of a node (devices.hpp).
#include "runtime/policy/devices.hpp"

#include <algorithm>
#include <cctype>

namespace trainyard {

namespace {

failure bad(const std::string& message) {
  return make_failure(error_code::invalid_config, "--devices: " + message);
}

std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos)
    return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// "cuda:N" → N; -1 when the item is not one.
int parse_cuda(const std::string& item) {
  const std::string prefix = "cuda:";
  if (item.compare(0, prefix.size(), prefix) != 0 || item.size() == prefix.size() ||
      item.size() > prefix.size() + 3)
    return -1;
  int index = 0;
  for (std::size_t i = prefix.size(); i < item.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(item[i])))
      return -1;
    index = index * 10 + (item[i] - '0');
  }
  return index;
}

std::string visible_list(int count) {
  std::string out;
  for (int i = 0; i < count; ++i)
    out += (i ? ", cuda:" : "cuda:") + std::to_string(i);
  return out;
}

}  // namespace

expected<device_request> parse_devices(const std::string& text) {
  device_request request;
  const std::string whole = trimmed(text);
  if (whole == "all") {
    request.all = true;
    return request;
  }
  if (whole.empty())
    return bad("no device given; write cpu, all, or a list such as cuda:0,cuda:1");
  std::size_t start = 0;
  while (start <= whole.size()) {
    const std::size_t comma = std::min(whole.find(',', start), whole.size());
    const std::string item = trimmed(whole.substr(start, comma - start));
    start = comma + 1;
    if (item == "cpu") {
      if (request.cpu)
        return bad("cpu is listed twice; each device gets one worker");
      request.cpu = true;
      continue;
    }
    if (item == "all")
      return bad("'all' stands alone: it means every CUDA device (or the CPU without one)");
    const int index = parse_cuda(item);
    if (index < 0)
      return bad("'" + item + "' is not a device; write cpu, all, or cuda:N (N = 0, 1, ...), "
                 "comma-separated");
    if (std::find(request.cuda.begin(), request.cuda.end(), index) != request.cuda.end())
      return bad(item + " is listed twice; each device gets one worker");
    request.cuda.push_back(index);
  }
  return request;
}

expected<std::vector<std::string>> resolve_devices(const device_request& request,
                                                   const device_support& support,
                                                   std::string& note) {
  note.clear();
  const bool cuda_usable = support.torch_cuda && support.cuda_devices > 0;
  std::vector<std::string> names;
  if (request.all) {
    if (!cuda_usable) {
      note = "no CUDA device to train on (" + support.why_not + "); one worker on the CPU";
      return std::vector<std::string>{"cpu"};
    }
    for (int i = 0; i < support.cuda_devices; ++i)
      names.push_back("cuda:" + std::to_string(i));
    return names;
  }
  if (request.cpu)
    names.push_back("cpu");
  for (const int index : request.cuda) {
    const std::string name = "cuda:" + std::to_string(index);
    if (!support.torch_cuda)
      return bad(name + ": " + support.why_not + "; use --devices cpu here");
    if (index >= support.cuda_devices)
      return bad(name + ": this machine shows " +
                 (support.cuda_devices == 0
                      ? "no CUDA device (" + support.why_not + ")"
                      : std::to_string(support.cuda_devices) + " CUDA device" +
                            (support.cuda_devices == 1 ? "" : "s") + " (" +
                            visible_list(support.cuda_devices) + ")") +
                 "; list only those, or use --devices all");
    names.push_back(name);
  }
  return names;
}

expected<std::vector<std::string>> devices_to_train_on(const std::string& text,
                                                       const device_support& support,
                                                       std::string& note) {
  auto request = parse_devices(text);
  if (!request)
    return request.error();
  return resolve_devices(*request, support, note);
}

int cuda_index(const std::string& device) { return parse_cuda(device); }

}  // namespace trainyard
