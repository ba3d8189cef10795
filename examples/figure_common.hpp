// What every figure program shares: the common command line (--data, --out, --paper-compat,
// --permutations, --seed, --threads, and the synthetic default's size), loading the data (the
// planted-truth dataset by default, or a folder in dnn2brain's layout or the paper's data.zip
// layout), running the searchlights whichever input the folder holds, a progress line on stderr,
// and the output files. Copy it with the program you start from.
#ifndef DNN2BRAIN_EXAMPLES_FIGURE_COMMON_HPP
#define DNN2BRAIN_EXAMPLES_FIGURE_COMMON_HPP

#include <dnn2brain/dnn2brain.hpp>
#include <dnn2brain/io.hpp>
#include <dnn2brain/simulate.hpp>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace figure {

namespace d2b = dnn2brain;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

/// The options every figure program takes.
struct common_options {
  fs::path data{};  ///< empty: the planted-truth dataset
  fs::path out{};
  fs::path save_data{};  ///< also write the data in dnn2brain's layout (io::write_dataset)
  bool paper_compat = false;
  bool model_table = false;  ///< searchlight programs: every model's score and p per searchlight
  d2b::index_t permutations = 1000;
  d2b::index_t bootstrap = -1;  ///< error bars' resamples (< 0: the analyses' own count)
  std::uint64_t seed = 2021;
  int threads = 0;
  /// The planted-truth dataset: its size, subjects (0: the size's) and noise (< 0: default).
  std::string size = "default";
  d2b::index_t subjects = 0;
  double noise = -1.0;
};

/// Adds the common options to a CLI11 app.
void add_common_options(CLI::App& app, common_options& o);

/// One progress line on stderr per long step, rewritten in place.
class progress_line {
 public:
  explicit progress_line(std::string step) : m_step(std::move(step)), m_start(clock_type::now()) {
    std::fprintf(stderr, "[%s] ...", m_step.c_str());
  }
  /// A progress callback for the analyses.
  [[nodiscard]] d2b::progress_callback callback() const {
    return [this](std::string_view what, d2b::index_t done, d2b::index_t total) {
      std::fprintf(stderr, "\r[%s] %.*s %lld / %lld (%.1f s)   ", m_step.c_str(),
                   static_cast<int>(what.size()), what.data(), static_cast<long long>(done),
                   static_cast<long long>(total), seconds());
    };
  }
  double finish() const {
    const double s = seconds();
    std::fprintf(stderr, "\r[%s] done in %.1f s%40s\n", m_step.c_str(), s, "");
    return s;
  }

 private:
  [[nodiscard]] double seconds() const {
    return std::chrono::duration<double>(clock_type::now() - m_start).count();
  }
  std::string m_step;
  clock_type::time_point m_start;
};

/// The data of a figure program: a dataset as read from disk, or the planted-truth dataset in the
/// same form together with its truth.
struct inputs {
  d2b::io::dataset data;
  std::optional<d2b::simulate::layout> planted;  ///< the truth, for the synthetic default
  /// The synthetic default's DNN activations (its RDMs' source; CKA needs them).
  std::optional<d2b::simulate::models> activations;
  std::string description;  ///< one line: what the data are
};

/// The planted-truth dataset's options for a size ("default", "small", "tiny").
[[nodiscard]] d2b::simulate::options synthetic_options(const common_options& o);

/// The planted-truth dataset as a dnn2brain dataset (what io::write_dataset writes).
[[nodiscard]] inputs synthetic_inputs(const common_options& o, bool searchlight);

/// The figure's data: --data's folder, or the planted-truth dataset.
[[nodiscard]] inputs load_inputs(const common_options& o, bool searchlight);

/// The analyses' options: the library's defaults or the paper's, with the command line's
/// permutations and seed.
[[nodiscard]] d2b::analysis_presets presets(const common_options& o);

/// Applies --threads.
void use_threads(int threads);

/// The searchlights of the data: spheres of `radius` voxels over the mask of subject betas, or the
/// table that came with precomputed RDMs (the paper's blocks).
struct searchlights {
  d2b::neighbor_table table;
  d2b::brain_mask mask;
};

[[nodiscard]] searchlights make_searchlights(const inputs& in, double radius);

/// Runs a searchlight analysis on whichever input the data hold. The paper's noise ceilings, when
/// the data bring them, are used instead of computing them.
[[nodiscard]] d2b::searchlight_result run_searchlights(const inputs& in, const searchlights& where,
                                                       d2b::searchlight_analysis_options options);

/// Paints one value per searchlight (a row vector) or several (rows) into a float volume and
/// writes it as NIfTI with the mask's geometry.
void write_map(const fs::path& path, const searchlights& where, const Eigen::MatrixXd& values);

/// One row per searchlight: its centre (voxel indices), the best model (or group) and its score,
/// the p-values of the map's rule, and the label.
[[nodiscard]] d2b::io::table searchlight_table(const searchlights& where,
                                               const d2b::searchlight_result& r,
                                               const d2b::functional_map& map);

