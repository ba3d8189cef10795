#ifndef DNN2BRAIN_IO_DATASET_HPP
#define DNN2BRAIN_IO_DATASET_HPP

// A user's dataset on disk, in dnn2brain's own layout or in the layout of the paper's data.zip
// (docs/io.md, "Datasets on disk"): read into the model set, ROI set and searchlight inputs the
// analyses take, and written back in dnn2brain's layout.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include <dnn2brain/analysis/model_set.hpp>
#include <dnn2brain/analysis/paper_tasks.hpp>
#include <dnn2brain/analysis/roi_analysis.hpp>
#include <dnn2brain/config.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/detail/xtensor_compat.hpp>
#include <dnn2brain/io/atomic_file.hpp>
#include <dnn2brain/io/detail/binary_file.hpp>
#include <dnn2brain/io/mat.hpp>
#include <dnn2brain/io/neighbor_table.hpp>
#include <dnn2brain/io/nifti.hpp>
#include <dnn2brain/io/npy.hpp>
#include <dnn2brain/io/table.hpp>
#include <dnn2brain/searchlight/brain_mask.hpp>
#include <dnn2brain/searchlight/geometry.hpp>
#include <dnn2brain/searchlight/neighbor_table.hpp>
#include <dnn2brain/searchlight/neighborhood.hpp>

namespace dnn2brain::io {

/// The two folder layouts read_dataset() reads (docs/io.md, "Datasets on disk").
enum class dataset_layout {
  ours,   ///< dnn2brain's: models/<dnn>/<layer>.npy, rois/, searchlight/ or fmri/, stimuli.txt
  paper,  ///< the paper's data.zip: RDM_taskonomy_bonner50/, kastner_ROIs_RDMs_pearson/, ...
};

/// A file a dataset was read from: its path relative to dataset::root and its size.
struct dataset_file {
  std::filesystem::path path{};
  std::uintmax_t bytes{};
};

/// A file or folder of the dataset's directory that was not read, and why.
struct skipped_file {
  std::filesystem::path path{};  ///< relative to dataset::root
  std::string reason{};
};

/// \brief Searchlight RDMs computed elsewhere: one stack per subject, pairs × searchlights
/// (searchlight c of every stack is centre c of the table), and the neighbour table that defines
/// the searchlights (their centres and voxels, for painting results into a volume).
struct searchlight_rdm_input {
  std::vector<rdm_stack<float>> subjects{};
  neighbor_table table{};
  /// The brain mask the table was made on, for painting maps (paint(mask, table, values),
  /// functional_map::label_volume(mask, table)): the paper's mask.nii, or searchlight/mask.nii.gz
  /// of dnn2brain's layout, read on the table's grid. mask.size() == table.mask_voxels().
  brain_mask mask{};
};

/// \brief Each subject's response patterns for computing searchlight RDMs here: conditions ×
/// mask voxels, the columns in the mask's order (brain_mask::apply, as
/// simulate::dataset::subject_data). The caller builds the neighbourhood it wants, e.g.
/// make_neighbor_table(mask, neighborhood::sphere{radius}); mask.geometry() is the volume's grid.
struct searchlight_beta_input {
  std::vector<Eigen::MatrixXf> subjects{};
  /// The subjects' labels: <label> of fmri/sub-<label>_betas.nii.gz, in subjects order.
  std::vector<std::string> labels{};
  brain_mask mask{};
};

/// Per-searchlight noise ceilings (Nili et al. 2014) that came with the data.
struct searchlight_noise_ceiling {
  Eigen::VectorXd lower{};
  Eigen::VectorXd upper{};
};

/// \brief A dataset read from disk: the DNNs' layer RDMs (with groups), the ROIs' subject RDMs,
/// searchlight input, and the files it came from.
struct dataset {
  dataset_layout layout{dataset_layout::ours};
  /// The directory it was read from.
  std::filesystem::path root{};
  /// Condition names (stimuli.txt), or empty when the data name none.
  std::vector<std::string> stimuli{};
  /// The DNNs, each with one RDM per layer, and their groups.
  model_set models{};
  /// The ROIs' subject RDMs; empty when the data hold no ROI.
  roi_set rois{};
  /// The ROIs' names for display, in rois order: the paper's labels without their trailing spaces
  /// ("hV4 " is shown as "hV4"); in dnn2brain's layout the names themselves.
  std::vector<std::string> roi_display_names{};
  /// Precomputed searchlight RDMs, subject betas, or nothing.
  std::variant<std::monostate, searchlight_rdm_input, searchlight_beta_input> searchlight{};
  /// Per-searchlight noise ceilings when the data provide them (precomputed RDMs only).
  std::optional<searchlight_noise_ceiling> noise_ceiling{};
  /// Provenance: every file read, in the order read.
  std::vector<dataset_file> files{};
  /// Files and folders left out (other layers, unrequested tasks, a pickle, ...), with reasons.
  std::vector<skipped_file> skipped{};
};

/// Options of read_dataset().
struct read_dataset_options {
  /// The layout to read; by default detect_layout() decides.
  std::optional<dataset_layout> layout{};
  /// The DNNs to read, in this order (the paper's layout: task names). Default: every one found;
  /// in dnn2brain's layout sorted by name, in the paper's layout in paper::tasks order, then
  /// other names sorted.
  std::vector<std::string> models{};
  /// The layers to read, in this order. Default: in dnn2brain's layout the layer files of the
  /// models, sorted by name (every model must have the same set); in the paper's layout
  /// paper::layers (block4, encoder_output). Files of other layers are skipped.
  std::vector<std::string> layers{};
  /// Read the groups (models/groups.json; the paper's 2D, 3D and semantic groups).
  bool groups{true};
  /// Read searchlight input (it can be gigabytes); false leaves dataset::searchlight empty.
  bool searchlight{true};
  /// The paper's layout: the folder sl_rad=<r>__max_blk_edge=<e> to read when there are several.
  std::string searchlight_folder{};
  /// Square RDMs must be symmetric with a zero diagonal within tolerance · max(1, max |a|)
  /// (squareform_options' rule; the default accepts float32 rounding).
  double tolerance{1e-5};
};

namespace detail {

// This namespace hides dnn2brain::detail inside dnn2brain::io: bring in the error helpers.
using dnn2brain::detail::concat;
using dnn2brain::detail::throw_invalid_argument;
using dnn2brain::detail::throw_io_error;

inline constexpr const char* our_models_folder = "models";
inline constexpr const char* paper_models_folder = "RDM_taskonomy_bonner50";
inline constexpr const char* paper_rois_folder = "kastner_ROIs_RDMs_pearson";
inline constexpr const char* paper_labels_file = "ROIfiles_Labeling.txt";

struct directory_entry {
  std::string name;
  bool directory = false;
  bool regular = false;
};

/// The entries of a directory sorted by name (symbolic links followed for their type).
[[nodiscard]] inline std::vector<directory_entry> list_directory(const std::filesystem::path& dir,
                                                                 const char* function) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::directory_iterator it(dir, error);
  if (error)
    throw_io_error(function,
                   concat("cannot list the directory '", dir.string(), "': ", error.message()));
  std::vector<directory_entry> out;
  for (; it != fs::directory_iterator(); it.increment(error)) {
    std::error_code ignored;
    const fs::file_status status = fs::status(it->path(), ignored);
    out.push_back(
        {it->path().filename().string(), fs::is_directory(status), fs::is_regular_file(status)});
  }
  if (error)
    throw_io_error(function,
                   concat("cannot list the directory '", dir.string(), "': ", error.message()));
  std::sort(out.begin(), out.end(),
            [](const directory_entry& a, const directory_entry& b) { return a.name < b.name; });
  return out;
}

[[nodiscard]] inline bool is_folder(const std::filesystem::path& path) {
  std::error_code ignored;
  return std::filesystem::is_directory(path, ignored);
}

[[nodiscard]] inline bool path_exists(const std::filesystem::path& path) {
  std::error_code ignored;
  return std::filesystem::exists(path, ignored);
}

/// Checks the n × n row-major matrix `a` (finite or, with allow_nan, NaN mirrored by NaN and a
/// diagonal of 0 or NaN; symmetric with a zero diagonal within tolerance · max(1, max |a|)) and
/// writes its upper triangle in pdist order to out. Returns "" or what is wrong.
template <typename S, typename O>
[[nodiscard]] std::string condense_square(const S* a, std::size_t n, double tolerance,
                                          bool allow_nan, O* out) {
  double scale = 1.0;
  for (std::size_t k = 0; k < n * n; ++k) {
    const auto v = static_cast<double>(a[k]);
    if (std::isfinite(v))
      scale = std::max(scale, std::abs(v));
    else if (!(allow_nan && std::isnan(v)))
      return concat("expected finite dissimilarities", allow_nan ? " or NaN" : "", ", got ", v,
                    " at (", k / n, ", ", k % n, ")");
  }
  const double tol = tolerance * scale;
  std::size_t p = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto diagonal = static_cast<double>(a[i * n + i]);
    if (!(std::abs(diagonal) <= tol) && !(allow_nan && std::isnan(diagonal)))
      return concat("expected a zero diagonal (tolerance ", tol, "), got ", diagonal, " at (", i,
                    ", ", i, ")");
    for (std::size_t j = i + 1; j < n; ++j) {
      const auto upper = static_cast<double>(a[i * n + j]);
      const auto lower = static_cast<double>(a[j * n + i]);
      if (!(std::isnan(upper) && std::isnan(lower)) && !(std::abs(upper - lower) <= tol))
        return concat("expected a symmetric matrix (tolerance ", tol, "), got (", i, ", ", j,
                      ") = ", upper, " but (", j, ", ", i, ") = ", lower);
      out[p++] = static_cast<O>(a[i * n + j]);
    }
  }
  return {};
}

