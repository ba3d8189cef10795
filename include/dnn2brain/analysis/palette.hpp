#ifndef DNN2BRAIN_ANALYSIS_PALETTE_HPP
#define DNN2BRAIN_ANALYSIS_PALETTE_HPP

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <dnn2brain/config.hpp>

#include <dnn2brain/analysis/model_set.hpp>

namespace dnn2brain {

/// A colour with channels in [0, 1].
struct rgb {
  double r = 0.0, g = 0.0, b = 0.0;

  /// "#rrggbb".
  [[nodiscard]] std::string hex() const {
    const auto byte = [](double v) {
      return static_cast<unsigned>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
    };
    std::array<char, 8> text{};
    std::snprintf(text.data(), text.size(), "#%02x%02x%02x", byte(r), byte(g), byte(b));
    return std::string(text.data());
  }
  friend bool operator==(const rgb&, const rgb&) = default;
};

/// The colours of a functional map: one per model and per group, and grey for "not significant".
struct palette {
  std::vector<rgb> models;  ///< per model, in model_set::names() order
  std::vector<rgb> groups;  ///< per group, in model_set::groups() order
  rgb not_significant{0.8, 0.8, 0.8};
};

/// \brief The paper's colours (paper-spec §8.3) for any model set: group g's members get shades
/// of its family, in member order, (0, 0, b) with b from 0.3 to 1 for the first group (2D blues),
/// (0, g, 0) from 0.3 to 1 for the second (3D greens), (c, 0, c) from 0.5 to 1 for the third
/// (semantic magentas), then orange, cyan and red families; a model in no group is olive
/// (0.8, 0.8, 0), darker for each further one. A model in several groups takes its first group's
/// shade. With paper::task_groups() these are the paper's exact Fig. 1 colours, and the groups'
/// colours are its Fig. 3 blue, green and magenta.
[[nodiscard]] inline palette paper_palette(const model_set& models) {
  struct family {
    rgb full;     // the group's colour
    double dark;  // the first member's intensity
  };
  static constexpr std::array<family, 6> families = {{{{0, 0, 1}, 0.3},
                                                      {{0, 1, 0}, 0.3},
                                                      {{1, 0, 1}, 0.5},
                                                      {{1, 0.55, 0}, 0.4},
                                                      {{0, 0.8, 0.8}, 0.4},
                                                      {{1, 0, 0}, 0.4}}};
  palette p;
  p.models.assign(static_cast<std::size_t>(models.size()), rgb{});
  std::vector<bool> coloured(p.models.size(), false);
  for (index_t g = 0; g < models.group_count(); ++g) {
    const family& f = families[static_cast<std::size_t>(g) % families.size()];
    p.groups.push_back(f.full);
    const auto& members = models.group_members(g);
    const auto count = static_cast<double>(members.size());
    for (std::size_t k = 0; k < members.size(); ++k) {
      const auto d = static_cast<std::size_t>(members[k]);
      if (coloured[d]) continue;
      const double t = count > 1 ? static_cast<double>(k) / (count - 1) : 1.0;
      const double v = f.dark + (1.0 - f.dark) * t;
      p.models[d] = {f.full.r * v, f.full.g * v, f.full.b * v};
      coloured[d] = true;
    }
  }
  double olive = 0.8;
  for (std::size_t d = 0; d < p.models.size(); ++d)
    if (!coloured[d]) {
      p.models[d] = {olive, olive, 0.0};
      olive = std::max(0.4, olive - 0.1);
    }
  return p;
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_ANALYSIS_PALETTE_HPP
