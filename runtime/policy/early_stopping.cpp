// The early-stopping rule (see early_stopping.hpp). Called once per finished iteration by the
// early-stopping actor and by the trainer; both hold their own copy of the state, so the function
// only reads the rule and updates the state it is given.
#include "runtime/policy/early_stopping.hpp"

#include <cmath>
#include <sstream>

namespace trainyard {

namespace {

bool is_improvement(const early_stopping_rule& rule, const early_stopping_state& state,
                    double value) {
  // A NaN metric (diverged training) never improves, and a NaN best (a diverged first iteration)
  // is beaten by any real value: otherwise one bad iteration would freeze the best forever.
  if (std::isnan(value))
    return false;
  if (std::isnan(state.best_value))
    return true;
  if (rule.goal == metric_goal::maximize)
    return value > state.best_value + rule.min_delta;
  return value < state.best_value - rule.min_delta;
}

}  // namespace

early_stopping_decision observe(const early_stopping_rule& rule, early_stopping_state& state,
                                int iteration, double value) {
  early_stopping_decision decision;
  // The first observation is the best by definition: there is nothing to compare it with, and the
  // trainer must keep some weights as "best" from the first iteration on.
  if (!state.has_best || is_improvement(rule, state, value)) {
    state.has_best = true;
    state.best_value = value;
    state.best_iteration = iteration;
    state.counter = 0;
    decision.improved = true;
  } else {
    ++state.counter;
  }

  // A stall is reported before the cap when both hold: it is the more informative reason, and the
  // outcome (stop after this iteration) is the same.
  if (rule.patience > 0 && state.counter >= rule.patience) {
    std::ostringstream reason;
    reason << "no improvement of at least " << rule.min_delta << " in " << state.counter
           << (state.counter == 1 ? " iteration" : " iterations") << " (best " << state.best_value
           << " at iteration " << state.best_iteration << ")";
    decision.stop = true;
    decision.reason = reason.str();
  } else if (rule.max_iterations > 0 && iteration >= rule.max_iterations) {
    decision.stop = true;
    decision.reason = "reached max_iterations " + std::to_string(rule.max_iterations);
  }
  return decision;
}

}  // namespace trainyard