/// Whether `name` can be one file or folder name of a dataset: not empty, no '/' or NUL, not
/// hidden (a leading '.', which readers skip).
[[nodiscard]] inline bool is_dataset_name(std::string_view name) noexcept {
  return !name.empty() && name.front() != '.' && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

[[nodiscard]] inline std::string trim_spaces(std::string_view text) {
  constexpr std::string_view spaces = " \t";
  const std::size_t first = text.find_first_not_of(spaces);
  if (first == std::string_view::npos) return {};
  return std::string(text.substr(first, text.find_last_not_of(spaces) - first + 1));
}

[[nodiscard]] inline std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out.append(out.empty() ? "'" : ", '").append(n) += '\'';
  return out.empty() ? "none" : out;
}

/// The state of one read_dataset() call: where it reads, what it has read, and its errors, which
/// name the file ("dnn2brain::read_dataset: '<root>/<file>': ...").
class dataset_reader {
 public:
  dataset_reader(std::filesystem::path root, const read_dataset_options& options,
                 dataset_layout layout)
      : m_options(options) {
    out.root = std::move(root);
    out.layout = layout;
  }

  template <typename... Parts>
  [[noreturn]] DNN2BRAIN_COLD void fail(const std::filesystem::path& relative,
                                        const Parts&... parts) const {
    throw_io_error("read_dataset", concat(quoted(path(relative)), ": ", parts...));
  }

  [[nodiscard]] std::filesystem::path path(const std::filesystem::path& relative) const {
    return relative.empty() ? out.root : out.root / relative;
  }
  [[nodiscard]] const read_dataset_options& options() const noexcept { return m_options; }

  /// Records a file as read (provenance).
  void record(const std::filesystem::path& relative) {
    std::error_code error;
    const std::uintmax_t bytes = std::filesystem::file_size(path(relative), error);
    out.files.push_back({relative, error ? 0 : bytes});
  }
  /// The whole of a (small) text file, recorded.
  [[nodiscard]] std::string read_text(const std::filesystem::path& relative) {
    std::string text = read_whole_file(path(relative), {"read_dataset", quoted(path(relative))});
    record(relative);
    return text;
  }
  void skip(const std::filesystem::path& relative, std::string reason) {
    out.skipped.push_back({relative, std::move(reason)});
  }

  /// The regular files and folders of a folder of the dataset; hidden entries (a leading '.',
  /// such as a writer's temporaries) are skipped and recorded.
  [[nodiscard]] std::vector<directory_entry> list(const std::filesystem::path& relative) {
    std::vector<directory_entry> entries = list_directory(path(relative), "read_dataset");
    std::erase_if(entries, [&](const directory_entry& e) {
      if (!e.name.starts_with('.')) return false;
      skip(relative / e.name, "hidden");
      return true;
    });
    return entries;
  }

  /// Checks that an RDM file is over the dataset's conditions (the first file read sets them).
  void check_conditions(index_t n, const std::filesystem::path& relative) {
    if (m_conditions == 0) {
      m_conditions = n;
      m_conditions_file = relative;
    } else if (n != m_conditions) {
      fail(relative, "expected RDMs over ", m_conditions, " conditions (as '",
           m_conditions_file.string(), "'), got ", n);
    }
  }
  [[nodiscard]] index_t conditions() const noexcept { return m_conditions; }

  /// Runs f, turning an invalid_argument (from model_set, roi_set, brain_mask, ...) into an
  /// io_error naming the file.
  template <typename F>
  void about(const std::filesystem::path& relative, F&& f) const {
    try {
      std::forward<F>(f)();
    } catch (const invalid_argument& e) {
      fail(relative, e.what());
    }
  }

  /// An RDM file's n × n matrix (row-major at `a`) as a condensed RDM, checked.
  template <typename S>
  [[nodiscard]] Eigen::VectorXd condense(const S* a, std::size_t n,
                                         const std::filesystem::path& relative,
                                         std::string_view which = {}) const {
    Eigen::VectorXd condensed(condensed_size(index_t(n)));
    const std::string problem = condense_square(a, n, m_options.tolerance, false, condensed.data());
    if (!problem.empty()) fail(relative, problem, which);
    return condensed;
  }

  dataset out;

 private:
  read_dataset_options m_options;
  index_t m_conditions = 0;
  std::filesystem::path m_conditions_file;
};

inline void check_read_options(const read_dataset_options& options) {
  for (const auto* list : {&options.models, &options.layers})
    for (std::size_t k = 0; k < list->size(); ++k) {
      const std::string& name = (*list)[k];
      if (!is_dataset_name(name) || std::find(list->begin(), list->begin() + std::ptrdiff_t(k),
                                              name) != list->begin() + std::ptrdiff_t(k))
        throw_invalid_argument(
            "read_dataset",
            concat("expected distinct ", list == &options.models ? "model" : "layer",
                   " names usable as file names, got '", name, "'"));
    }
  if (!(options.tolerance >= 0.0))
    throw_invalid_argument("read_dataset",
                           concat("expected tolerance >= 0, got ", options.tolerance));
}

/// stimuli.txt: one name per line (LF or CRLF), the last line end optional.
inline void read_stimuli(dataset_reader& r) {
  const std::filesystem::path file = "stimuli.txt";
  if (!path_exists(r.path(file))) return;
  std::string text = r.read_text(file);
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
  std::size_t pos = 0, line = 1;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string name = text.substr(pos, end - pos);
    if (name.ends_with('\r')) name.pop_back();
    if (name.empty())
      r.fail(file, "expected one condition name per line, got an empty line ", line);
    r.out.stimuli.push_back(std::move(name));
    pos = end + 1;
    ++line;
  }
  if (r.conditions() > 0 && index_t(r.out.stimuli.size()) != r.conditions())
    r.fail(file, "expected ", r.conditions(), " condition names (the RDMs' conditions), got ",
           r.out.stimuli.size());
}

/// One RDM from an .npy file of dnn2brain's layout: (n, n) square or (pairs,) condensed.
inline Eigen::VectorXd read_model_npy(dataset_reader& r, const std::filesystem::path& file) {
  const npy_array<double> a = read_npy<double>(r.path(file));
  r.record(file);
  if (a.dimension() == 2 && a.shape()[0] == a.shape()[1] && a.shape()[0] >= 3) {
    r.check_conditions(index_t(a.shape()[0]), file);
    return r.condense(a.data(), a.shape()[0], file);
  }
  const index_t n = a.dimension() == 1 ? condensed_conditions(index_t(a.size())) : 0;
  if (n < 3)
    r.fail(file,
           "expected a square RDM (n, n) or a condensed one (n(n-1)/2,) of at least 3 "
           "conditions, got shape ",
           shape_repr(std::vector<std::size_t>(a.shape().begin(), a.shape().end())));
  r.check_conditions(n, file);
  Eigen::VectorXd condensed(a.size());
  std::copy(a.begin(), a.end(), condensed.data());
  return condensed;
}