/// One row per searchlight: its centre and every model's (or group's) score and permutation p
/// (uncorrected), and with differences the p of every ordered difference a − b (for checking the
/// map's rule, e.g. tests/reference/check_paper_compat.py).
[[nodiscard]] d2b::io::table searchlight_model_table(const searchlights& where,
                                                     const d2b::searchlight_result& r);

/// The legend of a label map: code 0 "not significant", then d + 1 for entry d, with the paper's
/// colours; written as JSON and CSV.
void write_legend(const fs::path& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& groups, const std::vector<d2b::rgb>& colours,
                  d2b::rgb not_significant, const d2b::functional_map& map);

/// A table as both CSV and JSON.
void write_table(const fs::path& stem, const d2b::io::table& t);

/// Ends a program's summary with its run time and output folder, writes summary.txt and prints
/// it, then (on the planted data) the line ctest checks: "planted truth recovered: yes|no".
void finish_summary(const fs::path& out, std::string text, clock_type::time_point start,
                    std::optional<bool> recovered);

/// The display names of the data's ROIs (the paper's labels without trailing spaces).
[[nodiscard]] inline const std::vector<std::string>& roi_names(const inputs& in) {
  return in.data.roi_display_names.empty() ? in.data.rois.names() : in.data.roi_display_names;
}

/// p formatted for a table: 3 significant digits, "-" for NaN.
[[nodiscard]] inline std::string format(double v, int digits = 3) {
  if (std::isnan(v)) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, v);
  return buffer;
}

/// Entry (i, j) of a result matrix, NaN when that part was switched off (an empty matrix).
[[nodiscard]] inline double entry(const Eigen::MatrixXd& m, d2b::index_t i, d2b::index_t j) {
  return m.size() == 0 ? std::numeric_limits<double>::quiet_NaN() : m(i, j);
}

/// \brief The p-values a partition figure shows: the paper's (BH within each ROI over the k
/// unique fractions and their pairs; paper::fdr_within_targets) under its procedures, else the
/// library's (selection-adjusted where computed, corrected across ROIs).
struct partition_p {
  std::optional<d2b::paper::p_values> paper;
  const d2b::partition_analysis_result* parts = nullptr;

  partition_p(const d2b::partition_analysis_result& r, bool paper_procedures) : parts(&r) {
    if (!paper_procedures || r.permutation.p_value.size() == 0) return;
    std::vector<d2b::index_t> unique_rows;
    for (d2b::index_t j = 0; j < r.k; ++j) unique_rows.push_back((d2b::index_t(1) << j) - 1);
    paper = d2b::paper::fdr_within_targets(r.permutation, unique_rows);
  }
  /// The p of position j's unique fraction on ROI r.
  [[nodiscard]] double unique(d2b::index_t j, d2b::index_t r) const {
    if (paper) return paper->p(j, r);
    const d2b::index_t row = (d2b::index_t(1) << j) - 1;
    return parts->p_selection_corrected.size() ? parts->p_selection_corrected(row, r)
                                               : entry(parts->p_corrected, row, r);
  }
  /// The p of the difference of positions a and b on ROI r.
  [[nodiscard]] double pair(d2b::index_t a, d2b::index_t b, d2b::index_t r) const {
    return paper ? paper->p_differences(a * parts->k + b, r)
                 : entry(parts->p_pairs_corrected, a * parts->k + b, r);
  }
};

/// The bars of a partition figure (Fig. 2, 3b): one row per ROI and position (no intervals under
/// the paper's procedures: its subsamples refit other models; the SD is its error bar).
[[nodiscard]] d2b::io::table bar_table(const d2b::partition_analysis_result& parts,
                                       const partition_p& p,
                                       const std::vector<std::string>& roi_names,
                                       const std::vector<d2b::rgb>& colours, bool paper_procedures);

/// All 2^k − 1 fractions of every ROI, named by their members joined with " & " (no intervals
/// under the paper's procedures: its subsamples refit other models).
[[nodiscard]] d2b::io::table fraction_table(const d2b::partition_analysis_result& parts,
                                            const std::vector<std::string>& roi_names,
                                            bool paper_procedures);

/// The pairwise differences of the unique fractions of every ROI: the permutation p of a − b and
/// of b − a (uncorrected) and the p the figure shows.
[[nodiscard]] d2b::io::table pair_table(const d2b::partition_analysis_result& parts,
                                        const partition_p& p,
                                        const std::vector<std::string>& roi_names);

/// One panel of a partition figure as text: the bars with their error bars and marks, and the
/// significant pairs.
void describe_panel(std::ostream& text, const d2b::partition_analysis_result& parts,
                    const partition_p& p, d2b::index_t r, double alpha = 0.05);

}  // namespace figure

#endif  // DNN2BRAIN_EXAMPLES_FIGURE_COMMON_HPP
