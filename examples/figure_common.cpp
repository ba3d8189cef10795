// The compiled part of figure_common.hpp: loading the data, running the searchlights, writing the
// tables. One translation unit for every figure program, so that each program compiles only its
// own analysis.
#include "figure_common.hpp"

#include <algorithm>
#include <bit>
#include <fstream>
#include <iostream>
#include <limits>

namespace figure {

void add_common_options(CLI::App& app, common_options& o) {
  app.add_option("--data", o.data,
                 "a dataset folder in dnn2brain's layout or the paper's data.zip layout (detected; "
                 "docs/io.md); default: the planted-truth dataset")
      ->check(CLI::ExistingDirectory);
  app.add_option("--out", o.out, "output folder (created)")->capture_default_str();
  app.add_option("--save-data", o.save_data,
                 "also write the data in dnn2brain's layout to this new folder (with no --data: "
                 "the planted-truth dataset as a complete example of the layout)");
  app.add_flag("--paper-compat", o.paper_compat,
               "the paper's procedures (entry permutations, R ranking, 45-of-50 subsampled error "
               "bars, two-stage FDR with the 0.033 noise-ceiling filter; docs/analysis.md)");
  app.add_flag("--model-table", o.model_table,
               "searchlight programs: also write searchlight_models.csv, every model's score and "
               "p per searchlight (large for whole brains)");
  app.add_option("--bootstrap", o.bootstrap,
                 "resamples of the ROI programs' error bars (default: 1,000, or as many as "
                 "--permutations under --paper-compat)")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--permutations", o.permutations,
                 "permutations (under --paper-compat also the error bars' subsamples)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  app.add_option("--seed", o.seed, "seed of every random procedure and of the synthetic data")
      ->capture_default_str();
  app.add_option("--threads", o.threads, "OpenMP threads (0: all)")->check(CLI::NonNegativeNumber);
  app.add_option("--size", o.size,
                 "the planted-truth dataset: default (40 x 48 x 40, 16 subjects), small (28 x 34 x "
                 "28, 12 subjects) or tiny (16 x 20 x 16, 3 subjects; checks only)")
      ->capture_default_str()
      ->check(CLI::IsMember({"default", "small", "tiny"}));
  app.add_option("--subjects", o.subjects, "subjects of the planted-truth dataset")
      ->check(CLI::Range(2, 1000));
  app.add_option("--noise", o.noise, "voxel noise of the planted-truth dataset")
      ->check(CLI::NonNegativeNumber);
}

d2b::simulate::options synthetic_options(const common_options& o) {
  d2b::simulate::options s;
  if (o.size != "default") {
    const double scale = o.size == "small" ? 0.7 : 0.4;
    for (std::size_t a = 0; a < 3; ++a) {
      s.grid[a] = static_cast<std::size_t>(std::ceil(static_cast<double>(s.grid[a]) * scale));
      s.mask_semi_axes[Eigen::Index(a)] *= scale;
    }
    s.subjects = o.size == "small" ? 12 : 3;
  }
  if (o.subjects > 0) s.subjects = o.subjects;
  if (o.noise >= 0.0) s.noise = o.noise;
  s.seed = o.seed;
  return s;
}

inputs synthetic_inputs(const common_options& o, bool searchlight) {
  const d2b::simulate::options settings = synthetic_options(o);
  d2b::simulate::dataset planted = d2b::simulate::make_dataset(settings);
  inputs in;
  in.data.models = d2b::simulate::make_model_set(planted.models);
  in.data.rois = d2b::simulate::make_roi_set(planted);
  in.data.roi_display_names = planted.roi_names;
  for (d2b::index_t k = 0; k < settings.stimuli; ++k)
    in.data.stimuli.push_back("stimulus_" + std::to_string(k + 1));
  if (searchlight) {
    d2b::io::searchlight_beta_input betas;
    betas.mask = planted.mask;
    for (std::size_t s = 0; s < planted.subject_data.size(); ++s)
      betas.labels.push_back((s < 9 ? "0" : "") + std::to_string(s + 1));
    betas.subjects = std::move(planted.subject_data);
    in.data.searchlight = std::move(betas);
  }
  in.description = d2b::detail::concat("the planted-truth dataset (seed ", o.seed, ", ",
                                       settings.subjects, " subjects, noise ", settings.noise, ", ",
                                       planted.mask.size(), " voxels)");
  in.activations = std::move(planted.models);
  in.planted = std::move(static_cast<d2b::simulate::layout&>(planted));
  return in;
}

inputs load_inputs(const common_options& o, bool searchlight) {
  progress_line loading(o.data.empty() ? "planted-truth dataset" : "reading " + o.data.string());
  // --save-data writes everything, the searchlight input too.
  const bool whole = searchlight || !o.save_data.empty();
  inputs in;
  if (o.data.empty()) {
    in = synthetic_inputs(o, whole);
  } else {
    d2b::io::read_dataset_options options;
    options.searchlight = whole;
    in.data = d2b::io::read_dataset(o.data, options);
    in.description =
        d2b::detail::concat(fs::absolute(o.data).string(), " (",
                            in.data.layout == d2b::io::dataset_layout::paper ? "the paper's layout"
                                                                             : "dnn2brain's layout",
                            ", ", in.data.files.size(), " files)");
  }
  loading.finish();
  if (!o.save_data.empty()) {
    progress_line saving("writing " + o.save_data.string());
    d2b::io::write_dataset(o.save_data, in.data);
    saving.finish();
    if (!searchlight) in.data.searchlight = std::monostate{};
  }
  return in;
}

d2b::analysis_presets presets(const common_options& o) {
  d2b::analysis_presets p =
      o.paper_compat ? d2b::analysis_presets::paper() : d2b::analysis_presets::defaults();
  p.with(o.permutations, o.seed);
  if (o.bootstrap >= 0)
    p.rois.bootstrap_samples = p.top3.bootstrap_samples = p.grouped.bootstrap_samples = o.bootstrap;
  return p;
}

void use_threads(int threads) {
#ifdef _OPENMP
  if (threads > 0) omp_set_num_threads(threads);
#else
  (void)threads;
#endif
}

searchlights make_searchlights(const inputs& in, double radius) {
  if (const auto* betas = std::get_if<d2b::io::searchlight_beta_input>(&in.data.searchlight))
    return {d2b::make_neighbor_table(betas->mask, d2b::neighborhood::sphere{radius}), betas->mask};
  if (const auto* rdms = std::get_if<d2b::io::searchlight_rdm_input>(&in.data.searchlight))
    return {rdms->table, rdms->mask};
  throw std::runtime_error(
      "the data hold no searchlight input (searchlight/rdms.npy, fmri/ or "
      "the paper's sl_rad=... folder)");
}

d2b::searchlight_result run_searchlights(const inputs& in, const searchlights& where,
                                         d2b::searchlight_analysis_options options) {
  const bool given_ceiling = options.ceiling.compute && in.data.noise_ceiling.has_value();
  if (given_ceiling) options.ceiling.compute = false;
  d2b::searchlight_result r;
  if (const auto* betas = std::get_if<d2b::io::searchlight_beta_input>(&in.data.searchlight))
    r = d2b::searchlight_analysis(in.data.models, betas->subjects, where.table, options);
  else
    r = d2b::searchlight_analysis(
        in.data.models,
        std::span<const d2b::rdm_stack<float>>(
            std::get<d2b::io::searchlight_rdm_input>(in.data.searchlight).subjects),
        options);
  if (given_ceiling) {
    r.ceiling_lower = in.data.noise_ceiling->lower;
    r.ceiling_upper = in.data.noise_ceiling->upper;
    r.ceiling = options.ceiling;
  }
  return r;
}

d2b::io::table searchlight_table(const searchlights& where, const d2b::searchlight_result& r,
                                 const d2b::functional_map& map) {
  std::vector<int> i, j, k;
  std::vector<std::string> best, label;
  for (const d2b::ijk& c : where.table.centers()) {
    i.push_back(c.i);
    j.push_back(c.j);
    k.push_back(c.k);
  }
  for (d2b::index_t t = 0; t < map.searchlights(); ++t) {
    best.push_back(map.best[t] < 0 ? "" : r.models[std::size_t(map.best[t])]);
    label.push_back(map.label[t] < 0 ? "" : r.models[std::size_t(map.label[t])]);
  }
  d2b::io::table out;
  out.add("i", i).add("j", j).add("k", k).add("best", best).add("best_score", map.best_score);
  out.add("p", map.p).add("p_corrected", map.p_adjusted).add("label", label);
  if (r.ceiling_lower.size() > 0)
    out.add("noise_ceiling_lower", r.ceiling_lower).add("noise_ceiling_upper", r.ceiling_upper);
  if (r.permutation.p_runner_up.size() > 0) out.add("p_runner_up", r.permutation.p_runner_up);
  return out;
}

d2b::io::table searchlight_model_table(const searchlights& where,
                                       const d2b::searchlight_result& r) {
  std::vector<int> i, j, k;
  for (const d2b::ijk& c : where.table.centers()) {
    i.push_back(c.i);
    j.push_back(c.j);
    k.push_back(c.k);
  }
  d2b::io::table out;
  out.add("i", i).add("j", j).add("k", k);
  const d2b::index_t d_count = r.model_count();
  const d2b::permutation_result& perm = r.permutation;
  for (d2b::index_t d = 0; d < d_count; ++d) {
    const std::string& name = r.models[std::size_t(d)];
    out.add("score_" + name, std::vector<double>(r.scores.row(d).begin(), r.scores.row(d).end()));
    if (perm.p_value.rows() == d_count)
      out.add("p_" + name,
              std::vector<double>(perm.p_value.row(d).begin(), perm.p_value.row(d).end()));
  }
  if (perm.p_differences.rows() == d_count * d_count)
    for (d2b::index_t a = 0; a < d_count; ++a)
      for (d2b::index_t b = 0; b < d_count; ++b)
        if (a != b) {
          const Eigen::RowVectorXd p = perm.p_differences.row(a * d_count + b);
          out.add("p_difference_" + r.models[std::size_t(a)] + "_" + r.models[std::size_t(b)],
                  std::vector<double>(p.begin(), p.end()));
        }
  return out;
}

void write_legend(const fs::path& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& groups, const std::vector<d2b::rgb>& colours,
                  d2b::rgb not_significant, const d2b::functional_map& map) {
  std::vector<int> codes{0};
  std::vector<std::string> shown{"not significant"}, group{""}, hex{not_significant.hex()},
      name{"not significant"};
  std::vector<d2b::index_t> counts{map.searchlights() - map.labelled()};
  const auto per_entry = map.counts();
  for (std::size_t d = 0; d < names.size(); ++d) {
    codes.push_back(int(d) + 1);
    name.push_back(names[d]);
    shown.push_back(d2b::paper::display_name(names[d]));
    group.push_back(groups[d]);
    hex.push_back(colours[d].hex());
    counts.push_back(per_entry[d]);
  }
  d2b::io::table legend;
  legend.add("code", codes)
      .add("name", name)
      .add("display_name", shown)
      .add("group", group)
      .add("colour", hex)
      .add("searchlights", counts);
  d2b::io::write_json(out / "legend.json", legend);
  d2b::io::write_csv(out / "legend.csv", legend);
}

void write_table(const fs::path& stem, const d2b::io::table& t) {
  d2b::io::write_csv(fs::path(stem).replace_extension(".csv"), t);
  d2b::io::write_json(fs::path(stem).replace_extension(".json"), t);
}

void finish_summary(const fs::path& out, std::string text, clock_type::time_point start,
                    std::optional<bool> recovered) {
  const double total = std::chrono::duration<double>(clock_type::now() - start).count();
  text += "total " + format(total, 4) + " s; outputs in " + fs::absolute(out).string() + "\n";
  {
    std::ofstream file(out / "summary.txt.tmp");
    file << text;
    if (!file) throw std::runtime_error("cannot write " + (out / "summary.txt").string());
  }
  fs::rename(out / "summary.txt.tmp", out / "summary.txt");
  std::cout << text;
  if (recovered) std::cout << "planted truth recovered: " << (*recovered ? "yes" : "no") << "\n";
}

d2b::io::table bar_table(const d2b::partition_analysis_result& parts, const partition_p& p,
                         const std::vector<std::string>& roi_names,
                         const std::vector<d2b::rgb>& colours, bool paper_procedures) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::string> roi, name, display, colour;
  std::vector<int> position;
  std::vector<double> score, unique, se, lower, upper, p_shown, p_fixed, p_selection, subject_p,
      total;
  for (d2b::index_t r = 0; r < d2b::index_t(parts.rois.size()); ++r) {
    const std::vector<d2b::partition_bar> bars = parts.bars(r);
    for (std::size_t j = 0; j < bars.size(); ++j) {
      const d2b::partition_bar& b = bars[j];
      roi.push_back(roi_names[std::size_t(r)]);
      position.push_back(int(j) + 1);
      name.push_back(b.name);
      display.push_back(d2b::paper::display_name(b.name));
      colour.push_back(colours[std::size_t(b.index)].hex());
      score.push_back(b.score);
      unique.push_back(b.unique);
      se.push_back(b.standard_error);
      // The paper's subsample intervals belong to its summed models, not to these fractions.
      lower.push_back(paper_procedures ? nan : b.lower);
      upper.push_back(paper_procedures ? nan : b.upper);
      p_shown.push_back(p.unique(d2b::index_t(j), r));
      p_fixed.push_back(b.p_corrected);
      p_selection.push_back(b.p_selection_corrected);
      subject_p.push_back(b.subject_p_corrected);
      total.push_back(parts.total()[r]);
    }
  }
  d2b::io::table t;
  t.add("roi", roi)
      .add("position", position)
      .add(parts.groups ? "group" : "model", name)
      .add("display_name", display)
      .add("colour", colour)
      .add(std::string(d2b::score_name(parts.rank_by.score)), score)
      .add("unique_variance", unique)
      .add(paper_procedures ? "subsample_sd" : "bootstrap_se", se)
      .add("ci_lower", lower)
      .add("ci_upper", upper)
      .add(paper_procedures ? "p_fdr_within_roi" : "p", p_shown)
      .add("p_fixed_set_corrected", p_fixed)
      .add("p_selection_corrected", p_selection)
      .add("subject_p_corrected", subject_p)
      .add("total_r_squared", total);
  return t;
}

