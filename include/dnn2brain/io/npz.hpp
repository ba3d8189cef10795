#ifndef DNN2BRAIN_IO_NPZ_HPP
#define DNN2BRAIN_IO_NPZ_HPP

// numpy's .npz archives: zip files (stored or deflated, zip64 included) of .npy entries, as
// numpy.savez and numpy.savez_compressed write them.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/detail/xtensor_compat.hpp>
#include <dnn2brain/io/detail/binary_file.hpp>
#include <dnn2brain/io/detail/zip.hpp>
#include <dnn2brain/io/npy.hpp>

namespace dnn2brain::io {

/// \brief The arrays of an .npz file (numpy.savez / savez_compressed), read on demand.
///
/// Opening reads the zip's end-of-central-directory record (zip64 too) and its central directory;
/// entry sizes and CRCs come from there, never from the local headers alone. Entries may be
/// stored or deflated. Each read extracts one entry, checks its size and CRC-32, and parses it as
/// an .npy image with the checks of read_npy. Names are accepted with or without ".npy"
/// ("arr_0" or "arr_0.npy"). Const member functions open the file anew, so one archive may be
/// read from several threads.
class npz_archive {
 public:
  /// \throws io_error naming the file and the field if it is not a readable zip archive.
  explicit npz_archive(std::filesystem::path path) : m_zip(std::move(path), "npz_archive") {}

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_zip.path(); }

  /// Entry names as numpy.load(...).files lists them: ".npy" removed, in archive order.
  /// Entries that cannot be read (pickled objects) are listed too.
  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : m_zip.entries())
      out.push_back(e.name.ends_with(".npy") ? e.name.substr(0, e.name.size() - 4) : e.name);
    return out;
  }

  [[nodiscard]] bool contains(std::string_view name) const noexcept {
    return find(name) != nullptr;
  }

  /// The validated .npy header of an entry (extracts the entry to check it completely).
  [[nodiscard]] npy_header header(std::string_view name) const {
    return parse_entry("npz_archive::header", name,
                       [](auto&, const npy_header& h, const auto&) { return h; });
  }

  /// An entry as an array of T, under the conversion rule of read_npy.
  template <npy_element T>
  [[nodiscard]] npy_array<T> read(std::string_view name) const {
    return parse_entry(
        "npz_archive::read", name, [](auto& source, const npy_header& h, const auto& origin) {
          return detail::read_npy_values<T>(source, h, origin, "read it with read_strings");
        });
  }

  /// A string entry ('U' or 'S'), flattened in C order, as read_npy_strings does.
  [[nodiscard]] std::vector<std::string> read_strings(std::string_view name) const {
    return parse_entry("npz_archive::read_strings", name,
                       [](auto& source, const npy_header& h, const auto& origin) {
                         return detail::read_npy_string_values(source, h, origin,
                                                               "read it with read<T>");
                       });
  }

 private:
  // An exact name first, then the name with ".npy" appended.
  [[nodiscard]] const detail::zip_entry* find(std::string_view name) const noexcept {
    if (const detail::zip_entry* e = m_zip.find(name)) return e;
    for (const auto& e : m_zip.entries())
      if (e.name.size() == name.size() + 4 && e.name.starts_with(name) && e.name.ends_with(".npy"))
        return &e;
    return nullptr;
  }

  [[nodiscard]] detail::file_origin origin_of(const char* function, std::string_view name) const {
    const detail::zip_entry* e = find(name);
    std::string label = detail::quoted(path());
    label += " entry '";
    label += e != nullptr ? std::string_view(e->name) : name;
    label += '\'';
    return {function, std::move(label)};
  }

  const detail::zip_entry& entry(std::string_view name, const detail::file_origin& origin) const {
    if (const detail::zip_entry* e = find(name)) return *e;
    std::string known;
    for (const auto& n : names()) {
      if (!known.empty()) known += ", ";
      known += n;
    }
    origin.fail("no such entry; the archive holds: ", known.empty() ? "nothing" : known.c_str());
  }

  // Extracts an entry, validates its .npy header and returns parse(source, header, origin).
  template <typename Parse>
  std::invoke_result_t<Parse, detail::npy_memory_bytes&, const npy_header&,
                       const detail::file_origin&>
  parse_entry(const char* function, std::string_view name, Parse&& parse) const {
    const detail::file_origin origin = origin_of(function, name);
    const auto bytes = m_zip.extract(entry(name, origin), origin);
    detail::npy_memory_bytes source(bytes);
    const npy_header h = detail::parse_npy_header(source, origin);
    return std::forward<Parse>(parse)(source, h, origin);
  }

  detail::zip_reader m_zip;
};