/// models/groups.json: {"groups": [{"name": "2D", "members": ["edge2d", ...]}, ...]}.
inline void read_groups_json(dataset_reader& r, const std::filesystem::path& file) {
  const std::string text = r.read_text(file);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    r.fail(file, "expected JSON, got: ", e.what());
  }
  const auto schema = [&](const std::string& got) {
    r.fail(file,
           "expected {\"groups\": [{\"name\": \"<group>\", \"members\": [\"<model>\", ...]}, "
           "...]}, got ",
           got);
  };
  if (!doc.is_object()) schema(std::string("a JSON ") + doc.type_name());
  if (!doc.contains("groups") || doc.size() != 1) {
    std::vector<std::string> keys;
    for (const auto& item : doc.items()) keys.push_back(item.key());
    schema("an object with the keys " + join(keys));
  }
  const nlohmann::json& groups = doc.at("groups");
  if (!groups.is_array()) schema(std::string("\"groups\" as a JSON ") + groups.type_name());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const nlohmann::json& group = groups.at(g);
    if (!group.is_object() || group.size() != 2 || !group.contains("name") ||
        !group.contains("members") || !group.at("name").is_string() ||
        !group.at("members").is_array())
      schema(concat("group ", g, " as ", group.dump()));
    const auto name = group.at("name").get<std::string>();
    std::vector<std::string> members;
    for (const auto& member : group.at("members")) {
      if (!member.is_string()) schema(concat("a member ", member.dump(), " in group '", name, "'"));
      members.push_back(member.get<std::string>());
      const std::vector<std::string>& models = r.out.models.names();
      if (std::find(models.begin(), models.end(), members.back()) == models.end())
        r.fail(file, "expected members that are models read from models/ (", join(models),
               "), got '", members.back(), "' in group '", name,
               "'; read without groups (options.groups = false) to leave them out");
    }
    r.about(file, [&] { r.out.models.add_group(name, members); });
  }
}

inline void read_our_models(dataset_reader& r) {
  namespace fs = std::filesystem;
  const fs::path folder = our_models_folder;
  const read_dataset_options& options = r.options();
  std::vector<std::string> models;
  bool has_groups = false;
  for (const directory_entry& e : r.list(folder)) {
    if (e.directory) {
      models.push_back(e.name);
    } else if (e.name == "groups.json" && e.regular) {
      has_groups = true;
    } else {
      r.skip(folder / e.name, "not a model folder");
    }
  }
  if (!options.models.empty()) {
    for (const std::string& m : options.models)
      if (std::find(models.begin(), models.end(), m) == models.end())
        r.fail(folder / m, "expected the folder of requested model '", m,
               "', got none (models found: ", join(models), ")");
    for (const std::string& m : models)
      if (std::find(options.models.begin(), options.models.end(), m) == options.models.end())
        r.skip(folder / m, "model not requested");
    models = options.models;
  }
  if (models.empty())
    r.fail(folder,
           "expected at least one model folder models/<dnn>/ holding <layer>.npy files, "
           "got none");

  // Every model's layer files, by name.
  std::vector<std::vector<std::string>> files(models.size());
  for (std::size_t d = 0; d < models.size(); ++d)
    for (const directory_entry& e : r.list(folder / models[d])) {
      if (e.regular && e.name.ends_with(".npy") && e.name.size() > 4)
        files[d].push_back(e.name.substr(0, e.name.size() - 4));
      else
        r.skip(folder / models[d] / e.name, "not a layer .npy file");
    }
  std::vector<std::string> layers = options.layers;
  if (layers.empty()) {
    layers = files.front();  // sorted
    if (layers.empty())
      r.fail(folder / models.front(), "expected layer files <layer>.npy, got none");
    for (std::size_t d = 1; d < models.size(); ++d)
      if (files[d] != layers)
        r.fail(folder / models[d], "expected the layers of '", models.front(), "' (", join(layers),
               "): every model needs the same layer files, got ", join(files[d]));
  }
  for (std::size_t d = 0; d < models.size(); ++d) {
    for (const std::string& layer : layers)
      if (std::find(files[d].begin(), files[d].end(), layer) == files[d].end())
        r.fail(folder / models[d] / (layer + ".npy"), "expected the RDM of layer '", layer,
               "' of model '", models[d], "', got no such file");
    for (const std::string& layer : files[d])
      if (std::find(layers.begin(), layers.end(), layer) == layers.end())
        r.skip(folder / models[d] / (layer + ".npy"), "layer not requested");
  }

  r.out.models = model_set(layers);
  for (const std::string& model : models)
    for (const std::string& layer : layers) {
      const fs::path file = folder / model / (layer + ".npy");
      const Eigen::VectorXd condensed = read_model_npy(r, file);
      r.about(file, [&] { r.out.models.add_layer(model, layer, rdm<double>(condensed)); });
    }
  if (has_groups) {
    if (options.groups)
      read_groups_json(r, folder / "groups.json");
    else
      r.skip(folder / "groups.json", "options.groups is false");
  }
}

/// rois/<roi>.npy: (subjects, n, n) or (subjects, pairs).
inline void read_our_rois(dataset_reader& r) {
  namespace fs = std::filesystem;
  const fs::path folder = "rois";
  if (!is_folder(r.path(folder))) return;
  for (const directory_entry& e : r.list(folder)) {
    const fs::path file = folder / e.name;
    if (!e.regular || !e.name.ends_with(".npy") || e.name.size() == 4) {
      r.skip(file, "not an ROI .npy file");
      continue;
    }
    const std::string name = e.name.substr(0, e.name.size() - 4);
    const npy_array<double> a = read_npy<double>(r.path(file));
    r.record(file);
    const std::vector<std::size_t> shape(a.shape().begin(), a.shape().end());
    rdm_stack<double> subjects;
    if (shape.size() == 3 && shape[1] == shape[2] && shape[0] >= 1 && shape[1] >= 3) {
      const std::size_t n = shape[1];
      r.check_conditions(index_t(n), file);
      subjects = rdm_stack<double>(index_t(n), index_t(shape[0]));
      for (std::size_t s = 0; s < shape[0]; ++s)
        subjects.column(index_t(s)) =
            r.condense(a.data() + s * n * n, n, file, concat(" in subject ", s));
    } else {
      const index_t n = shape.size() == 2 ? condensed_conditions(index_t(shape[1])) : 0;
      if (n < 3 || shape[0] < 1)
        r.fail(file,
               "expected (subjects, n, n) square or (subjects, n(n-1)/2) condensed RDMs of at "
               "least 3 conditions and 1 subject, got shape ",
               shape_repr(shape));
      r.check_conditions(n, file);
      subjects = rdm_stack<double>(n, index_t(shape[0]));
      for (std::size_t s = 0; s < shape[0]; ++s)
        for (std::size_t p = 0; p < shape[1]; ++p)
          subjects.column(index_t(s))[index_t(p)] = a(s, p);
    }
    r.about(file, [&] { r.out.rois.add(name, subjects); });
    r.out.roi_display_names.push_back(name);
  }
}

/// A 1-D .npy of one value per searchlight.
inline Eigen::VectorXd read_ceiling(dataset_reader& r, const std::filesystem::path& file,
                                    index_t searchlights) {
  const npy_array<double> a = read_npy<double>(r.path(file));
  r.record(file);
  if (a.dimension() != 1 || index_t(a.size()) != searchlights)
    r.fail(file, "expected one noise ceiling per searchlight, shape (", searchlights,
           ",), got shape ",
           shape_repr(std::vector<std::size_t>(a.shape().begin(), a.shape().end())));
  Eigen::VectorXd values(a.size());
  std::copy(a.begin(), a.end(), values.data());
  return values;
}

