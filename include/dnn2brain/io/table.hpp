#ifndef DNN2BRAIN_IO_TABLE_HPP
#define DNN2BRAIN_IO_TABLE_HPP

#include <algorithm>
#include <charconv>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <ostream>
#include <ranges>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/io/atomic_file.hpp>
#include <dnn2brain/io/detail/binary_file.hpp>
#include <dnn2brain/io/detail/utf8.hpp>

namespace dnn2brain::io {

namespace detail {

template <typename T>
concept character = std::same_as < std::remove_cv_t<T>,
char > || std::same_as<std::remove_cv_t<T>, wchar_t> ||
    std::same_as<std::remove_cv_t<T>, char8_t> || std::same_as<std::remove_cv_t<T>, char16_t> ||
    std::same_as<std::remove_cv_t<T>, char32_t>;

/// Numbers a table column accepts: bool, integers and floating point, but not characters (so
/// that a string literal is never taken for a column of its bytes).
template <typename T>
concept table_number = std::is_arithmetic_v<std::remove_cv_t<T>> && !character<T>;

}  // namespace detail

/// A range of numbers that becomes one table column (std::vector<double>, std::array<int, 3>,
/// std::span<const float>, ...). Eigen vectors have their own overload of table::add.
template <typename R>
concept table_number_range =
    std::ranges::input_range<R> && detail::table_number<std::ranges::range_value_t<R>> &&
    !std::derived_from<std::remove_cvref_t<R>, Eigen::EigenBase<std::remove_cvref_t<R>>>;

/// \brief A result table: named columns of equal length, each holding doubles, 64-bit integers or
/// strings, written with write_csv() or write_json().
///
/// \code
/// dnn2brain::io::table t;
/// t.add("model", std::vector<std::string>{"alexnet", "vgg16"})
///  .add("adjusted_r2", r2)                 // Eigen vector or any range of numbers
///  .add("rank", std::vector<int>{1, 2});  // integers stay integers
/// \endcode
class table {
 public:
  using column_values =
      std::variant<std::vector<double>, std::vector<std::int64_t>, std::vector<std::string>>;

  /// Adds a column of strings (UTF-8).
  /// \throws invalid_argument for an empty or repeated name, or a length that differs from the
  ///         columns already present.
  table& add(std::string name, std::vector<std::string> values) {
    const std::size_t n = values.size();
    return insert(std::move(name), std::move(values), n);
  }

  /// Adds a column of numbers: floating-point values become doubles; integers and bools become
  /// int64 (unsigned values above 2^63 − 1 are refused).
  /// \throws invalid_argument as the string overload, or for an unsigned value beyond int64.
  template <table_number_range R>
  table& add(std::string name, const R& values) {
    using value = std::remove_cv_t<std::ranges::range_value_t<R>>;
    using stored = std::conditional_t<std::floating_point<value>, double, std::int64_t>;
    std::vector<stored> column;
    if constexpr (std::ranges::sized_range<R>) column.reserve(std::ranges::size(values));
    for (const auto& v : values) {
      if constexpr (std::floating_point<value>)
        column.push_back(static_cast<double>(v));
      else
        column.push_back(to_int64(static_cast<value>(v), name, column.size()));
    }
    const std::size_t n = column.size();
    return insert(std::move(name), std::move(column), n);
  }

  /// Adds an Eigen vector (row or column; any dense expression) as a column, with the element
  /// rules of the range overload. \throws invalid_argument for a matrix that is not a vector.
  template <typename Derived>
  requires detail::table_number<typename Derived::Scalar> table& add(
      std::string name, const Eigen::DenseBase<Derived>& values) {
    if (values.rows() != 1 && values.cols() != 1 && values.size() != 0)
      dnn2brain::detail::throw_invalid_argument(
          "table::add",
          dnn2brain::detail::concat("expected a vector for column '", name, "', got a ",
                                    values.rows(), " x ", values.cols(), " matrix"));
    std::vector<typename Derived::Scalar> flat;
    flat.reserve(static_cast<std::size_t>(values.size()));
    for (Eigen::Index i = 0; i < values.rows(); ++i)
      for (Eigen::Index j = 0; j < values.cols(); ++j) flat.push_back(values.derived()(i, j));
    return add(std::move(name), flat);
  }