/// One entry of an .npz file as an array of T (an npz_archive opened for one read).
template <npy_element T>
[[nodiscard]] npy_array<T> read_npz(const std::filesystem::path& path, std::string_view name) {
  return npz_archive(path).read<T>(name);
}

/// How npz_writer stores its entries.
struct npz_options {
  /// Deflate the entries (numpy.savez_compressed); otherwise store them (numpy.savez).
  bool compressed = false;
  /// Write zip64 records even when no size or offset needs them (Python's force_zip64). They
  /// are written automatically for entries or archives beyond 4 GiB.
  bool zip64 = false;
};

/// \brief Writes an .npz archive that numpy.load reads, entry by entry.
///
/// Each add() serialises one array as an .npy image (as write_npy) and appends it to a temporary
/// file; commit() writes the central directory and renames the temporary onto the target.
/// Destroyed without commit(), the writer leaves no file behind. Memory: one entry at a time.
class npz_writer {
 public:
  explicit npz_writer(std::filesystem::path path, npz_options options = {})
      : m_zip(std::move(path), options.zip64, "npz_writer"), m_options(options) {}

  /// Appends `array` as entry `name` (".npy" is appended unless present, as numpy.savez does).
  /// \throws invalid_argument for an empty or repeated name or after commit(); io_error if
  ///         writing fails.
  template <typename E>
  requires npy_element<std::remove_cv_t<typename E::value_type>>
  void add(std::string name, const xt::xexpression<E>& array) {
    if (!name.ends_with(".npy")) name += ".npy";
    if (m_zip.committed())
      dnn2brain::detail::throw_invalid_argument("npz_writer::add",
                                                "expected a writer not yet committed, got one "
                                                "committed before adding '" +
                                                    name + "'");
    if (name == ".npy" || name.size() > 0xFFFF)
      dnn2brain::detail::throw_invalid_argument(
          "npz_writer::add",
          "expected a non-empty entry name shorter than 64 KiB, got '" + name.substr(0, 64) + "'");
    if (m_zip.contains(name))
      dnn2brain::detail::throw_invalid_argument(
          "npz_writer::add", "expected a new entry name, got '" + name + "' a second time");
    std::string image;
    detail::serialize_npy(array,
                          [&](const char* data, std::size_t size) { image.append(data, size); });
    m_zip.add(std::move(name), image, m_options.compressed);
  }

  /// Writes the central directory and makes the file appear. \throws io_error if writing fails.
  void commit() { m_zip.commit(); }

 private:
  detail::zip_writer m_zip;
  npz_options m_options;
};

/// \brief Writes arrays of one element type as an .npz file (numpy.savez, or savez_compressed
/// with options.compressed), atomically. Keys become entry names ("rdm" -> "rdm.npy").
template <npy_element T, typename Compare, typename Allocator>
void write_npz(const std::filesystem::path& path,
               const std::map<std::string, xt::xarray<T>, Compare, Allocator>& arrays,
               npz_options options = {}) {
  npz_writer writer(path, options);
  for (const auto& [name, array] : arrays) writer.add(name, array);
  writer.commit();
}

}  // namespace dnn2brain::io

#endif  // DNN2BRAIN_IO_NPZ_HPP
