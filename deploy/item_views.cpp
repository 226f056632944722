// Mirrored views, softmax and the item classifier's probabilities (item_views.hpp).
#include "deploy/item_views.hpp"

#include <algorithm>
#include <cmath>

namespace trainyard::deploy {

cv::Mat mirrored(const cv::Mat& blob) {
  CV_Assert(blob.dims == 4 && blob.type() == CV_32F && blob.isContinuous());
  cv::Mat out(blob.dims, blob.size.p, CV_32F);
  const int h = blob.size[2], w = blob.size[3];
  const std::size_t plane = static_cast<std::size_t>(h) * w;
  const std::size_t planes = static_cast<std::size_t>(blob.size[0]) * blob.size[1];
  for (std::size_t p = 0; p < planes; ++p)
    cv::flip(cv::Mat(h, w, CV_32F, const_cast<float*>(blob.ptr<float>()) + p * plane),
             cv::Mat(h, w, CV_32F, out.ptr<float>() + p * plane), 1);
  return out;
}

cv::Mat softmax_rows(const cv::Mat& logits) {
  CV_Assert(logits.type() == CV_32F && logits.isContinuous());
  const int rows = logits.size[0];
  const int columns = static_cast<int>(logits.total()) / std::max(rows, 1);
  cv::Mat out(rows, columns, CV_32F);
  for (int r = 0; r < rows; ++r) {
    const float* v = logits.ptr<float>() + static_cast<std::size_t>(r) * columns;
    float* p = out.ptr<float>(r);
    const float top = *std::max_element(v, v + columns);
    float sum = 0;
    for (int c = 0; c < columns; ++c)
      sum += p[c] = std::exp(v[c] - top);
    for (int c = 0; c < columns; ++c)
      p[c] /= sum;
  }
  return out;
}

cv::Mat item_probabilities(cv::dnn::Net& classifier, const cv::Mat& crops, bool mirror_views) {
  const auto probabilities = [&classifier](const cv::Mat& views) {
    classifier.setInput(views, "crops");
    return softmax_rows(classifier.forward("logits"));
  };
  cv::Mat p = probabilities(crops);
  if (mirror_views)
    p = (p + probabilities(mirrored(crops))) * 0.5;
  return p;
}

}  // namespace trainyard::deploy