  /// Number of rows (0 for a table without columns).
  [[nodiscard]] std::size_t rows() const noexcept { return m_rows; }
  /// Number of columns.
  [[nodiscard]] std::size_t columns() const noexcept { return m_columns.size(); }
  /// Column names in the order they were added.
  [[nodiscard]] const std::vector<std::string>& names() const noexcept { return m_names; }

  /// The values of column k (in the order added).
  [[nodiscard]] const column_values& at(std::size_t k) const {
    if (k >= m_columns.size())
      dnn2brain::detail::throw_invalid_argument(
          "table::at", dnn2brain::detail::concat("expected a column index below ", m_columns.size(),
                                                 ", got ", k));
    return m_columns[k];
  }
  /// The values of the column called `name`. \throws invalid_argument if there is none.
  [[nodiscard]] const column_values& at(std::string_view name) const {
    for (std::size_t k = 0; k < m_names.size(); ++k)
      if (m_names[k] == name) return m_columns[k];
    dnn2brain::detail::throw_invalid_argument(
        "table::at", dnn2brain::detail::concat("expected the name of a column, got '", name, "'"));
  }

 private:
  template <typename V>
  static std::int64_t to_int64(V v, const std::string& name, std::size_t row) {
    if constexpr (std::same_as<std::remove_cv_t<V>, bool>) {
      return v ? 1 : 0;
    } else {
      if (!std::in_range<std::int64_t>(v))
        dnn2brain::detail::throw_invalid_argument(
            "table::add", dnn2brain::detail::concat("expected integers that fit in int64 for "
                                                    "column '",
                                                    name, "', got ", v, " in row ", row));
      return static_cast<std::int64_t>(v);
    }
  }

  table& insert(std::string name, column_values values, std::size_t size) {
    if (name.empty())
      dnn2brain::detail::throw_invalid_argument("table::add",
                                                "expected a column name, got an empty one");
    for (const auto& existing : m_names)
      if (existing == name)
        dnn2brain::detail::throw_invalid_argument(
            "table::add", "expected a new column name, got '" + name + "' a second time");
    if (!m_columns.empty() && size != m_rows)
      dnn2brain::detail::throw_invalid_argument(
          "table::add", dnn2brain::detail::concat("expected ", m_rows, " values for column '", name,
                                                  "' (the table's row count), got ", size));
    m_rows = size;
    m_names.push_back(std::move(name));
    m_columns.push_back(std::move(values));
    return *this;
  }

  std::vector<std::string> m_names;
  std::vector<column_values> m_columns;
  std::size_t m_rows = 0;
};

namespace detail {

/// Shortest text that reads back as the same double (std::to_chars); "inf", "-inf", "nan".
inline void append_number(std::string& out, double v) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), v);
  out.append(buffer, result.ptr);
}

inline void append_number(std::string& out, std::int64_t v) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), v);
  out.append(buffer, result.ptr);
}

/// RFC 4180: a field with a comma, quote, CR or LF is quoted, its quotes doubled.
inline void append_csv_field(std::string& out, std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += text;
    return;
  }
  out += '"';
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

inline constexpr std::size_t column_name_row = std::numeric_limits<std::size_t>::max();

