// Task similarity: which DNNs represent the stimuli alike, how do they cluster, and does that
// agree with how well Taskonomy's tasks transfer to each other?
//
// For every pair of DNNs the similarity of their layer RDMs (Spearman and Pearson, per layer and
// the mean over layers), and linear CKA between their activation matrices where activations are
// available (the synthetic default's, or --activations DIR with <dnn>/<layer>.npy, conditions ×
// features). Average-linkage clustering of 1 − Spearman (over layers) gives the merge order, the
// dendrogram's leaf order and a cut into as many clusters as the data have groups. Finally the
// similarities are rank-correlated with the first-order Taskonomy transfer affinities
// (--affinities, by default ../shared/data/taskonomy/taskonomy_all_affinities.csv when present)
// over the pairs of tasks both name; in that table a higher affinity is a better transfer, so
// agreement is ρ > 0.
//
// Outputs: similarity_<measure>_<layer>.csv (D × D), cka_<layer>.csv, linkage.csv, leaves.csv,
// clusters.csv, affinities.csv and summary.txt. With no --data it runs on the planted-truth
// dataset, whose DNNs share latent factors within the paper's 2D, 3D and semantic groups, and
// reports whether the clusters recover the groups.
//
// Usage: task_similarity [--data DIR] [--activations DIR] [--affinities FILE] [--out DIR] ...
#include "figure_common.hpp"

#include <map>
#include <sstream>

namespace {

namespace d2b = figure::d2b;
namespace fs = figure::fs;
using d2b::index_t;

// A D × D matrix as a table: a "model" column, then one column per model.
d2b::io::table matrix_table(const std::vector<std::string>& names, const Eigen::MatrixXd& values) {
  d2b::io::table t;
  t.add("model", names);
  for (std::size_t j = 0; j < names.size(); ++j)
    t.add(names[j], Eigen::VectorXd(values.col(index_t(j))));
  return t;
}

// First-order rows (order 1) of Taskonomy's affinity table.
d2b::transfer_affinities read_affinities(const fs::path& file) {
  const d2b::io::csv_table csv = d2b::io::read_csv(file);
  std::vector<d2b::transfer_affinity> first_order;
  for (std::size_t r = 0; r < csv.rows(); ++r)
    if (csv.at(r, "order") == "1")
      first_order.push_back(
          {csv.at(r, "sources"), csv.at(r, "target"), std::stod(csv.at(r, "affinity"))});
  return d2b::transfer_affinities(first_order);
}

}  // namespace

