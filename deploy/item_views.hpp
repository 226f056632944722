// What the locate and segment runtimes share for their second stage: mirrored views of 4-d
// blobs, the softmax of logits, and the item (box) classifier's probabilities on crops, averaged
// with those of the mirrored crops for tools trained with horizontal flips (as the training
// runtime's item_probabilities). Internal to trainyard_runtime.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

namespace trainyard::deploy {

/// Each plane of a 4-d CV_32F blob [N, C, H, W] mirrored left to right.
cv::Mat mirrored(const cv::Mat& blob);

/// Softmax of each row of `logits` [M, K] (CV_32F), less the row's maximum as torch computes it.
cv::Mat softmax_rows(const cv::Mat& logits);

/// The classifier's label probabilities [M, K] of crops [M, C, size, size] (its input "crops",
/// output "logits"); with `mirror_views` the mean of those and the mirrored crops'.
cv::Mat item_probabilities(cv::dnn::Net& classifier, const cv::Mat& crops, bool mirror_views);

}  // namespace trainyard::deploy