/// noise_ceiling_lower.npy and noise_ceiling_upper.npy in `folder`: both or neither.
inline void read_ceiling_pair(dataset_reader& r, const std::filesystem::path& folder,
                              index_t searchlights) {
  const std::filesystem::path lower = folder / "noise_ceiling_lower.npy",
                              upper = folder / "noise_ceiling_upper.npy";
  const bool has_lower = path_exists(r.path(lower)), has_upper = path_exists(r.path(upper));
  if (has_lower != has_upper)
    r.fail(has_lower ? upper : lower, "expected the noise ceiling's ",
           has_lower ? "upper" : "lower", " bound next to its ", has_lower ? "lower" : "upper",
           " bound, got no such file");
  if (!has_lower) return;
  searchlight_noise_ceiling ceiling;
  ceiling.lower = read_ceiling(r, lower, searchlights);
  ceiling.upper = read_ceiling(r, upper, searchlights);
  r.out.noise_ceiling = std::move(ceiling);
}

/// searchlight/rdms.npy (subjects, centres, pairs), searchlight/neighbor_table.bin and the mask
/// the table was made on, searchlight/mask.nii.gz (or .nii).
inline void read_our_searchlight_rdms(dataset_reader& r) {
  namespace fs = std::filesystem;
  const fs::path folder = "searchlight", file = folder / "rdms.npy",
                 table_file = folder / "neighbor_table.bin";
  std::vector<std::string> masks;
  for (const directory_entry& e : r.list(folder)) {
    if (e.regular && (e.name == "mask.nii.gz" || e.name == "mask.nii"))
      masks.push_back(e.name);
    else if (e.name != "rdms.npy" && e.name != "neighbor_table.bin" &&
             e.name != "noise_ceiling_lower.npy" && e.name != "noise_ceiling_upper.npy")
      r.skip(folder / e.name, "not a searchlight file");
  }
  if (!path_exists(r.path(file)))
    r.fail(file,
           "expected the searchlight RDMs (subjects, centres, pairs) in searchlight/, got "
           "no such file");
  if (!path_exists(r.path(table_file)))
    r.fail(table_file, "expected the neighbour table (io::save_neighbor_table) next to '",
           file.string(), "', got no such file");
  if (masks.empty())
    r.fail(folder / "mask.nii.gz", "expected the brain mask the neighbour table '",
           table_file.string(), "' was made on, mask.nii.gz or mask.nii, got no such file");
  if (masks.size() > 1)
    r.fail(folder / masks.back(), "expected one brain mask, mask.nii.gz or mask.nii, got '",
           (folder / masks.front()).string(), "' too");
  npy_reader reader(r.path(file));
  r.record(file);
  const std::vector<std::size_t>& shape = reader.shape();
  const index_t n = shape.size() == 3 ? condensed_conditions(index_t(shape[2])) : 0;
  if (n < 3 || shape[0] < 1)
    r.fail(file,
           "expected condensed searchlight RDMs of shape (subjects, centres, n(n-1)/2), at least "
           "1 subject and 3 conditions, got shape ",
           shape_repr(shape));
  r.check_conditions(n, file);
  searchlight_rdm_input input;
  input.table = load_neighbor_table(r.path(table_file));
  r.record(table_file);
  const std::size_t centres = shape[1], pairs = shape[2];
  if (std::size_t(input.table.size()) != centres)
    r.fail(table_file, "expected a table of the ", centres, " searchlight centres of '",
           file.string(), "', got ", input.table.size());
  // The mask is kept on the table's grid exactly: painting compares the two without tolerance,
  // and NIfTI-1 stores the affine in float32.
  const fs::path mask_file = folder / masks.front();
  const nifti_image<float> mask_image = read_nifti_volume<float>(r.path(mask_file));
  r.record(mask_file);
  const volume_geometry& grid = input.table.geometry();
  const bool same_shape = mask_image.geometry.shape == grid.shape;
  const double difference =
      same_shape ? (mask_image.geometry.affine - grid.affine).cwiseAbs().maxCoeff() : 0.0;
  if (same_shape) r.about(mask_file, [&] { input.mask = brain_mask(mask_image.data, grid); });
  if (!same_shape || !(difference <= brain_mask::affine_tolerance) ||
      input.mask.size() != input.table.mask_voxels()) {
    const auto& got = mask_image.geometry.shape;
    r.fail(mask_file, "expected the mask the neighbour table '", table_file.string(),
           "' was made on (shape ", grid.shape[0], " x ", grid.shape[1], " x ", grid.shape[2], ", ",
           input.table.mask_voxels(), " voxels, the table's affine within ",
           brain_mask::affine_tolerance, " mm), got shape ", got[0], " x ", got[1], " x ", got[2],
           same_shape ? concat(", ", input.mask.size(), " voxels, affines that differ by ",
                               difference, " mm")
                      : std::string());
  }
  for (std::size_t s = 0; s < shape[0]; ++s) {
    // Subject s's centres × pairs, C order, is the stack's pairs × centres, column-major.
    rdm_stack<float> stack(n, index_t(centres));
    reader.read_into<float>(s * centres * pairs,
                            std::span<float>(stack.values().data(), centres * pairs));
    input.subjects.push_back(std::move(stack));
  }
  read_ceiling_pair(r, folder, index_t(centres));
  r.out.searchlight = std::move(input);
}

/// fmri/sub-<label>_betas.nii.gz (or .nii): 4-D, one volume per condition; fmri/mask.nii.gz.
inline void read_our_betas(dataset_reader& r) {
  namespace fs = std::filesystem;
  const fs::path folder = "fmri";
  std::vector<std::pair<std::string, std::string>> subjects;  // label, file name
  std::vector<std::string> masks;
  for (const directory_entry& e : r.list(folder)) {
    if (e.regular && (e.name == "mask.nii.gz" || e.name == "mask.nii")) {
      masks.push_back(e.name);
      continue;
    }
    std::string label;
    for (const std::string_view end : {"_betas.nii.gz", "_betas.nii"})
      if (e.regular && e.name.starts_with("sub-") && e.name.ends_with(end) &&
          e.name.size() > 4 + end.size())
        label = e.name.substr(4, e.name.size() - 4 - end.size());
    if (label.empty()) {
      r.skip(folder / e.name, "not sub-<label>_betas.nii[.gz] or mask.nii[.gz]");
      continue;
    }
    for (const auto& [other, name] : subjects)
      if (other == label)
        r.fail(folder / e.name, "expected one betas file per subject, got '", name,
               "' too for subject '", label, "'");
    subjects.emplace_back(label, e.name);
  }
  if (masks.size() != 1)
    r.fail(folder / "mask.nii.gz", "expected one brain mask, mask.nii.gz or mask.nii, got ",
           masks.empty() ? "none" : "both");
  if (subjects.empty()) r.fail(folder, "expected subject betas sub-<label>_betas.nii.gz, got none");
  std::sort(subjects.begin(), subjects.end());
  searchlight_beta_input input;
  const fs::path mask_file = folder / masks.front();
  const nifti_image<float> mask = read_nifti_volume<float>(r.path(mask_file));
  r.record(mask_file);
  r.about(mask_file, [&] { input.mask = brain_mask(mask); });
  for (const auto& [label, name] : subjects) {
    const fs::path file = folder / name;
    const nifti_image<float> series = read_nifti_series<float>(r.path(file));
    r.record(file);
    if (r.conditions() > 0 && index_t(series.shape[3]) != r.conditions())
      r.fail(file, "expected one volume per condition, ", r.conditions(), ", got ",
             series.shape[3]);
    r.about(file, [&] { input.subjects.push_back(input.mask.apply<float>(series)); });
    input.labels.push_back(label);
  }
  r.out.searchlight = std::move(input);
}

inline void read_our_searchlight(dataset_reader& r) {
  const bool rdms = is_folder(r.path("searchlight")), betas = is_folder(r.path("fmri"));
  if (rdms && betas)
    r.fail("",
           "expected searchlight input in searchlight/ (precomputed RDMs) or in fmri/ "
           "(betas), got both; remove one, or read without searchlights (options.searchlight "
           "= false)");
  if (rdms) read_our_searchlight_rdms(r);
  if (betas) read_our_betas(r);
}

