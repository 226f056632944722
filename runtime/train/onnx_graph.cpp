// onnx_graph (onnx_graph.hpp): torch layers as ONNX nodes, with their weights as initializers.
#include "runtime/train/onnx_graph.hpp"

#include <stdexcept>
#include <string>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "runtime/core/version.hpp"
#include "runtime/train/tool_files.hpp"

namespace trainyard {

struct onnx_graph::model {
  onnx::ModelProto proto;
  std::int64_t batch = 0;
  int next = 0;  ///< numbers the values and initializers the graph names itself

  onnx::GraphProto& graph() { return *proto.mutable_graph(); }
  std::string fresh(const std::string& stem) { return stem + "_" + std::to_string(next++); }

  /// A float32 (or int64) initializer holding `t`'s values, named after `stem`.
  std::string initializer(const std::string& stem, const torch::Tensor& t) {
    const std::string name = fresh(stem);
    onnx::TensorProto* out = graph().add_initializer();
    out->set_name(name);
    for (const std::int64_t d : t.sizes())
      out->add_dims(d);
    if (t.scalar_type() == torch::kLong) {
      out->set_data_type(onnx::TensorProto::INT64);
      const torch::Tensor v = t.contiguous();
      out->set_raw_data(v.data_ptr(), static_cast<std::size_t>(v.numel()) * sizeof(std::int64_t));
    } else {
      out->set_data_type(onnx::TensorProto::FLOAT);
      const torch::Tensor v = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
      out->set_raw_data(v.data_ptr(), static_cast<std::size_t>(v.numel()) * sizeof(float));
    }
    return name;
  }

  /// A node of `op` on `inputs` with one output, named after the operator.
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        std::string output = {}) {
    onnx::NodeProto* n = graph().add_node();
    n->set_op_type(op);
    n->set_name(fresh(op));
    for (const std::string& i : inputs)
      n->add_input(i);
    n->add_output(output.empty() ? fresh(op + "_out") : std::move(output));
    return *n;
  }

  static void attribute(onnx::NodeProto& n, const std::string& name,
                        const std::vector<std::int64_t>& values) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (const std::int64_t v : values)
      a->add_ints(v);
  }
  static void attribute(onnx::NodeProto& n, const std::string& name, std::int64_t value) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  static void attribute(onnx::NodeProto& n, const std::string& name, const std::string& value) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(value);
  }

  /// [batch, dims...] float as a value's type.
  void describe(onnx::ValueInfoProto& v, const std::string& name,
                const std::vector<std::int64_t>& dims) const {
    v.set_name(name);
    onnx::TypeProto_Tensor* t = v.mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    onnx::TensorShapeProto* shape = t->mutable_shape();
    if (batch > 0)
      shape->add_dim()->set_dim_value(batch);
    else
      shape->add_dim()->set_dim_param("batch");
    for (const std::int64_t d : dims)
      shape->add_dim()->set_dim_value(d);
  }
};

onnx_graph::onnx_graph(const std::string& name, std::int64_t batch)
    : model_(std::make_unique<model>()) {
  model_->batch = batch;
  onnx::ModelProto& p = model_->proto;
  p.set_ir_version(onnx::IR_VERSION);
  p.set_producer_name("trainyard");
  p.set_producer_version(trainyard_version);
  onnx::OperatorSetIdProto* opset = p.add_opset_import();
  opset->set_domain("");
  opset->set_version(onnx_opset);
  model_->graph().set_name(name);
}

onnx_graph::~onnx_graph() = default;
onnx_graph::onnx_graph(onnx_graph&&) noexcept = default;
onnx_graph& onnx_graph::operator=(onnx_graph&&) noexcept = default;

std::string onnx_graph::input(const std::string& name, const std::vector<std::int64_t>& dims) {
  model_->describe(*model_->graph().add_input(), name, dims);
  return name;
}

void onnx_graph::output(const std::string& value, const std::string& name,
                        const std::vector<std::int64_t>& dims) {
  if (value != name)
    model_->node("Identity", {value}, name);
  model_->describe(*model_->graph().add_output(), name, dims);
}

std::string onnx_graph::conv(const std::string& x, const torch::nn::Conv2dImpl& conv,
                             const torch::nn::BatchNorm2dImpl* norm) {
  torch::NoGradGuard no_grad;
  torch::Tensor weight = conv.weight.detach().to(torch::kDouble);
  const std::int64_t out = weight.size(0);
  torch::Tensor bias = conv.bias.defined() ? conv.bias.detach().to(torch::kDouble)
                                           : torch::zeros({out}, torch::kDouble);
  if (norm != nullptr) {
    // y = (conv(x) + b - mean) / sqrt(var + eps) * gamma + beta, folded in double precision.
    const torch::Tensor scale =
        (norm->running_var.to(torch::kDouble) + norm->options.eps()).rsqrt() *
        (norm->weight.defined() ? norm->weight.detach().to(torch::kDouble)
                                : torch::ones({out}, torch::kDouble));
    const torch::Tensor shift = norm->bias.defined() ? norm->bias.detach().to(torch::kDouble)
                                                     : torch::zeros({out}, torch::kDouble);
    weight = weight * scale.view({out, 1, 1, 1});
    bias = (bias - norm->running_mean.to(torch::kDouble)) * scale + shift;
  }
  const auto& o = conv.options;
  const auto pair = [](const torch::ExpandingArray<2>& a) {
    return std::vector<std::int64_t>{(*a)[0], (*a)[1]};
  };
  const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
  if (padding == nullptr)
    throw std::logic_error("onnx_graph::conv: only explicit paddings export");
  onnx::NodeProto& n = model_->node(
      "Conv", {x, model_->initializer("weight", weight), model_->initializer("bias", bias)});
  model::attribute(n, "kernel_shape", pair(o.kernel_size()));
  model::attribute(n, "strides", pair(o.stride()));
  const std::vector<std::int64_t> p = pair(*padding);
  model::attribute(n, "pads", std::vector<std::int64_t>{p[0], p[1], p[0], p[1]});
  model::attribute(n, "dilations", pair(o.dilation()));
  model::attribute(n, "group", o.groups());
  return n.output(0);
}