d2b::io::table fraction_table(const d2b::partition_analysis_result& parts,
                              const std::vector<std::string>& roi_names, bool paper_procedures) {
  std::vector<std::string> roi, fraction;
  std::vector<int> size;
  std::vector<double> value, se, lower, upper, p, p_corrected, subject_p;
  for (d2b::index_t r = 0; r < d2b::index_t(parts.rois.size()); ++r)
    for (d2b::index_t s = 1; s <= parts.fraction_count(); ++s) {
      std::string members;
      for (d2b::index_t j = 0; j < parts.k; ++j)
        if (s >> j & 1) members += (members.empty() ? "" : " & ") + parts.name(j, r);
      roi.push_back(roi_names[std::size_t(r)]);
      fraction.push_back(members);
      size.push_back(std::popcount(static_cast<std::uint64_t>(s)));
      value.push_back(parts.fractions(s - 1, r));
      se.push_back(entry(parts.bootstrap.standard_error, s - 1, r));
      const double nan = std::numeric_limits<double>::quiet_NaN();  // see bar_table
      lower.push_back(paper_procedures ? nan : entry(parts.bootstrap.lower, s - 1, r));
      upper.push_back(paper_procedures ? nan : entry(parts.bootstrap.upper, s - 1, r));
      p.push_back(entry(parts.permutation.p_value, s - 1, r));
      p_corrected.push_back(entry(parts.p_corrected, s - 1, r));
      subject_p.push_back(entry(parts.subject_p, s - 1, r));
    }
  d2b::io::table t;
  t.add("roi", roi)
      .add("fraction", fraction)
      .add("members", size)
      .add("variance", value)
      .add("se", se)
      .add("ci_lower", lower)
      .add("ci_upper", upper)
      .add("p", p)
      .add("p_corrected", p_corrected)
      .add("subject_p", subject_p);
  return t;
}

