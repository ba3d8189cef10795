#ifndef DNN2BRAIN_ANALYSIS_MODEL_SET_HPP
#define DNN2BRAIN_ANALYSIS_MODEL_SET_HPP

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/core/concepts.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/metrics/correlation.hpp>
#include <dnn2brain/rdm/compute_rdm.hpp>
#include <dnn2brain/regression/design.hpp>
#include <dnn2brain/regression/ols.hpp>
#include <dnn2brain/regression/variance_partitioning.hpp>

namespace dnn2brain {

/// A named group of models (the paper's 2D, 3D and semantic DNNs).
struct model_group {
  std::string name;
  std::vector<std::string> members;
};

/// \brief Named models (DNNs), each with one RDM per named layer over the same conditions, and
/// named groups of them: what the analyses take, and the glue to the regression and statistics
/// modules (designs, variance-partitioning groups, correlation models).
///
/// Every model has the same layers, named at construction (the paper: block4 and
/// encoder_output); a model's design has one predictor per layer, in that order. Layer RDMs come
/// as RDMs or straight from activations (any Eigen or xtensor array, conditions first, any
/// metric). A group's layer RDM is the mean of its members' (the paper's grouped DNNs).
///
/// RDMs are held in double: 19 models × 2 layers × 1225 pairs is 372 KB.
class model_set {
 public:
  model_set() = default;

  /// layers: the layer names every model provides (at least one, distinct).
  /// \throws invalid_argument for no layer, an empty or a repeated name.
  template <std::ranges::input_range Layers>
  requires std::convertible_to<std::ranges::range_reference_t<Layers>, std::string_view>
  explicit model_set(const Layers& layers) {
    for (const auto& layer : layers) {
      const std::string_view name(layer);
      if (name.empty() || std::ranges::find(m_layers, name) != m_layers.end())
        detail::throw_invalid_argument(
            "model_set", detail::concat("expected distinct, non-empty layer names, got '", name,
                                        "'", name.empty() ? "" : " twice"));
      m_layers.emplace_back(name);
    }
    if (m_layers.empty())
      detail::throw_invalid_argument("model_set", "expected at least one layer name, got none");
  }
  explicit model_set(std::initializer_list<std::string_view> layers)
      : model_set(std::span<const std::string_view>(layers.begin(), layers.size())) {}

  /// \brief Adds a model with all its layer RDMs, one per column in the order of layers().
  /// \throws invalid_argument for a repeated or empty name, a count other than layers().size(),
  /// conditions that differ from the set's, or non-finite entries (naming model and layer).
  template <std::floating_point S>
  model_set& add(std::string_view name, const rdm_stack<S>& layer_rdms) {
    constexpr const char* function = "model_set::add";
    if (layer_rdms.size() != layer_count())
      detail::throw_invalid_argument(
          function, detail::concat("expected ", layer_count(), " layer RDMs for model '", name,
                                   "' (", layer_list(), "), got ", layer_rdms.size()));
    for (index_t l = 0; l < layer_count(); ++l)
      check_values(layer_rdms.column(l), name, m_layers[static_cast<std::size_t>(l)], function);
    const index_t d = new_model(name, function);
    for (index_t l = 0; l < layer_count(); ++l) store(d, l, layer_rdms.column(l));
    return *this;
  }

  /// \brief Sets one layer of a model (created by its first layer). The model is complete when
  /// every layer is set; an analysis of an incomplete model is an error naming what is missing.
  /// \throws invalid_argument for an unknown layer, a layer set twice, conditions that differ
  /// from the set's or non-finite entries.
  template <std::floating_point S>
  model_set& add_layer(std::string_view model, std::string_view layer, const rdm<S>& values) {
    constexpr const char* function = "model_set::add_layer";
    const index_t l = layer_index(layer, function);
    check_values(values.values(), model, layer, function);
    index_t d = index_of(model);
    if (d >= 0 && m_filled[static_cast<std::size_t>(d * layer_count() + l)])
      detail::throw_invalid_argument(
          function, detail::concat("expected each layer once, got layer '", layer, "' of model '",
                                   model, "' twice"));
    if (d < 0) d = new_model(model, function);
    store(d, l, values.values());
    return *this;
  }

