// The translation unit clang-tidy checks for the I/O component: every io header, with the
// readers' and writers' templates instantiated.
#include <dnn2brain/io.hpp>
#include <dnn2brain/io/dataset.hpp>
#include <dnn2brain/searchlight.hpp>

#include <xtensor/xtensor.hpp>

int main(int argc, char** argv) try {
  namespace io = dnn2brain::io;
  if (argc < 2) return 1;
  const std::filesystem::path dir = argv[1];
  const xt::xtensor<float, 2> a = xt::ones<float>({3, 4});
  io::write_npy(dir / "a.npy", a);
  const auto b = io::read_npy<double>(dir / "a.npy");
  const auto names = io::read_npy_strings(dir / "s.npy");
  io::npz_writer writer(dir / "a.npz", {.compressed = true});
  writer.add("a", a);
  writer.commit();
  const io::npz_archive npz(dir / "a.npz");
  const auto c = npz.read<float>("a");
  const auto d = io::read_nifti<float>(dir / "x.nii.gz");
  io::write_nifti(dir / "y.nii", d.data, d.geometry);
  const auto mask = io::read_nifti_volume<std::uint8_t>(dir / "mask.nii");
  const dnn2brain::brain_mask m(mask);
  const auto series = io::read_nifti_series<float>(dir / "bold.nii");
  const auto patterns = m.apply(series);
  io::mat_file mat(dir / "x.mat");
  const auto value = mat.read("rdm");
  const auto e = value.array<double>();
  const auto text = mat.read("name").string();
  const auto table = dnn2brain::make_neighbor_table(m, dnn2brain::neighborhood::sphere{2.0});
  io::save_neighbor_table(dir / "t.d2bnt", table);
  const auto loaded = io::load_neighbor_table(dir / "t.d2bnt");
  io::table results;
  results.add("model", std::vector<std::string>{"a", "b"});
  results.add("r", std::vector<double>{0.5, 0.25});
  io::write_csv(dir / "r.csv", results);
  io::write_json(dir / "r.json", results);
  const io::csv_table labels = io::read_csv(dir / "labels.csv");
  io::write_mat(dir / "w.mat", {{"rdm", e}});
  io::npy_reader part(dir / "a.npy");
  const auto slab = part.read_slab<float>(0, 1);
  const io::dataset data = io::read_dataset(dir / "dataset", {.searchlight = false});
  io::write_dataset(dir / "copy", data);
  return static_cast<int>(b.size() + names.size() + c.size() + patterns.size() + e.size() +
                          text.size() + std::size_t(loaded.size()) + labels.rows() + slab.size() +
                          data.files.size());
} catch (const std::exception&) {
  return 1;
}