d2b::io::table pair_table(const d2b::partition_analysis_result& parts, const partition_p& p,
                          const std::vector<std::string>& roi_names) {
  std::vector<std::string> roi, name_a, name_b;
  std::vector<int> position_a, position_b;
  std::vector<double> a_minus_b, b_minus_a, shown;
  const auto raw = [&](d2b::index_t a, d2b::index_t b, d2b::index_t r) {
    return parts.permutation.p_differences.size() == 0
               ? std::numeric_limits<double>::quiet_NaN()
               : parts.permutation.p_difference((d2b::index_t(1) << a) - 1,
                                                (d2b::index_t(1) << b) - 1)[r];
  };
  for (d2b::index_t r = 0; r < d2b::index_t(parts.rois.size()); ++r)
    for (d2b::index_t a = 0; a < parts.k; ++a)
      for (d2b::index_t b = a + 1; b < parts.k; ++b) {
        roi.push_back(roi_names[std::size_t(r)]);
        position_a.push_back(int(a) + 1);
        position_b.push_back(int(b) + 1);
        name_a.push_back(parts.name(a, r));
        name_b.push_back(parts.name(b, r));
        a_minus_b.push_back(raw(a, b, r));
        b_minus_a.push_back(raw(b, a, r));
        shown.push_back(p.pair(a, b, r));
      }
  d2b::io::table t;
  t.add("roi", roi)
      .add("position_a", position_a)
      .add("position_b", position_b)
      .add("a", name_a)
      .add("b", name_b)
      .add("p_a_minus_b", a_minus_b)
      .add("p_b_minus_a", b_minus_a)
      .add("p_shown", shown);
  return t;
}