std::string onnx_graph::batch_norm(const std::string& x, const torch::nn::BatchNorm2dImpl& norm) {
  const std::int64_t n = norm.running_mean.size(0);
  const torch::Tensor scale = norm.weight.defined() ? norm.weight : torch::ones({n});
  const torch::Tensor shift = norm.bias.defined() ? norm.bias : torch::zeros({n});
  onnx::NodeProto& node = model_->node(
      "BatchNormalization",
      {x, model_->initializer("scale", scale), model_->initializer("shift", shift),
       model_->initializer("mean", norm.running_mean), model_->initializer("var", norm.running_var)});
  onnx::AttributeProto* eps = node.add_attribute();
  eps->set_name("epsilon");
  eps->set_type(onnx::AttributeProto::FLOAT);
  eps->set_f(static_cast<float>(norm.options.eps()));
  return node.output(0);
}

std::string onnx_graph::sequential(const std::string& x, const torch::nn::SequentialImpl& layers) {
  std::string value = x;
  const auto children = layers.children();
  for (std::size_t i = 0; i < children.size(); ++i) {
    const auto& layer = children[i];
    if (const auto* c = dynamic_cast<const torch::nn::Conv2dImpl*>(layer.get())) {
      const torch::nn::BatchNorm2dImpl* norm =
          i + 1 < children.size()
              ? dynamic_cast<const torch::nn::BatchNorm2dImpl*>(children[i + 1].get())
              : nullptr;
      value = conv(value, *c, norm);
      if (norm != nullptr)
        ++i;
    } else if (dynamic_cast<const torch::nn::ReLUImpl*>(layer.get()) != nullptr) {
      value = relu(value);
    } else {
      throw std::logic_error("onnx_graph::sequential: layer " + layer->name() +
                             " has no ONNX export");
    }
  }
  return value;
}

std::string onnx_graph::linear(const std::string& x, const torch::Tensor& weight,
                               const torch::Tensor& bias) {
  onnx::NodeProto& n = model_->node(
      "Gemm", {x, model_->initializer("weight", weight), model_->initializer("bias", bias)});
  model::attribute(n, "transB", std::int64_t{1});
  return n.output(0);
}

std::string onnx_graph::linear(const std::string& x, const torch::nn::LinearImpl& layer) {
  return linear(x, layer.weight, layer.bias);
}

std::string onnx_graph::relu(const std::string& x) { return model_->node("Relu", {x}).output(0); }

std::string onnx_graph::sigmoid(const std::string& x) {
  return model_->node("Sigmoid", {x}).output(0);
}

std::string onnx_graph::max_pool(const std::string& x, int kernel, int stride, int padding) {
  onnx::NodeProto& n = model_->node("MaxPool", {x});
  model::attribute(n, "kernel_shape", std::vector<std::int64_t>{kernel, kernel});
  model::attribute(n, "strides", std::vector<std::int64_t>{stride, stride});
  model::attribute(n, "pads", std::vector<std::int64_t>{padding, padding, padding, padding});
  return n.output(0);
}

std::string onnx_graph::flatten(const std::string& x) {
  onnx::NodeProto& n = model_->node("Flatten", {x});
  model::attribute(n, "axis", std::int64_t{1});
  return n.output(0);
}

std::string onnx_graph::add(const std::string& a, const std::string& b) {
  return model_->node("Add", {a, b}).output(0);
}

std::string onnx_graph::concat(const std::vector<std::string>& values, int axis) {
  onnx::NodeProto& n = model_->node("Concat", values);
  model::attribute(n, "axis", std::int64_t{axis});
  return n.output(0);
}

std::string onnx_graph::resize_nearest(const std::string& x, std::int64_t from_height,
                                       std::int64_t from_width, std::int64_t height,
                                       std::int64_t width) {
  if (from_height == height && from_width == width)
    return x;
  // Scales rather than sizes: OpenCV's importer reads constant scales, and with "asymmetric"
  // coordinates and floor rounding the source pixel is floor(dst / scale) = floor(dst * in / out),
  // torch's nearest.
  const torch::Tensor scales = torch::tensor(
      {1.0f, 1.0f, static_cast<float>(height) / static_cast<float>(from_height),
       static_cast<float>(width) / static_cast<float>(from_width)});
  onnx::NodeProto& n = model_->node(
      "Resize", {x, model_->initializer("roi", torch::zeros({0})),
                 model_->initializer("scales", scales)});
  model::attribute(n, "mode", std::string("nearest"));
  model::attribute(n, "coordinate_transformation_mode", std::string("asymmetric"));
  model::attribute(n, "nearest_mode", std::string("floor"));
  return n.output(0);
}

expected<void> onnx_graph::save(const std::string& path) const {
  try {
    onnx::checker::check_model(model_->proto);
  } catch (const std::exception& e) {
    return make_failure(error_code::invalid_request,
                        "the ONNX checker refuses the graph for " + path + ": " + e.what());
  }
  std::string bytes;
  if (!model_->proto.SerializeToString(&bytes))
    return make_failure(error_code::storage_failed, "could not serialise the ONNX model " + path);
  return write_file_atomically(path, bytes);
}

}  // namespace trainyard
