#ifndef DNN2BRAIN_IO_TABLE_HPP
#define DNN2BRAIN_IO_TABLE_HPP

#include <charconv>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
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

}  // namespace dnn2brain::io

#endif  // DNN2BRAIN_IO_TABLE_HPP