void describe_panel(std::ostream& text, const d2b::partition_analysis_result& parts,
                    const partition_p& p, d2b::index_t r, double alpha) {
  const std::vector<d2b::partition_bar> bars = parts.bars(r);
  for (std::size_t j = 0; j < bars.size(); ++j) {
    const d2b::partition_bar& b = bars[j];
    const double shown = p.unique(d2b::index_t(j), r);
    text << "  " << j + 1 << ". " << d2b::paper::display_name(b.name) << ": unique "
         << format(b.unique) << " ± " << format(b.standard_error) << ", p " << format(shown)
         << (shown <= alpha ? " *" : "") << "\n";
  }
  for (d2b::index_t a = 0; a < parts.k; ++a)
    for (d2b::index_t b = a + 1; b < parts.k; ++b)
      if (const double q = p.pair(a, b, r); q <= alpha)
        text << "  " << d2b::paper::display_name(bars[std::size_t(a)].name) << " vs "
             << d2b::paper::display_name(bars[std::size_t(b)].name) << ": p " << format(q)
             << " *\n";
}

void write_map(const fs::path& path, const searchlights& where, const Eigen::MatrixXd& values) {
  d2b::io::write_nifti(path, xt::cast<float>(d2b::paint(where.mask, where.table, values)),
                       where.mask.geometry());
}

}  // namespace figure