[[nodiscard]] inline dataset read_our_dataset(dataset_reader& r) {
  read_our_models(r);
  read_our_rois(r);
  if (r.options().searchlight) read_our_searchlight(r);
  read_stimuli(r);
  return std::move(r.out);
}

// --- the paper's data.zip ----------------------------------------------------------------------

/// The (task, layer) of a Taskonomy RDM file stem: <task>_<layer>, <task>_encoder_<layer> or
/// <task>_feedforward_encoder_<layer>, layer one of `layers`, matched exactly. Returns the
/// indices of every layer the stem could end with (more than one is ambiguous) and the task.
[[nodiscard]] inline std::vector<std::pair<std::size_t, std::string>> parse_paper_stem(
    std::string_view stem, const std::vector<std::string>& layers) {
  std::vector<std::pair<std::size_t, std::string>> matches;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const std::string suffix = "_" + layers[l];
    if (!stem.ends_with(suffix) || stem.size() == suffix.size()) continue;
    std::string_view task = stem.substr(0, stem.size() - suffix.size());
    for (const std::string_view form : {"_feedforward_encoder", "_encoder"})
      if (task.ends_with(form) && task.size() > form.size()) {
        task.remove_suffix(form.size());
        break;
      }
    matches.emplace_back(l, std::string(task));
  }
  return matches;
}

inline void read_paper_models(dataset_reader& r) {
  namespace fs = std::filesystem;
  const fs::path folder = paper_models_folder;
  const read_dataset_options& options = r.options();
  std::vector<std::string> layers = options.layers;
  if (layers.empty()) layers.assign(paper::layers.begin(), paper::layers.end());

  struct task_files {
    std::string task;
    std::vector<std::string> files;  // per layer, "" when missing
  };
  std::vector<task_files> found;
  for (const directory_entry& e : r.list(folder)) {
    const fs::path file = folder / e.name;
    if (!e.regular || !e.name.ends_with(".mat") || e.name.size() == 4) {
      r.skip(file, "not a .mat file");
      continue;
    }
    const auto matches =
        parse_paper_stem(std::string_view(e.name).substr(0, e.name.size() - 4), layers);
    if (matches.empty()) {
      r.skip(file, "not <task>_[encoder_|feedforward_encoder_]<layer>.mat of a requested layer");
      continue;
    }
    if (matches.size() > 1)
      r.fail(file, "expected a name that ends with one requested layer, got one that ends with '",
             layers[matches[0].first], "' and '", layers[matches[1].first], "'");
    const std::size_t layer = matches.front().first;
    const std::string& task = matches.front().second;
    if (!options.models.empty() &&
        std::find(options.models.begin(), options.models.end(), task) == options.models.end()) {
      r.skip(file, "task '" + task + "' not requested");
      continue;
    }
    auto it = std::find_if(found.begin(), found.end(),
                           [&](const task_files& t) { return t.task == task; });
    if (it == found.end()) {
      found.push_back({task, std::vector<std::string>(layers.size())});
      it = found.end() - 1;
    }
    if (!it->files[layer].empty())
      r.fail(file, "expected one file for task '", task, "' and layer '", layers[layer], "', got '",
             (folder / it->files[layer]).string(), "' too");
    it->files[layer] = e.name;
  }

  // Order: options.models, else paper::tasks then the other tasks sorted.
  std::vector<std::string> tasks = options.models;
  if (tasks.empty()) {
    for (const std::string_view t : paper::tasks)
      if (std::any_of(found.begin(), found.end(), [&](const task_files& f) { return f.task == t; }))
        tasks.emplace_back(t);
    std::vector<std::string> others;
    for (const task_files& f : found)
      if (std::find(paper::tasks.begin(), paper::tasks.end(), f.task) == paper::tasks.end())
        others.push_back(f.task);
    std::sort(others.begin(), others.end());
    tasks.insert(tasks.end(), others.begin(), others.end());
  }
  if (tasks.empty())
    r.fail(folder, "expected Taskonomy RDM files <task>_<layer>.mat for the layers ", join(layers),
           ", got none");
  r.out.models = model_set(layers);
  for (const std::string& task : tasks) {
    const auto it = std::find_if(found.begin(), found.end(),
                                 [&](const task_files& t) { return t.task == task; });
    if (it == found.end())
      r.fail(folder, "expected files <task>_<layer>.mat for the requested task '", task,
             "', got none");
    for (std::size_t l = 0; l < layers.size(); ++l)
      if (it->files[l].empty()) {
        std::vector<std::string> have;
        for (const std::string& f : it->files)
          if (!f.empty()) have.push_back(f);
        r.fail(folder / (task + "_" + layers[l] + ".mat"), "expected the layer '", layers[l],
               "' of task '", task, "' (as <task>_[encoder_|feedforward_encoder_]", layers[l],
               ".mat) next to ", join(have), ", got no such file");
      }
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const fs::path file = folder / it->files[l];
      const xt::xarray<double> a = mat_file(r.path(file)).read("rdm").array<double>();
      r.record(file);
      if (a.dimension() != 2 || a.shape()[0] != a.shape()[1] || a.shape()[0] < 3)
        r.fail(file, "expected variable 'rdm' as a square n x n matrix, n >= 3, got shape ",
               shape_repr(std::vector<std::size_t>(a.shape().begin(), a.shape().end())));
      r.check_conditions(index_t(a.shape()[0]), file);
      const Eigen::VectorXd condensed = r.condense(a.data(), a.shape()[0], file);  // row-major
      r.about(file, [&] { r.out.models.add_layer(task, layers[l], rdm<double>(condensed)); });
    }
  }
  if (!options.groups) return;
  // The paper's groups: a group is formed when all its members were read, left out when none
  // was; a group with some members missing is refused (the paper divided its sum by the nominal
  // group size).
  for (const paper::task_group& group : paper::task_groups()) {
    std::vector<std::string> present, missing;
    for (const std::string_view member : group.members)
      (std::find(tasks.begin(), tasks.end(), member) != tasks.end() ? present : missing)
          .emplace_back(member);
    if (present.empty()) continue;
    if (!missing.empty())
      r.fail(folder, "expected every member of the paper's group '", group.name,
             "' (its mean RDM averages them), got no files for ", join(missing),
             "; read without groups (options.groups = false) or with all its members");
    r.about(folder, [&] { r.out.models.add_group(group.name, present); });
  }
}