  /// \brief Sets one layer of a model from its activations (conditions × features, any Eigen
  /// expression, or an xtensor array with conditions first), through compute_rdm with `metric`.
  /// The paper's Taskonomy RDMs are metric::correlation{.center_features = true}.
  template <typename Activations, typename Metric = metric::correlation>
  requires(floating_eigen<Activations> || floating_xexpression<Activations>)
      model_set& add_activations(std::string_view model, std::string_view layer,
                                 const Activations& activations, const Metric& metric = {},
                                 const rdm_options& options = {}) {
    const auto values = compute_rdm(activations, metric, options);
    if (!values.degenerate_conditions().empty())
      detail::throw_invalid_argument(
          "model_set::add_activations",
          detail::concat("expected activations that vary within every condition, got ",
                         values.degenerate_conditions().size(),
                         " degenerate conditions (first: ", values.degenerate_conditions().front(),
                         ") in layer '", layer, "' of model '", model, "'"));
    return add_layer(model, layer, values);
  }

  /// \brief Adds a group of models, already in the set, whose layer RDMs are the members' means.
  /// \throws invalid_argument for a repeated or empty group name, no members, an unknown or a
  /// repeated member.
  template <std::ranges::input_range Members>
  requires std::convertible_to<std::ranges::range_reference_t<Members>, std::string_view> model_set&
  add_group(std::string_view name, const Members& members) {
    constexpr const char* function = "model_set::add_group";
    if (name.empty() || group_of(name) >= 0)
      detail::throw_invalid_argument(
          function, detail::concat("expected a new, non-empty group name, got '", name, "'",
                                   name.empty() ? "" : ", which is already a group"));
    model_group group{std::string(name), {}};
    std::vector<index_t> indices;
    for (const auto& member : members) {
      const std::string_view m(member);
      const index_t d = index_of(m);
      if (d < 0)
        detail::throw_invalid_argument(
            function, detail::concat("expected members that are models of the set, got '", m,
                                     "' in group '", name, "'"));
      if (std::ranges::find(indices, d) != indices.end())
        detail::throw_invalid_argument(
            function,
            detail::concat("expected distinct members, got '", m, "' twice in group '", name, "'"));
      indices.push_back(d);
      group.members.emplace_back(m);
    }
    if (indices.empty())
      detail::throw_invalid_argument(
          function, detail::concat("expected at least one member in group '", name, "', got none"));
    m_groups.push_back(std::move(group));
    m_group_members.push_back(std::move(indices));
    return *this;
  }
  model_set& add_group(std::string_view name, std::initializer_list<std::string_view> members) {
    return add_group(name, std::span<const std::string_view>(members.begin(), members.size()));
  }

  /// Number of models.
  [[nodiscard]] index_t size() const noexcept { return static_cast<index_t>(m_names.size()); }
  [[nodiscard]] index_t layer_count() const noexcept {
    return static_cast<index_t>(m_layers.size());
  }
  [[nodiscard]] index_t group_count() const noexcept {
    return static_cast<index_t>(m_groups.size());
  }
  /// Conditions of every RDM (0 before the first).
  [[nodiscard]] index_t conditions() const noexcept { return m_conditions; }
  [[nodiscard]] index_t pairs() const noexcept { return condensed_size(m_conditions); }
  [[nodiscard]] const std::vector<std::string>& names() const noexcept { return m_names; }
  [[nodiscard]] const std::vector<std::string>& layers() const noexcept { return m_layers; }
  [[nodiscard]] const std::vector<model_group>& groups() const noexcept { return m_groups; }
  [[nodiscard]] std::vector<std::string> group_names() const {
    std::vector<std::string> names;
    for (const model_group& g : m_groups) names.push_back(g.name);
    return names;
  }
  /// The models of group g (indices into names()).
  [[nodiscard]] const std::vector<index_t>& group_members(index_t g) const {
    check_group(g, "model_set::group_members");
    return m_group_members[static_cast<std::size_t>(g)];
  }
  /// The first group that has model d as a member, or −1.
  [[nodiscard]] index_t group_of_model(index_t d) const {
    check_model(d, "model_set::group_of_model");
    for (std::size_t g = 0; g < m_group_members.size(); ++g)
      if (std::ranges::find(m_group_members[g], d) != m_group_members[g].end())
        return static_cast<index_t>(g);
    return -1;
  }