/// A JSON string literal: quote, backslash and control characters escaped, UTF-8 passed through.
/// \throws invalid_argument naming the column and row (column_name_row: the column's name) for
///         text that is not valid UTF-8.
inline void append_json_string(std::string& out, std::string_view text, std::string_view column,
                               std::size_t row) {
  constexpr const char* hex = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence(text, i);
      if (n == 0)
        dnn2brain::detail::throw_invalid_argument(
            "write_json", dnn2brain::detail::concat(
                              "expected UTF-8 text, got the byte 0x", hex[c >> 4], hex[c & 0xf],
                              " at offset ", i, row == column_name_row ? " of the name of" : " of",
                              " column '", column, "'", row == column_name_row ? "" : " row ",
                              row == column_name_row ? "" : std::to_string(row)));
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

inline void write_stream(std::ostream& out, const std::string& text) {
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

}  // namespace detail

/// \brief Writes a table as CSV: a header row of column names, then one line per row, "\n" line
/// ends (what pandas.to_csv writes), fields quoted per RFC 4180 when they hold a comma, quote, CR
/// or LF.
///
/// Doubles are printed in the shortest form that reads back to the same value (std::to_chars).
/// NaN is written as `NaN` and infinities as `inf` / `-inf`: pandas.read_csv, numpy.genfromtxt and
/// R's read.csv all read these back as numbers; an empty field stays reserved for missing text.
/// Note that pandas also reads an empty string, and the string "NaN", as a missing value.
inline void write_csv(std::ostream& out, const table& t) {
  std::string line;
  for (std::size_t c = 0; c < t.columns(); ++c) {
    if (c > 0) line += ',';
    detail::append_csv_field(line, t.names()[c]);
  }
  line += '\n';
  detail::write_stream(out, line);
  for (std::size_t r = 0; r < t.rows(); ++r) {
    line.clear();
    for (std::size_t c = 0; c < t.columns(); ++c) {
      if (c > 0) line += ',';
      std::visit(
          [&](const auto& values) {
            using value = typename std::decay_t<decltype(values)>::value_type;
            if constexpr (std::same_as<value, std::string>) {
              detail::append_csv_field(line, values[r]);
            } else if constexpr (std::same_as<value, double>) {
              if (std::isnan(values[r])) {
                line += "NaN";
              } else {
                detail::append_number(line, values[r]);
              }
            } else {
              detail::append_number(line, values[r]);
            }
          },
          t.at(c));
    }
    line += '\n';
    detail::write_stream(out, line);
  }
}

/// Writes the table as a CSV file, atomically (see write_csv(std::ostream&, const table&)).
/// \throws io_error if the file cannot be written.
inline void write_csv(const std::filesystem::path& path, const table& t) {
  write_atomically(path, [&](std::ostream& out) { write_csv(out, t); });
}

/// \brief Writes a table as JSON: an array of records, one object per row with the columns as
/// keys in table order (pandas.read_json(orient="records") reads it), one record per line.
///
/// Doubles use the shortest round-trip form; NaN and infinities, which JSON cannot express, are
/// written as null. Strings are escaped (quote, backslash, control characters as \u00XX) and
/// UTF-8 passes through unchanged.
/// \throws invalid_argument naming the column and row for a string that is not valid UTF-8.
inline void write_json(std::ostream& out, const table& t) {
  std::vector<std::string> keys(t.columns());
  for (std::size_t c = 0; c < t.columns(); ++c) {
    detail::append_json_string(keys[c], t.names()[c], t.names()[c], detail::column_name_row);
    keys[c] += ": ";
  }
  std::string line = "[";
  for (std::size_t r = 0; r < t.rows(); ++r) {
    line += r == 0 ? "\n  {" : ",\n  {";
    for (std::size_t c = 0; c < t.columns(); ++c) {
      if (c > 0) line += ", ";
      line += keys[c];
      std::visit(
          [&](const auto& values) {
            using value = typename std::decay_t<decltype(values)>::value_type;
            if constexpr (std::same_as<value, std::string>) {
              detail::append_json_string(line, values[r], t.names()[c], r);
            } else if constexpr (std::same_as<value, double>) {
              if (std::isfinite(values[r])) {
                detail::append_number(line, values[r]);
              } else {
                line += "null";
              }
            } else {
              detail::append_number(line, values[r]);
            }
          },
          t.at(c));
    }
    line += '}';
    detail::write_stream(out, line);
    line.clear();
  }
  line += t.rows() == 0 ? "]\n" : "\n]\n";
  detail::write_stream(out, line);
}

/// Writes the table as a JSON file, atomically: an invalid string leaves no file behind.
/// \throws invalid_argument as write_json(std::ostream&, const table&); io_error if the file cannot
///         be written.
inline void write_json(const std::filesystem::path& path, const table& t) {
  write_atomically(path, [&](std::ostream& out) { write_json(out, t); });
}

namespace detail {

/// The whole content of a regular file (a FIFO or device is refused unopened).
/// \throws io_error through `origin` if it is missing, not a regular file or cannot be read.
[[nodiscard]] inline std::string read_whole_file(const std::filesystem::path& path,
                                                 const file_origin& origin) {
  const std::uint64_t size = regular_file_size(path, origin);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (size > 0) {
    std::ifstream in = open_for_reading(path, origin);
    read_at(in, 0, text.data(), text.size(), origin);
  }
  return text;
}

}  // namespace detail

/// \brief A CSV file read as text by read_csv(): the header row's column names and the rows of
/// fields, all strings (no type guessing: the caller converts what it needs).
class csv_table {
 public:
  csv_table() = default;

  /// The file it was read from (named in error messages).
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }
  /// Column names, in file order.
  [[nodiscard]] const std::vector<std::string>& names() const noexcept { return m_names; }
  [[nodiscard]] std::size_t columns() const noexcept { return m_names.size(); }
  /// Number of rows after the header.
  [[nodiscard]] std::size_t rows() const noexcept { return m_rows.size(); }
  /// The fields of row r (columns() of them). \throws invalid_argument if r >= rows().
  [[nodiscard]] const std::vector<std::string>& row(std::size_t r) const {
    check_row(r, "csv_table::row");
    return m_rows[r];
  }
  /// The line of the file (1-based) on which row r starts, for messages about its content.
  [[nodiscard]] std::size_t line(std::size_t r) const {
    check_row(r, "csv_table::line");
    return m_lines[r];
  }
  /// \brief Index of the column whose name is exactly `name` (no trimming, case-sensitive).
  /// \throws io_error naming the file and the column if there is no such column, or if two
  /// columns have that name.
  [[nodiscard]] std::size_t column(std::string_view name) const {
    const auto first = std::find(m_names.begin(), m_names.end(), name);
    if (first == m_names.end()) {
      std::string known;
      for (const auto& n : m_names) known.append(known.empty() ? "'" : ", '").append(n) += '\'';
      dnn2brain::detail::throw_io_error(
          "csv_table::column", dnn2brain::detail::concat("expected a column '", name, "' in '",
                                                         m_path.string(), "', got only ", known));
    }
    const auto index = static_cast<std::size_t>(first - m_names.begin());
    if (std::find(first + 1, m_names.end(), name) != m_names.end())
      dnn2brain::detail::throw_io_error(
          "csv_table::column", dnn2brain::detail::concat("expected one column '", name, "' in '",
                                                         m_path.string(), "', got several"));
    return index;
  }
  /// Field of row r in column c. \throws invalid_argument if r or c is out of range.
  [[nodiscard]] const std::string& at(std::size_t r, std::size_t c) const {
    check_row(r, "csv_table::at");
    if (c >= m_names.size())
      dnn2brain::detail::throw_invalid_argument(
          "csv_table::at",
          dnn2brain::detail::concat("expected a column index below ", m_names.size(), ", got ", c));
    return m_rows[r][c];
  }
  /// Field of row r in the column called `name`. \throws as column() and at().
  [[nodiscard]] const std::string& at(std::size_t r, std::string_view name) const {
    return at(r, column(name));
  }

 private:
  friend csv_table read_csv(const std::filesystem::path& path);

  void check_row(std::size_t r, const char* function) const {
    if (r >= m_rows.size())
      dnn2brain::detail::throw_invalid_argument(
          function,
          dnn2brain::detail::concat("expected a row index below ", m_rows.size(), ", got ", r));
  }

  std::filesystem::path m_path;
  std::vector<std::string> m_names;
  std::vector<std::vector<std::string>> m_rows;
  std::vector<std::size_t> m_lines;  // 1-based line on which each row starts
};