inline void read_paper_rois(dataset_reader& r) {
  namespace fs = std::filesystem;
  const fs::path folder = paper_rois_folder, labels_file = paper_labels_file;
  const bool has_folder = is_folder(r.path(folder)), has_labels = path_exists(r.path(labels_file));
  if (!has_folder && !has_labels) return;
  if (!has_labels)
    r.fail(labels_file, "expected the ROI list (a CSV with a column 'roi') next to '",
           folder.string(), "/', got no such file");
  if (!has_folder)
    r.fail(folder, "expected the ROI RDMs <roi>.mat of the ROIs in '", labels_file.string(),
           "', got no such folder");
  const csv_table labels = read_csv(r.path(labels_file));
  r.record(labels_file);
  const std::size_t column = labels.column("roi");
  const std::vector<directory_entry> entries = r.list(folder);
  std::vector<std::string> used;
  for (std::size_t row = 0; row < labels.rows(); ++row) {
    const std::string& name = labels.at(row, column);
    const auto where = [&] {
      return concat(" (line ", labels.line(row), " of '", labels_file.string(), "')");
    };
    if (!is_dataset_name(name))
      r.fail(labels_file, "expected an ROI name usable as a file name, got '", name, "' on line ",
             labels.line(row));
    if (std::find(used.begin(), used.end(), name) != used.end())
      r.fail(labels_file, "expected each ROI once, got '", name, "' again on line ",
             labels.line(row));
    used.push_back(name);
    const fs::path file = folder / (name + ".mat");
    const bool present = std::any_of(entries.begin(), entries.end(), [&](const directory_entry& e) {
      return e.regular && e.name == name + ".mat";
    });
    if (!present) {
      // Names are matched exactly: say so when only the trimmed or the untrimmed name is there.
      std::string hint;
      for (const directory_entry& e : entries)
        if (e.name != name + ".mat" && e.name.ends_with(".mat") &&
            trim_spaces(e.name.substr(0, e.name.size() - 4)) == trim_spaces(name))
          hint = concat(" (there is '", e.name, "': names are matched exactly, spaces included)");
      r.fail(file, "expected the RDMs of ROI '", name, "'", where(), ", got no such file", hint);
    }
    const xt::xarray<double> a = mat_file(r.path(file)).read("subject_rdm").array<double>();
    r.record(file);
    const std::vector<std::size_t> shape(a.shape().begin(), a.shape().end());
    if (shape.size() != 3 || shape[1] != shape[2] || shape[1] < 3 || shape[0] < 1)
      r.fail(file, "expected variable 'subject_rdm' of shape (subjects, n, n), n >= 3, got shape ",
             shape_repr(shape));
    const std::size_t n = shape[1];
    r.check_conditions(index_t(n), file);
    rdm_stack<double> subjects{index_t(n), index_t(shape[0])};
    for (std::size_t s = 0; s < shape[0]; ++s)
      subjects.column(index_t(s)) =
          r.condense(a.data() + s * n * n, n, file, concat(" in subject ", s));  // row-major
    r.about(file, [&] { r.out.rois.add(name, subjects); });
    r.out.roi_display_names.push_back(trim_spaces(name));
  }
  for (const directory_entry& e : entries)
    if (std::none_of(used.begin(), used.end(),
                     [&](const std::string& n) { return e.name == n + ".mat"; }))
      r.skip(folder / e.name, "not an ROI of '" + labels_file.string() + "'");
}

/// sl_rad=<r>__max_blk_edge=<e>: the paper's block parameters, parsed exactly (decimal digits).
[[nodiscard]] inline std::optional<neighborhood::paper_blocks> parse_block_folder(
    std::string_view name) {
  constexpr std::string_view head = "sl_rad=", middle = "__max_blk_edge=";
  if (!name.starts_with(head)) return std::nullopt;
  const std::size_t split = name.find(middle);
  if (split == std::string_view::npos) return std::nullopt;
  const auto number = [](std::string_view digits) -> std::optional<int> {
    int value = 0;
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return value;
  };
  const auto radius = number(name.substr(head.size(), split - head.size()));
  const auto stride = number(name.substr(split + middle.size()));
  if (!radius || !stride || *stride < 1) return std::nullopt;
  return neighborhood::paper_blocks{*radius, *stride};
}

inline void read_paper_searchlight(dataset_reader& r) {
  namespace fs = std::filesystem;
  const read_dataset_options& options = r.options();
  std::vector<std::string> folders;
  for (const directory_entry& e : r.list("")) {
    if (!e.directory || !e.name.starts_with("sl_rad=")) continue;
    if (parse_block_folder(e.name))
      folders.push_back(e.name);
    else
      r.skip(e.name, "not sl_rad=<r>__max_blk_edge=<e> with whole numbers, edge >= 1");
  }
  std::string chosen = options.searchlight_folder;
  if (!chosen.empty()) {
    if (!parse_block_folder(chosen) || !is_folder(r.path(chosen)))
      r.fail(chosen, "expected the requested searchlight folder sl_rad=<r>__max_blk_edge=<e>, got ",
             parse_block_folder(chosen) ? "no such folder" : "another name");
  } else if (folders.size() > 1) {
    r.fail("", "expected one searchlight folder sl_rad=<r>__max_blk_edge=<e>, got ", join(folders),
           "; choose one with options.searchlight_folder");
  } else if (folders.empty()) {
    return;
  } else {
    chosen = folders.front();
  }
  for (const std::string& other : folders)
    if (other != chosen) r.skip(other, "searchlight folder not requested");
  const neighborhood::paper_blocks blocks = *parse_block_folder(chosen);
  const fs::path folder = chosen, file = folder / "all_sub_slrdms.npy", mask_file = "mask.nii";
  for (const directory_entry& e : r.list(folder))
    if (e.name != "all_sub_slrdms.npy" && e.name != "noise_ceiling_lower.npy" &&
        e.name != "noise_ceiling_upper.npy")
      r.skip(folder / e.name,
             e.name == "noise_ceiling.pkl"
                 ? "a Python pickle, not read: convert it to noise_ceiling_lower.npy and "
                   "noise_ceiling_upper.npy (docs/io.md)"
                 : "not a searchlight file");
  if (!path_exists(r.path(file)))
    r.fail(file, "expected the searchlight RDMs (subjects, searchlights, n, n), got no such file");
  if (!path_exists(r.path(mask_file)))
    r.fail(mask_file, "expected the mask that defines the searchlight blocks of '", folder.string(),
           "', got no such file");
  npy_reader reader(r.path(file));
  r.record(file);
  const std::vector<std::size_t> shape = reader.shape();
  if (shape.size() != 4 || shape[2] != shape[3] || shape[2] < 3 || shape[0] < 1)
    r.fail(file,
           "expected searchlight RDMs of shape (subjects, searchlights, n, n), n >= 3, at least 1 "
           "subject, got shape ",
           shape_repr(shape));
  const std::size_t n = shape[2], count = shape[1];
  r.check_conditions(index_t(n), file);

  const nifti_image<float> mask_image = read_nifti_volume<float>(r.path(mask_file));
  r.record(mask_file);
  searchlight_rdm_input input;
  r.about(mask_file, [&] {
    input.mask = brain_mask(mask_image);
    input.table = make_neighbor_table(input.mask, blocks);
  });
  if (std::size_t(input.table.size()) != count)
    r.fail(file, "expected the ", input.table.size(), " searchlights of '", mask_file.string(),
           "' under blocks of radius ", blocks.radius, " and stride ", blocks.stride, " (from '",
           folder.string(), "'), got ", count);

  // One subject at a time, in pieces of about 64 MiB of square RDMs.
  const std::size_t square = n * n;
  const std::size_t piece = std::max<std::size_t>(1, (std::size_t{64} << 20) / (square * 4));
  std::vector<float> buffer(std::min(piece, std::max<std::size_t>(count, 1)) * square);
  for (std::size_t s = 0; s < shape[0]; ++s) {
    rdm_stack<float> stack{index_t(n), index_t(count)};
    for (std::size_t first = 0; first < count; first += piece) {
      const std::size_t m = std::min(piece, count - first);
      reader.read_into<float>((s * count + first) * square,
                              std::span<float>(buffer.data(), m * square));
      for (std::size_t c = 0; c < m; ++c) {
        const std::string problem =
            condense_square(buffer.data() + c * square, n, options.tolerance, true,
                            stack.column(index_t(first + c)).data());
        if (!problem.empty()) r.fail(file, problem, " in subject ", s, ", searchlight ", first + c);
      }
    }
    input.subjects.push_back(std::move(stack));
  }
  read_ceiling_pair(r, folder, index_t(count));
  r.out.searchlight = std::move(input);
}

[[nodiscard]] inline dataset read_paper_dataset(dataset_reader& r) {
  read_paper_models(r);
  read_paper_rois(r);
  if (r.options().searchlight) read_paper_searchlight(r);
  return std::move(r.out);
}

}  // namespace detail