  /// Index of a model by name. \throws invalid_argument for an unknown name.
  [[nodiscard]] index_t index(std::string_view name) const {
    const index_t d = index_of(name);
    if (d < 0)
      detail::throw_invalid_argument(
          "model_set::index",
          detail::concat("expected the name of one of the ", size(), " models, got '", name, "'"));
    return d;
  }
  /// Index of a group by name. \throws invalid_argument for an unknown name.
  [[nodiscard]] index_t group_index(std::string_view name) const {
    const index_t g = group_of(name);
    if (g < 0)
      detail::throw_invalid_argument("model_set::group_index",
                                     detail::concat("expected the name of one of the ",
                                                    group_count(), " groups, got '", name, "'"));
    return g;
  }

  /// \brief Model d's layer RDMs: pairs × layers. \throws invalid_argument if it is incomplete.
  [[nodiscard]] rdm_stack<double> rdms(index_t d) const {
    check_complete("model_set::rdms");
    check_model(d, "model_set::rdms");
    return rdm_stack<double>::from_columns(m_rdms.middleCols(d * layer_count(), layer_count()),
                                           m_conditions);
  }
  /// \brief Group g's layer RDMs, the means of its members': pairs × layers.
  [[nodiscard]] rdm_stack<double> group_rdms(index_t g) const {
    check_complete("model_set::group_rdms");
    check_group(g, "model_set::group_rdms");
    return rdm_stack<double>::from_columns(group_mean(g), m_conditions);
  }
  /// \brief Every model's RDM of one layer: pairs × models (the models of a correlation
  /// statistic). \throws invalid_argument for an unknown layer or an incomplete set.
  [[nodiscard]] rdm_stack<double> layer(std::string_view name) const {
    check_complete("model_set::layer");
    const index_t l = layer_index(name, "model_set::layer");
    Eigen::MatrixXd values(pairs(), size());
    for (index_t d = 0; d < size(); ++d) values.col(d) = m_rdms.col(d * layer_count() + l);
    return rdm_stack<double>::from_columns(values, m_conditions);
  }
  /// Every group's mean RDM of one layer: pairs × groups.
  [[nodiscard]] rdm_stack<double> group_layer(std::string_view name) const {
    check_complete("model_set::group_layer");
    const index_t l = layer_index(name, "model_set::group_layer");
    Eigen::MatrixXd values(pairs(), group_count());
    for (index_t g = 0; g < group_count(); ++g) values.col(g) = group_mean(g).col(l);
    return rdm_stack<double>::from_columns(values, m_conditions);
  }

  /// \brief One design per model (its layer RDMs as predictors), in names() order, fitted to
  /// targets of scalar type Scalar. \throws invalid_argument for an empty or incomplete set.
  template <std::floating_point Scalar = double>
  [[nodiscard]] design_set<Scalar> designs(design_options options = {}) const {
    check_complete("model_set::designs");
    std::vector<design> all;
    for (index_t d = 0; d < size(); ++d) all.emplace_back(rdms(d), options);
    return design_set<Scalar>(std::move(all));
  }
  /// One design per group (its mean layer RDMs), in groups() order.
  template <std::floating_point Scalar = double>
  [[nodiscard]] design_set<Scalar> group_designs(design_options options = {}) const {
    check_groups("model_set::group_designs");
    std::vector<design> all;
    for (index_t g = 0; g < group_count(); ++g) all.emplace_back(group_rdms(g), options);
    return design_set<Scalar>(std::move(all));
  }
  /// \brief The designs of unique_statistic over the models (or, with `groups`, the groups): entry
  /// 0 has every model's layer RDMs as predictors, entry d + 1 all but model d's. \throws
  /// invalid_argument for fewer than 2 models (groups) or an incomplete set.
  template <std::floating_point Scalar = double>
  [[nodiscard]] design_set<Scalar> leave_one_out_designs(bool groups = false,
                                                         design_options options = {}) const {
    constexpr const char* function = "model_set::leave_one_out_designs";
    if (groups)
      check_groups(function);
    else
      check_complete(function);
    const index_t count = groups ? group_count() : size(), layers = layer_count();
    if (count < 2)
      detail::throw_invalid_argument(
          function, detail::concat("expected at least 2 ", groups ? "groups" : "models",
                                   " to leave one out, got ", count));
    Eigen::MatrixXd all(pairs(), count * layers);
    for (index_t d = 0; d < count; ++d)
      all.middleCols(d * layers, layers) = groups ? group_mean(d) : rdms(d).values();
    std::vector<design> designs;
    designs.emplace_back(all, options);
    for (index_t d = 0; d < count; ++d) {
      Eigen::MatrixXd rest(pairs(), (count - 1) * layers);
      rest.leftCols(d * layers) = all.leftCols(d * layers);
      rest.rightCols((count - 1 - d) * layers) = all.rightCols((count - 1 - d) * layers);
      designs.emplace_back(rest, options);
    }
    return design_set<Scalar>(std::move(designs));
  }