/// \brief Reads a CSV file (RFC 4180) into a csv_table: the first record names the columns, every
/// further record is a row of exactly that many fields.
///
/// Fields are separated by commas. A field that starts with a double quote is quoted: it ends at
/// the next lone quote, `""` inside it is one quote, and it may hold commas and line breaks; after
/// its closing quote comes a comma or the end of the record. A quote inside an unquoted field is
/// kept as text. Records end with LF, CRLF or CR; the last one may lack its line end. Empty lines
/// are skipped (as pandas.read_csv does). A leading UTF-8 byte-order mark is dropped. Fields are
/// kept exactly, spaces included ("hV4 " stays "hV4 ").
/// \throws io_error naming the file and the line: a missing or unreadable file, no header row
/// (an empty file), a record whose field count differs from the header's, a quote left open at
/// the end of the file, or text after a closing quote.
/// Complexity: one pass over the file, which is held in memory while it is parsed.
[[nodiscard]] inline csv_table read_csv(const std::filesystem::path& path) {
  const detail::file_origin origin{"read_csv", detail::quoted(path)};
  const std::string text = detail::read_whole_file(path, origin);
  csv_table out;
  out.m_path = path;
  std::size_t pos = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  std::size_t line = 1;
  const auto at_line_end = [&] { return text[pos] == '\n' || text[pos] == '\r'; };
  const auto skip_line_end = [&] {  // LF, CRLF or CR
    if (text[pos] == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') ++pos;
    ++pos;
    ++line;
  };
  bool header = true;
  while (pos < text.size()) {
    if (at_line_end()) {  // an empty line
      skip_line_end();
      continue;
    }
    const std::size_t first_line = line;
    std::vector<std::string> record;
    for (;;) {  // one field per pass
      std::string field;
      if (pos < text.size() && text[pos] == '"') {
        const std::size_t opened = line;
        for (++pos;; ++pos) {
          if (pos == text.size())
            origin.fail("line ", opened,
                        ": expected a closing quote for the field opened there, got the end "
                        "of the file");
          if (text[pos] == '"') {
            if (pos + 1 < text.size() && text[pos + 1] == '"') {
              field += '"';
              ++pos;
              continue;
            }
            ++pos;
            break;
          }
          if (text[pos] == '\n' ||
              (text[pos] == '\r' && (pos + 1 == text.size() || text[pos + 1] != '\n')))
            ++line;
          field += text[pos];
        }
        if (pos < text.size() && text[pos] != ',' && !at_line_end())
          origin.fail("line ", line, ": expected a comma or a line end after a closing quote, got ",
                      detail::printable(std::string_view(text).substr(pos), 16));
      } else {
        const std::size_t end = std::min(text.find_first_of(",\r\n", pos), text.size());
        field.assign(text, pos, end - pos);
        pos = end;
      }
      record.push_back(std::move(field));
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        continue;
      }
      break;
    }
    if (header) {
      out.m_names = std::move(record);
      header = false;
    } else if (record.size() != out.m_names.size()) {
      origin.fail("line ", first_line, ": expected ", out.m_names.size(),
                  " fields (as the header), got ", record.size());
    } else {
      out.m_rows.push_back(std::move(record));
      out.m_lines.push_back(first_line);
    }
    if (pos < text.size()) skip_line_end();
  }
  if (header)
    origin.fail(
        "line 1: expected a header row of column names, got none (the file is empty or "
        "holds only empty lines)");
  return out;
}

}  // namespace dnn2brain::io

#endif  // DNN2BRAIN_IO_TABLE_HPP