/// \brief Which layout the directory `dir` holds: dataset_layout::ours when it has a folder
/// models/, dataset_layout::paper when it has RDM_taskonomy_bonner50/.
/// \throws io_error if `dir` is not a directory, has both folders, or neither (listing what was
/// looked for, and pointing at `dir`/data when that folder holds a dataset).
[[nodiscard]] inline dataset_layout detect_layout(const std::filesystem::path& dir) {
  constexpr const char* function = "detect_layout";
  if (!detail::is_folder(dir))
    detail::throw_io_error(
        function, detail::concat("expected a dataset directory, got '", dir.string(), "', ",
                                 detail::path_exists(dir) ? "which is not a directory"
                                                          : "which does not exist"));
  const bool ours = detail::is_folder(dir / detail::our_models_folder);
  const bool paper = detail::is_folder(dir / detail::paper_models_folder);
  if (ours && paper)
    detail::throw_io_error(
        function,
        detail::concat("expected one dataset layout in '", dir.string(),
                       "', got both models/ "
                       "(dnn2brain's) and RDM_taskonomy_bonner50/ (the paper's); choose with "
                       "read_dataset_options::layout"));
  if (ours) return dataset_layout::ours;
  if (paper) return dataset_layout::paper;
  std::string hint;
  for (const char* folder : {detail::our_models_folder, detail::paper_models_folder})
    if (hint.empty() && detail::is_folder(dir / "data" / folder))
      hint =
          detail::concat(" ('", (dir / "data").string(), "' has ", folder, "/: read that folder)");
  detail::throw_io_error(
      function,
      detail::concat("expected a dataset directory holding models/<dnn>/<layer>.npy (dnn2brain's "
                     "layout, with rois/, searchlight/ or fmri/, stimuli.txt) or "
                     "RDM_taskonomy_bonner50/*.mat (the paper's data.zip, with "
                     "kastner_ROIs_RDMs_pearson/, ROIfiles_Labeling.txt, "
                     "sl_rad=<r>__max_blk_edge=<e>/, mask.nii), got neither in '",
                     dir.string(), "'", hint));
}

/// \brief Reads a dataset directory in dnn2brain's layout or the paper's (docs/io.md, "Datasets
/// on disk"; the layout from options.layout or detect_layout()).
///
/// Every RDM is checked as it is read: a square one symmetric with a zero diagonal within
/// options.tolerance (searchlight RDMs may hold NaN, mirrored), condensed lengths triangular,
/// and all over the same conditions (stimuli.txt names as many). Large searchlight files are
/// read one subject at a time into the result, never held twice.
/// \throws invalid_argument for invalid options (repeated or empty names, tolerance < 0).
/// \throws io_error naming the file for anything missing, malformed, inconsistent or ambiguous.
[[nodiscard]] inline dataset read_dataset(const std::filesystem::path& dir,
                                          const read_dataset_options& options = {}) {
  detail::check_read_options(options);
  const dataset_layout layout = options.layout ? *options.layout : detect_layout(dir);
  detail::dataset_reader reader(dir, options, layout);
  if (layout == dataset_layout::ours) {
    if (!detail::is_folder(reader.path(detail::our_models_folder)))
      reader.fail(detail::our_models_folder,
                  "expected the models folder of dnn2brain's layout, "
                  "got no such folder");
    return detail::read_our_dataset(reader);
  }
  if (!detail::is_folder(reader.path(detail::paper_models_folder)))
    reader.fail(detail::paper_models_folder,
                "expected the DNN RDM folder of the paper's layout, "
                "got no such folder");
  return detail::read_paper_dataset(reader);
}

namespace detail {

inline void check_dataset_name(std::string_view name, const char* what) {
  if (!is_dataset_name(name))
    throw_invalid_argument("write_dataset",
                           concat("expected ", what,
                                  " names usable as file names (not empty, no '/', no leading "
                                  "'.'), got '",
                                  name, "'"));
}

/// A 1-D or 2-D double array as .npy.
template <typename Derived>
void write_npy_matrix(const std::filesystem::path& path, const Eigen::MatrixBase<Derived>& values,
                      bool vector) {
  std::vector<std::size_t> shape;
  if (vector)
    shape = {std::size_t(values.size())};
  else
    shape = {std::size_t(values.rows()), std::size_t(values.cols())};
  xt::xarray<double, xt::layout_type::row_major> a =
      xt::xarray<double, xt::layout_type::row_major>::from_shape(shape);
  std::size_t k = 0;
  for (index_t i = 0; i < values.rows(); ++i)
    for (index_t j = 0; j < values.cols(); ++j) a.data()[k++] = double(values(i, j));
  write_npy(path, a);
}

/// A brain mask as a uint8 NIfTI volume (1 inside) with its geometry.
inline void write_mask_nifti(const std::filesystem::path& path, const brain_mask& mask) {
  const volume_geometry& geometry = mask.geometry();
  auto volume = xt::xarray<std::uint8_t, xt::layout_type::row_major>::from_shape(
      {geometry.shape[0], geometry.shape[1], geometry.shape[2]});
  volume.fill(0);
  for (const ijk& v : mask.voxels())
    volume(std::size_t(v.i), std::size_t(v.j), std::size_t(v.k)) = 1;
  write_nifti(path, volume, geometry);
}

}  // namespace detail