  /// \brief Variance partitioning among the given models (each one group of its layer RDMs), in
  /// the order given: the paper's top-3 analysis. \throws invalid_argument for no model, a model
  /// out of range or repeated, or more than variance_partitioning::max_groups.
  template <std::floating_point Scalar = double>
  [[nodiscard]] variance_partitioning<Scalar> partitioning(std::span<const index_t> models,
                                                           design_options options = {}) const {
    constexpr const char* function = "model_set::partitioning";
    check_complete(function);
    std::vector<rdm_stack<double>> groups;
    for (std::size_t k = 0; k < models.size(); ++k) {
      check_model(models[k], function);
      if (std::find(models.begin(), models.begin() + static_cast<std::ptrdiff_t>(k), models[k]) !=
          models.begin() + static_cast<std::ptrdiff_t>(k))
        detail::throw_invalid_argument(function, detail::concat("expected distinct models, got '",
                                                                name_of(models[k]), "' twice"));
      groups.push_back(rdms(models[k]));
    }
    return variance_partitioning<Scalar>(groups, options);
  }
  /// Variance partitioning among the groups (each its mean layer RDMs): the paper's Fig. 3.
  template <std::floating_point Scalar = double>
  [[nodiscard]] variance_partitioning<Scalar> group_partitioning(
      design_options options = {}) const {
    check_groups("model_set::group_partitioning");
    std::vector<rdm_stack<double>> groups;
    for (index_t g = 0; g < group_count(); ++g) groups.push_back(group_rdms(g));
    return variance_partitioning<Scalar>(groups, options);
  }

  /// \brief Throws invalid_argument unless the set has a model and every model every layer,
  /// naming the first model and layer missing; `function` names the caller.
  void check_complete(const char* function) const {
    if (m_names.empty())
      detail::throw_invalid_argument(function, "expected a model set with models, got none");
    for (index_t d = 0; d < size(); ++d)
      for (index_t l = 0; l < layer_count(); ++l)
        if (!m_filled[static_cast<std::size_t>(d * layer_count() + l)])
          detail::throw_invalid_argument(
              function,
              detail::concat("expected every model with all ", layer_count(), " layers (",
                             layer_list(), "), got model '", m_names[static_cast<std::size_t>(d)],
                             "' without layer '", m_layers[static_cast<std::size_t>(l)], "'"));
  }

