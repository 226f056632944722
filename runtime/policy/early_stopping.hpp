// The early-stopping rule: stop when the monitored metric has not improved by `min_delta` for
// `patience` iterations, or at `max_iterations`. A pure policy used by the early-stopping actor
// (to decide the stop) and by the trainer (to know which iteration's weights are the best); the
// state is saved with the tool so a continued training resumes the rule where it left off.
#pragma once

#include <string>

namespace trainyard {

enum class metric_goal { maximize, minimize };

struct early_stopping_rule {
  int patience = 3;          ///< iterations without improvement before stopping; default 3
  double min_delta = 0.001;  ///< smallest change that counts as improvement; default 0.001
  int max_iterations = 30;   ///< stop at this iteration whatever the metric; 0 = no cap; default 30
  metric_goal goal = metric_goal::maximize;
};

/// What the rule remembers between iterations.
struct early_stopping_state {
  bool has_best = false;     ///< false until the first observation
  double best_value = 0;     ///< best metric so far
  int best_iteration = 0;    ///< iteration that reached it
  int counter = 0;           ///< iterations observed since the best one
  /// The metric observed ("val_accuracy"). The trainer starts the rule over when a continued
  /// tool's saved state followed another one (an anomaly tool from before its kind stopped on
  /// val_loss): a best value of one metric says nothing of another.
  std::string metric;
};

struct early_stopping_decision {
  bool improved = false;  ///< this iteration is the new best (keep its weights)
  bool stop = false;      ///< training should end after this iteration
  std::string reason;     ///< for the user when stop: "no improvement of 0.001 in 3 iterations"
};

/// Feeds one iteration's metric into the rule and updates `state`.
early_stopping_decision observe(const early_stopping_rule& rule, early_stopping_state& state,
                                int iteration, double value);

}  // namespace trainyard