/// \brief Writes a dataset in dnn2brain's layout into `dir` (created; it must be new or empty),
/// every file atomically, so that read_dataset(dir) gives the same RDMs, groups, ROIs, stimuli,
/// searchlight input and noise ceilings back (models, layers and ROIs in name order: the layout
/// keeps no other order).
///
/// Files: models/<dnn>/<layer>.npy (condensed, float64), models/groups.json when there are
/// groups, rois/<roi>.npy (subjects, pairs) float64, stimuli.txt when there are names, and either
/// searchlight/rdms.npy (subjects, centres, pairs) float32 written subject by subject with
/// searchlight/neighbor_table.bin and searchlight/mask.nii.gz (uint8; and
/// noise_ceiling_lower.npy / noise_ceiling_upper.npy), or
/// fmri/mask.nii.gz (uint8) with fmri/sub-<label>_betas.nii.gz (float32, 0 outside the mask;
/// labels 01, 02, ... when none are given). NIfTI-1 stores the affine in float32. The dataset's
/// layout, root, display names and provenance are not written.
/// \throws invalid_argument for a dataset that cannot be written as one: no complete model set,
/// names that are not file names, stimuli or searchlight data that do not match the models'
/// conditions or each other, precomputed RDMs whose mask is not their table's (read_dataset's
/// rule: the table's shape and mask voxels, its affine within brain_mask::affine_tolerance), a
/// noise ceiling without precomputed RDMs.
/// \throws io_error if `dir` is not a new or empty directory, or a file cannot be written.
inline void write_dataset(const std::filesystem::path& dir, const dataset& data) {
  namespace fs = std::filesystem;
  constexpr const char* function = "write_dataset";
  // Everything is checked before the first file is written.
  data.models.check_complete(function);
  const index_t n = data.models.conditions(), pairs = data.models.pairs();
  for (const std::string& name : data.models.names()) detail::check_dataset_name(name, "model");
  for (const std::string& name : data.models.layers()) detail::check_dataset_name(name, "layer");
  for (const std::string& name : data.models.names())
    if (name == "groups.json")
      detail::throw_invalid_argument(function, "expected model names other than 'groups.json'");
  for (const std::string& name : data.rois.names()) detail::check_dataset_name(name, "ROI");
  if (data.rois.size() > 0 && data.rois.conditions() != n)
    detail::throw_invalid_argument(
        function, detail::concat("expected ROI RDMs over the models' ", n, " conditions, got ",
                                 data.rois.conditions()));
  if (!data.stimuli.empty() && index_t(data.stimuli.size()) != n)
    detail::throw_invalid_argument(
        function, detail::concat("expected ", n, " stimulus names (the models' conditions), got ",
                                 data.stimuli.size()));
  for (const std::string& name : data.stimuli)
    if (name.empty() || name.find_first_of("\r\n") != std::string::npos)
      detail::throw_invalid_argument(
          function,
          detail::concat("expected stimulus names without line breaks, got '", name, "'"));
  const auto* rdms = std::get_if<searchlight_rdm_input>(&data.searchlight);
  const auto* betas = std::get_if<searchlight_beta_input>(&data.searchlight);
  if (rdms != nullptr) {
    if (rdms->subjects.empty())
      detail::throw_invalid_argument(function,
                                     "expected searchlight RDMs of at least one "
                                     "subject, got none");
    for (std::size_t s = 0; s < rdms->subjects.size(); ++s)
      if (rdms->subjects[s].conditions() != n || rdms->subjects[s].size() != rdms->table.size())
        detail::throw_invalid_argument(
            function,
            detail::concat("expected every subject's searchlight RDMs over ", n, " conditions × ",
                           rdms->table.size(), " searchlights (the table's), got ",
                           rdms->subjects[s].conditions(), " × ", rdms->subjects[s].size(),
                           " for subject ", s));
    // read_dataset's rule: the table's shape and mask voxels, its affine within tolerance.
    const volume_geometry& grid = rdms->table.geometry();
    const volume_geometry& got = rdms->mask.geometry();
    if (!got.same_grid(grid, brain_mask::affine_tolerance) ||
        rdms->mask.size() != rdms->table.mask_voxels())
      detail::throw_invalid_argument(
          function,
          detail::concat("expected the searchlights' mask to be the one their table was made on "
                         "(shape ",
                         grid.shape[0], " x ", grid.shape[1], " x ", grid.shape[2], ", ",
                         rdms->table.mask_voxels(), " voxels, the table's affine within ",
                         brain_mask::affine_tolerance, " mm), got shape ", got.shape[0], " x ",
                         got.shape[1], " x ", got.shape[2], ", ", rdms->mask.size(),
                         " voxels, affines that differ by ",
                         (got.affine - grid.affine).cwiseAbs().maxCoeff(),
                         " mm; set searchlight_rdm_input::mask"));
  }
  std::vector<std::string> labels;
  if (betas != nullptr) {
    if (betas->subjects.empty())
      detail::throw_invalid_argument(function,
                                     "expected the betas of at least one subject, got "
                                     "none");
    labels = betas->labels;
    if (labels.empty()) {
      const std::size_t width =
          std::max<std::size_t>(2, std::to_string(betas->subjects.size()).size());
      for (std::size_t s = 1; s <= betas->subjects.size(); ++s) {
        std::string label = std::to_string(s);
        labels.push_back(std::string(width - label.size(), '0') + label);
      }
    }
    if (labels.size() != betas->subjects.size())
      detail::throw_invalid_argument(
          function, detail::concat("expected one label per subject, ", betas->subjects.size(),
                                   ", got ", labels.size()));
    for (std::size_t s = 0; s < labels.size(); ++s) {
      detail::check_dataset_name(labels[s], "subject label");
      if (std::find(labels.begin(), labels.begin() + std::ptrdiff_t(s), labels[s]) !=
          labels.begin() + std::ptrdiff_t(s))
        detail::throw_invalid_argument(
            function,
            detail::concat("expected distinct subject labels, got '", labels[s], "' twice"));
      const Eigen::MatrixXf& x = betas->subjects[s];
      if (x.rows() != n || x.cols() != betas->mask.size())
        detail::throw_invalid_argument(
            function, detail::concat("expected every subject's betas as ", n, " conditions × ",
                                     betas->mask.size(), " mask voxels, got ", x.rows(), " × ",
                                     x.cols(), " for subject '", labels[s], "'"));
    }
  }
  if (data.noise_ceiling) {
    if (rdms == nullptr)
      detail::throw_invalid_argument(function,
                                     "expected a noise ceiling only with precomputed "
                                     "searchlight RDMs, got one without");
    if (data.noise_ceiling->lower.size() != rdms->table.size() ||
        data.noise_ceiling->upper.size() != rdms->table.size())
      detail::throw_invalid_argument(
          function, detail::concat("expected noise ceilings for the ", rdms->table.size(),
                                   " searchlights, got ", data.noise_ceiling->lower.size(),
                                   " lower and ", data.noise_ceiling->upper.size(), " upper"));
  }
  std::string groups_json;
  if (data.models.group_count() > 0) {
    nlohmann::ordered_json groups = nlohmann::ordered_json::array();
    for (const model_group& g : data.models.groups())
      groups.push_back({{"name", g.name}, {"members", g.members}});
    try {
      groups_json = nlohmann::ordered_json{{"groups", groups}}.dump(2) + "\n";
    } catch (const nlohmann::json::exception& e) {
      detail::throw_invalid_argument(
          function, detail::concat("expected UTF-8 group and model names, got: ", e.what()));
    }
  }

  std::error_code error;
  if (detail::path_exists(dir)) {
    if (!detail::is_folder(dir))
      detail::throw_io_error(function, detail::concat("expected a new or empty directory, got '",
                                                      dir.string(), "', which is not a directory"));
    if (!fs::is_empty(dir, error) || error)
      detail::throw_io_error(
          function, detail::concat("expected a new or empty directory, got '", dir.string(), "'",
                                   error ? ": " + error.message() : ", which is not empty"));
  }
  const auto make = [&](const fs::path& folder) {
    fs::create_directories(folder, error);
    if (error)
      detail::throw_io_error(function, detail::concat("cannot create the directory '",
                                                      folder.string(), "': ", error.message()));
  };
  make(dir);

  for (index_t d = 0; d < data.models.size(); ++d) {
    const fs::path folder = dir / detail::our_models_folder / data.models.names()[std::size_t(d)];
    make(folder);
    const rdm_stack<double> layers = data.models.rdms(d);
    for (index_t l = 0; l < data.models.layer_count(); ++l)
      detail::write_npy_matrix(folder / (data.models.layers()[std::size_t(l)] + ".npy"),
                               layers.column(l), true);
  }
  if (!groups_json.empty())
    write_atomically(dir / detail::our_models_folder / "groups.json",
                     [&](std::ostream& out) { out << groups_json; });
  if (data.rois.size() > 0) make(dir / "rois");
  for (index_t r = 0; r < data.rois.size(); ++r)  // (subjects, pairs): one RDM per row
    detail::write_npy_matrix(dir / "rois" / (data.rois.names()[std::size_t(r)] + ".npy"),
                             data.rois.subject_rdms(r).values().transpose(), false);
  if (!data.stimuli.empty())
    write_atomically(dir / "stimuli.txt", [&](std::ostream& out) {
      for (const std::string& name : data.stimuli) out << name << '\n';
    });
  if (rdms != nullptr) {
    const fs::path folder = dir / "searchlight";
    make(folder);
    const std::vector<std::size_t> shape{rdms->subjects.size(), std::size_t(rdms->table.size()),
                                         std::size_t(pairs)};
    // Subject by subject: a stack's pairs × centres column-major is centres × pairs in C order.
    write_atomically(folder / "rdms.npy", [&](std::ostream& out) {
      const std::string header = detail::npy_header_block(detail::npy_descr<float>(), shape);
      out.write(header.data(), std::streamsize(header.size()));
      for (const rdm_stack<float>& stack : rdms->subjects)
        out.write(reinterpret_cast<const char*>(stack.values().data()),
                  std::streamsize(stack.values().size() * index_t(sizeof(float))));
    });
    save_neighbor_table(folder / "neighbor_table.bin", rdms->table);
    detail::write_mask_nifti(folder / "mask.nii.gz", rdms->mask);
    if (data.noise_ceiling) {
      detail::write_npy_matrix(folder / "noise_ceiling_lower.npy", data.noise_ceiling->lower, true);
      detail::write_npy_matrix(folder / "noise_ceiling_upper.npy", data.noise_ceiling->upper, true);
    }
  }
  if (betas != nullptr) {
    const fs::path folder = dir / "fmri";
    make(folder);
    const volume_geometry& geometry = betas->mask.geometry();
    const auto& voxels = betas->mask.voxels();
    detail::write_mask_nifti(folder / "mask.nii.gz", betas->mask);
    for (std::size_t s = 0; s < labels.size(); ++s) {
      const Eigen::MatrixXf& x = betas->subjects[s];
      auto volume = xt::xarray<float, xt::layout_type::row_major>::from_shape(
          {geometry.shape[0], geometry.shape[1], geometry.shape[2], std::size_t(n)});
      volume.fill(0.0f);
      for (std::size_t c = 0; c < voxels.size(); ++c)
        for (index_t t = 0; t < n; ++t)
          volume(std::size_t(voxels[c].i), std::size_t(voxels[c].j), std::size_t(voxels[c].k),
                 std::size_t(t)) = x(t, index_t(c));
      write_nifti(folder / ("sub-" + labels[s] + "_betas.nii.gz"), volume, geometry);
    }
  }
}

}  // namespace dnn2brain::io

#endif  // DNN2BRAIN_IO_DATASET_HPP