 private:
  [[nodiscard]] index_t index_of(std::string_view name) const noexcept {
    const auto it = std::ranges::find(m_names, name);
    return it == m_names.end() ? -1 : static_cast<index_t>(it - m_names.begin());
  }
  [[nodiscard]] index_t group_of(std::string_view name) const noexcept {
    for (std::size_t g = 0; g < m_groups.size(); ++g)
      if (m_groups[g].name == name) return static_cast<index_t>(g);
    return -1;
  }
  // Group g's mean layer RDMs, pairs × layers, summed in member order.
  [[nodiscard]] Eigen::MatrixXd group_mean(index_t g) const {
    Eigen::MatrixXd mean = Eigen::MatrixXd::Zero(pairs(), layer_count());
    const auto& members = m_group_members[static_cast<std::size_t>(g)];
    for (const index_t d : members) mean += m_rdms.middleCols(d * layer_count(), layer_count());
    return mean / static_cast<double>(members.size());
  }
  [[nodiscard]] const std::string& name_of(index_t d) const {
    return m_names[static_cast<std::size_t>(d)];
  }
  [[nodiscard]] std::string layer_list() const {
    std::string list;
    for (const std::string& l : m_layers) {
      if (!list.empty()) list += ", ";
      list += l;
    }
    return list;
  }
  [[nodiscard]] index_t layer_index(std::string_view layer, const char* function) const {
    const auto it = std::ranges::find(m_layers, layer);
    if (it == m_layers.end())
      detail::throw_invalid_argument(
          function,
          detail::concat("expected one of the layers ", layer_list(), ", got '", layer, "'",
                         m_layers.empty() ? " (the set was made without layers)" : ""));
    return static_cast<index_t>(it - m_layers.begin());
  }
  void check_model(index_t d, const char* function) const {
    if (d < 0 || d >= size())
      detail::throw_invalid_argument(
          function, detail::concat("expected a model in [0, ", size(), "), got ", d));
  }
  void check_group(index_t g, const char* function) const {
    if (g < 0 || g >= group_count())
      detail::throw_invalid_argument(
          function, detail::concat("expected a group in [0, ", group_count(), "), got ", g));
  }
  void check_groups(const char* function) const {
    check_complete(function);
    if (m_groups.empty())
      detail::throw_invalid_argument(function, "expected a model set with groups, got none");
  }

  index_t new_model(std::string_view name, const char* function) {
    if (m_layers.empty())
      detail::throw_invalid_argument(function,
                                     "expected a model set made with its layer names, got none");
    if (name.empty() || index_of(name) >= 0)
      detail::throw_invalid_argument(
          function, detail::concat("expected a new, non-empty model name, got '", name, "'",
                                   name.empty() ? "" : ", which is already in the set"));
    m_names.emplace_back(name);
    m_filled.resize(m_filled.size() + m_layers.size(), false);
    if (m_conditions > 0) m_rdms.conservativeResize(Eigen::NoChange, m_rdms.cols() + layer_count());
    return size() - 1;
  }
  // Checks an RDM for model `model`, layer `layer` against the set (before anything changes).
  template <typename Values>
  void check_values(const Values& values, std::string_view model, std::string_view layer,
                    const char* function) const {
    const index_t m = values.size();
    const index_t n = condensed_conditions(m);
    if (n < 3 || condensed_size(n) != m)
      detail::throw_invalid_argument(
          function, detail::concat("expected a condensed RDM of at least 3 conditions, got ", m,
                                   " entries in layer '", layer, "' of model '", model, "'"));
    if (m_conditions > 0 && n != m_conditions)
      detail::throw_invalid_argument(
          function,
          detail::concat("expected RDMs over the set's ", m_conditions, " conditions, got ", n,
                         " in layer '", layer, "' of model '", model, "'"));
    for (index_t k = 0; k < m; ++k)
      if (!std::isfinite(static_cast<double>(values[k])))
        detail::throw_invalid_argument(
            function,
            detail::concat("expected finite dissimilarities, got ", values[k], " at pair ", k,
                           " of layer '", layer, "' of model '", model, "'"));
  }

  // Stores a checked RDM as model d's layer l.
  template <typename Values>
  void store(index_t d, index_t l, const Values& values) {
    if (m_conditions == 0) {
      m_conditions = condensed_conditions(values.size());
      m_rdms.setZero(values.size(), size() * layer_count());
    }
    m_rdms.col(d * layer_count() + l) = values.template cast<double>();
    m_filled[static_cast<std::size_t>(d * layer_count() + l)] = true;
  }

  std::vector<std::string> m_layers, m_names;
  std::vector<model_group> m_groups;
  std::vector<std::vector<index_t>> m_group_members;
  index_t m_conditions = 0;
  Eigen::MatrixXd m_rdms;      // pairs × (models · layers): column d·L + l
  std::vector<bool> m_filled;  // per column, whether it was set
};

}  // namespace dnn2brain

#endif  // DNN2BRAIN_ANALYSIS_MODEL_SET_HPP
