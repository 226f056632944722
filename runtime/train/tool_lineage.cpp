#include "runtime/train/tool_lineage.hpp"

#include "runtime/train/failures.hpp"

namespace trainyard {

namespace {

std::string network_text(const tool_spec& t) {
  return "model " + t.model + ", model_width " + std::to_string(t.model_width) +
         " and batch_norm " + (t.batch_norm ? "true" : "false");
}

bool same_network(const tool_spec& a, const tool_spec& b) {
  return a.model == b.model && a.model_width == b.model_width && a.batch_norm == b.batch_norm;
}

}  // namespace

void check_continuation(const loaded_checkpoint* checkpoint, const job_spec& spec) {
  const std::string& tool = spec.tool.name;
  if (!checkpoint)
    fail("tool " + tool + " has no trained state to continue; run a job without continue first",
         error_code::unknown_tool);
  if (checkpoint->state.split != spec.split)
    fail("tool " + tool + " was trained on split " + checkpoint->state.split +
             "; continue training must use the same split",
         error_code::split_mismatch);
  const tool_spec& was = checkpoint->state.tool;
  const tool_spec& now = spec.tool;
  if (was.input_width != now.input_width || was.input_height != now.input_height ||
      !same_network(was, now))
    fail("tool " + tool + " was built with input " + std::to_string(was.input_width) + "x" +
             std::to_string(was.input_height) + ", " + network_text(was) +
             "; continue training keeps the architecture, so use those values",
         error_code::invalid_request);
}

trained_tool open_source_tool(const std::string& workspace, const job_spec& spec, int channels) {
  const std::string& name = spec.initialize_from;
  const std::string& tool = spec.tool.name;
  trained_tool source = need(open_tool(workspace, name));
  const tool_spec& was = source.record.tool;
  const tool_spec& now = spec.tool;
  const std::string refused = "tool " + tool + " cannot start from tool " + name + ": ";
  if (was.kind != now.kind)
    fail(refused + name + " is a " + was.kind + " tool and " + tool + " a " + now.kind +
             " tool; initialize_from needs a tool of the same kind",
         error_code::invalid_config);
  if (was.input_width != now.input_width || was.input_height != now.input_height ||
      source.record.channels != channels)
    fail(refused + name + " takes " + std::to_string(was.input_width) + "x" +
             std::to_string(was.input_height) + " images of " +
             std::to_string(source.record.channels) + " channel(s), " + tool + " " +
             std::to_string(now.input_width) + "x" + std::to_string(now.input_height) + " of " +
             std::to_string(channels) +
             "; give both the same width, height and colour, or train from scratch",
         error_code::invalid_config);
  if (!same_network(was, now))
    fail(refused + name + " has " + network_text(was) + "; set the same on tool " + tool,
         error_code::invalid_config);
  return source;
}

void copy_matching_weights(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  const auto copy = [](const torch::OrderedDict<std::string, torch::Tensor>& src,
                       torch::OrderedDict<std::string, torch::Tensor> dst) {
    for (auto& item : dst) {
      const torch::Tensor* s = src.find(item.key());
      if (s && s->sizes() == item.value().sizes())
        item.value().copy_(*s);
    }
  };
  copy(from.named_parameters(), to.named_parameters());
  copy(from.named_buffers(), to.named_buffers());
}

}  // namespace trainyard
