#ifndef DNN2BRAIN_ANALYSIS_PAPER_TASKS_HPP
#define DNN2BRAIN_ANALYSIS_PAPER_TASKS_HPP

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include <dnn2brain/config.hpp>

#include <dnn2brain/core/error.hpp>

/// \brief The DNNs of Dwivedi et al. (2021): 18 Taskonomy task networks and an untrained one,
/// their two layers, display names and the 2D / 3D / semantic groups (paper-spec §2, §10).
namespace dnn2brain::paper {

/// The 19 networks in the order of the paper's `task_list_nogeometry`.
inline constexpr std::array<std::string_view, 19> tasks = {
    "autoencoder",      "class_1000",      "class_places", "colorization",
    "curvature",        "denoise",         "edge2d",       "edge3d",
    "inpainting_whole", "keypoint2d",      "keypoint3d",   "reshade",
    "rgb2depth",        "rgb2mist",        "rgb2sfnorm",   "segment25d",
    "segment2d",        "segmentsemantic", "random"};

/// The two layers the paper keeps per network.
inline constexpr std::array<std::string_view, 2> layers = {"block4", "encoder_output"};

/// A named group of networks.
struct task_group {
  std::string_view name;
  std::vector<std::string_view> members;
};

/// The paper's groups (its get_grouped_rdms); `random` belongs to none. Members are listed in the
/// order of the Fig. 1 colour codes (paper-spec §8.3), so a member's shade in the paper's palette
/// is its position here.
[[nodiscard]] inline std::vector<task_group> task_groups() {
  return {{"2D",
           {"autoencoder", "colorization", "denoise", "edge2d", "inpainting_whole", "keypoint2d",
            "segment2d"}},
          {"3D",
           {"edge3d", "keypoint3d", "segment25d", "reshade", "rgb2depth", "rgb2mist", "rgb2sfnorm",
            "curvature"}},
          {"semantic", {"class_1000", "class_places", "segmentsemantic"}}};
}

/// The name the paper's figures show for a task (paper-spec §2.2); other names come back as
/// they are.
[[nodiscard]] inline std::string display_name(std::string_view task) {
  static constexpr std::array<std::array<std::string_view, 2>, 19> names = {{
      {"autoencoder", "autoencoding"},
      {"class_1000", "object class"},
      {"class_places", "scene class"},
      {"colorization", "colorization"},
      {"curvature", "curvature"},
      {"denoise", "denoising"},
      {"edge2d", "2D edges"},
      {"edge3d", "3D edges"},
      {"inpainting_whole", "inpainting"},
      {"keypoint2d", "2D keypoints"},
      {"keypoint3d", "3D keypoints"},
      {"reshade", "reshading"},
      {"rgb2depth", "z-depth"},
      {"rgb2mist", "distance"},
      {"rgb2sfnorm", "normals"},
      {"segment25d", "2.5d segment"},
      {"segment2d", "2D segment"},
      {"segmentsemantic", "semantic segm"},
      {"random", "random"},
  }};
  for (const auto& [name, shown] : names)
    if (name == task) return std::string(shown);
  return std::string(task);
}

}  // namespace dnn2brain::paper

#endif  // DNN2BRAIN_ANALYSIS_PAPER_TASKS_HPP