int main(int argc, char** argv) {
  figure::common_options o;
  o.out = "dnn2brain-task-similarity";
  CLI::App app{"Task similarity: DNN x DNN similarity, CKA, clustering and Taskonomy affinities"};
  figure::add_common_options(app, o);
  fs::path activations_dir;
  fs::path affinities_file = "../shared/data/taskonomy/taskonomy_all_affinities.csv";
  app.add_option("--activations", activations_dir,
                 "activations for CKA: <dnn>/<layer>.npy, conditions x features")
      ->check(CLI::ExistingDirectory);
  app.add_option(
         "--affinities", affinities_file,
         "Taskonomy's affinity table (key,order,sources,target,affinity); skipped if absent")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  figure::use_threads(o.threads);
  const auto start = figure::clock_type::now();

  try {
    const figure::inputs in = figure::load_inputs(o, false);
    const d2b::model_set& models = in.data.models;
    const std::vector<std::string>& names = models.names();
    fs::create_directories(o.out);
    std::ostringstream text;
    text << "dnn2brain task similarity on " << in.description << "\n"
         << models.size() << " DNNs × " << models.layer_count() << " layers over "
         << models.conditions() << " conditions\n";

    // 1. RDM similarity, per layer and over layers.
    std::vector<std::string> layers = models.layers();
    layers.emplace_back();  // "": the mean over layers
    const auto layer_name = [](const std::string& l) {
      return l.empty() ? std::string("mean") : l;
    };
    std::optional<d2b::similarity_matrix> spearman_mean;
    for (const std::string& layer : layers) {
      const d2b::similarity_matrix spearman =
          d2b::model_similarity(models, {.layer = layer}, d2b::measure::spearman{});
      const d2b::similarity_matrix pearson =
          d2b::model_similarity(models, {.layer = layer}, d2b::measure::pearson{});
      figure::write_table(o.out / ("similarity_spearman_" + layer_name(layer)),
                          matrix_table(names, spearman.values));
      figure::write_table(o.out / ("similarity_pearson_" + layer_name(layer)),
                          matrix_table(names, pearson.values));
      if (layer.empty()) spearman_mean = spearman;
    }

    // 2. Linear CKA of the activations, where there are any.
    std::vector<std::vector<Eigen::MatrixXf>> activations;  // [layer][model]
    if (in.activations) {
      for (std::size_t l = 0; l < in.activations->layers.size(); ++l) {
        activations.emplace_back();
        for (const auto& per_model : in.activations->activations)
          activations.back().push_back(per_model[l]);
      }
    } else if (!activations_dir.empty()) {
      for (const std::string& layer : models.layers()) {
        activations.emplace_back();
        for (const std::string& name : names) {
          const auto array = d2b::io::read_npy<float>(activations_dir / name / (layer + ".npy"));
          if (array.dimension() != 2)
            throw std::runtime_error("expected conditions x features activations in " +
                                     (activations_dir / name / (layer + ".npy")).string());
          Eigen::MatrixXf x(index_t(array.shape()[0]), index_t(array.shape()[1]));
          for (index_t i = 0; i < x.rows(); ++i)
            for (index_t j = 0; j < x.cols(); ++j) x(i, j) = array(std::size_t(i), std::size_t(j));
          activations.back().push_back(std::move(x));
        }
      }
    }
    for (std::size_t l = 0; l < activations.size(); ++l) {
      const Eigen::MatrixXd cka = d2b::linear_cka_matrix(activations[l]);
      figure::write_table(o.out / ("cka_" + models.layers()[l]), matrix_table(names, cka));
    }
    text << "similarity: Spearman and Pearson of the layer RDMs, per layer and their mean"
         << (activations.empty() ? "; no activations, so no CKA\n" : "; linear CKA per layer\n");

    // 3. Average-linkage clustering of 1 − Spearman (mean over layers).
    const Eigen::MatrixXd distance = d2b::one_minus_similarity(spearman_mean->values);
    const Eigen::MatrixXd linkage = d2b::average_linkage(distance);
    const std::vector<index_t> leaves = d2b::leaves_list(linkage);
    const index_t k = std::max<index_t>(2, models.group_count());
    const std::vector<index_t> clusters = d2b::fcluster_maxclust(linkage, k);
    {
      // Merge i joins clusters a and b (ids < D are models, D + j is merge j) at `distance`.
      std::vector<std::string> members;
      std::vector<int> a, b, count;
      std::vector<double> height;
      std::vector<std::vector<std::string>> clusters_of;
      for (const std::string& name : names) clusters_of.push_back({name});
      for (index_t i = 0; i < linkage.rows(); ++i) {
        const auto x = std::size_t(linkage(i, 0)), y = std::size_t(linkage(i, 1));
        std::vector<std::string> joined = clusters_of[x];
        joined.insert(joined.end(), clusters_of[y].begin(), clusters_of[y].end());
        std::string list;
        for (const std::string& n : joined) list += (list.empty() ? "" : " ") + n;
        clusters_of.push_back(std::move(joined));
        a.push_back(int(x));
        b.push_back(int(y));
        height.push_back(linkage(i, 2));
        count.push_back(int(linkage(i, 3)));
        members.push_back(list);
      }
      d2b::io::table t;
      t.add("a", a).add("b", b).add("distance", height).add("count", count).add("members", members);
      figure::write_table(o.out / "linkage", t);
    }
    std::vector<std::string> leaf_names, cluster_group;
    std::vector<int> leaf_position, cluster_id;
    for (std::size_t i = 0; i < leaves.size(); ++i) {
      leaf_position.push_back(int(i) + 1);
      leaf_names.push_back(names[std::size_t(leaves[i])]);
    }
    for (index_t d = 0; d < models.size(); ++d) {
      cluster_id.push_back(int(clusters[std::size_t(d)]));
      const index_t g = models.group_of_model(d);
      cluster_group.push_back(g < 0 ? "" : models.groups()[std::size_t(g)].name);
    }
    {
      d2b::io::table t;
      t.add("position", leaf_position).add("model", leaf_names);
      figure::write_table(o.out / "leaves", t);
      d2b::io::table c;
      c.add("model", names).add("cluster", cluster_id).add("group", cluster_group);
      figure::write_table(o.out / "clusters", c);
    }
    text << "average linkage of 1 − Spearman (mean over layers); leaf order:";
    for (const std::string& n : leaf_names) text << " " << n;
    text << "\n" << k << " clusters:";
    std::map<index_t, std::vector<std::string>> by_cluster;
    for (index_t d = 0; d < models.size(); ++d)
      by_cluster[clusters[std::size_t(d)]].push_back(names[std::size_t(d)]);
    for (const auto& [id, members] : by_cluster) {
      text << "\n  " << id << ":";
      for (const std::string& n : members) text << " " << n;
    }
    text << "\n";
    // Agreement with the groups: the share of grouped models whose cluster's most common group is
    // their own (purity).
    index_t grouped = 0, agreeing = 0;
    for (const auto& [id, members] : by_cluster) {
      std::map<std::string, index_t> count;
      for (const std::string& n : members) {
        const index_t g = models.group_of_model(models.index(n));
        if (g >= 0) ++count[models.groups()[std::size_t(g)].name];
      }
      index_t most = 0;
      for (const auto& [group, c] : count) most = std::max(most, c);
      agreeing += most;
      for (const auto& [group, c] : count) grouped += c;
    }
    const double purity = grouped > 0 ? double(agreeing) / double(grouped) : 0.0;
    if (models.group_count() > 0)
      text << "cluster purity against the model set's groups: " << figure::format(purity) << "\n";

    // 4. Taskonomy's transfer affinities.
    if (fs::exists(affinities_file)) {
      const d2b::transfer_affinities affinities = read_affinities(affinities_file);
      const d2b::affinity_comparison c = d2b::compare_with_affinities(*spearman_mean, affinities);
      std::vector<std::string> pair_a, pair_b;
      for (std::size_t i = 0; i < c.matched.size(); ++i)
        for (std::size_t j = i + 1; j < c.matched.size(); ++j) {
          pair_a.push_back(c.matched[i]);
          pair_b.push_back(c.matched[j]);
        }
      if (pair_a.size() == std::size_t(c.pairs)) {
        d2b::io::table t;
        t.add("a", pair_a)
            .add("b", pair_b)
            .add("similarity", c.similarity)
            .add("affinity", c.affinity);
        figure::write_table(o.out / "affinities", t);
      }
      text << "Taskonomy transfer affinities (first order, both directions averaged): Spearman ρ = "
           << figure::format(c.rho) << " over " << c.pairs << " pairs of " << c.matched.size()
           << " tasks" << (in.planted ? " (the planted DNNs are not Taskonomy's: ρ is a demo)" : "")
           << "\n  not in the table:";
      for (const std::string& n : c.unknown) text << " " << n;
      text << "\n";
    } else {
      text << "no affinity table at " << affinities_file.string() << "\n";
    }

    const bool recovered = purity >= 0.8;
    figure::finish_summary(o.out, text.str(), start,
                           in.planted ? std::optional<bool>(recovered) : std::nullopt);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\ntask_similarity: %s\n", e.what());
    return 2;
  }
}
