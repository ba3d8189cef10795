// Result tables as CSV and JSON: exact output, quoting and escaping, shortest round-trip doubles,
// column checks, and atomic writes.
#include <dnn2brain/io/table.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Core>

#include <catch2/catch.hpp>

#include "support/io_support.hpp"

namespace fs = std::filesystem;
namespace io = dnn2brain::io;
using Catch::Contains;

namespace {

using dnn2brain::test::count_entries;
using dnn2brain::test::read_file;
using dnn2brain::test::scratch_dir;

std::string csv(const io::table& t) {
  std::ostringstream out;
  io::write_csv(out, t);
  return out.str();
}

std::string json(const io::table& t) {
  std::ostringstream out;
  io::write_json(out, t);
  return out.str();
}

io::table example() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  io::table t;
  t.add("model", {"alexnet", "vgg, 16", "say \"hi\"", "two\nlines", "caf\xC3\xA9 \xF0\x9F\x98\x80"})
      .add("adjusted_r2", std::vector<double>{0.1, 1.0 / 3.0, nan, -inf, -0.0})
      .add("rank", std::vector<std::int64_t>{1, std::numeric_limits<std::int64_t>::min(), 0, -7,
                                             std::numeric_limits<std::int64_t>::max()});
  return t;
}

}  // namespace

TEST_CASE("write_csv quotes per RFC 4180 and prints shortest round-trip numbers", "[io][table]") {
  CHECK(csv(example()) ==
        "model,adjusted_r2,rank\n"
        "alexnet,0.1,1\n"
        "\"vgg, 16\",0.3333333333333333,-9223372036854775808\n"
        "\"say \"\"hi\"\"\",NaN,0\n"
        "\"two\nlines\",-inf,-7\n"
        "caf\xC3\xA9 \xF0\x9F\x98\x80,-0,9223372036854775807\n");
  io::table names;
  names.add("a,b", std::vector<double>{1e300}).add("c\"d", std::vector<float>{1.5f});
  CHECK(csv(names) == "\"a,b\",\"c\"\"d\"\n1e+300,1.5\n");
  CHECK(csv(io::table{}) == "\n");
}

TEST_CASE("write_json writes records with null for NaN and Inf and escaped strings",
          "[io][table]") {
  CHECK(json(example()) ==
        "[\n"
        "  {\"model\": \"alexnet\", \"adjusted_r2\": 0.1, \"rank\": 1},\n"
        "  {\"model\": \"vgg, 16\", \"adjusted_r2\": 0.3333333333333333, "
        "\"rank\": -9223372036854775808},\n"
        "  {\"model\": \"say \\\"hi\\\"\", \"adjusted_r2\": null, \"rank\": 0},\n"
        "  {\"model\": \"two\\nlines\", \"adjusted_r2\": null, \"rank\": -7},\n"
        "  {\"model\": \"caf\xC3\xA9 \xF0\x9F\x98\x80\", \"adjusted_r2\": -0, "
        "\"rank\": 9223372036854775807}\n"
        "]\n");
  io::table control;
  control.add("k\\", {std::string("\x01\t\b\f\r\x1f\x7f/", 8)});
  CHECK(json(control) == "[\n  {\"k\\\\\": \"\\u0001\\t\\b\\f\\r\\u001f\x7f/\"}\n]\n");
  CHECK(json(io::table{}) == "[]\n");
  io::table empty;
  empty.add("x", std::vector<double>{});
  CHECK(json(empty) == "[]\n");
  CHECK(csv(empty) == "x\n");
}

TEST_CASE("write_json refuses text that is not UTF-8 and leaves no file", "[io][table]") {
  const scratch_dir dir("table-utf8");
  for (const std::string bad : {"\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "a\xFF"}) {
    io::table t;
    t.add("name", {"ok", bad});
    INFO("bytes " << bad.size());
    CHECK_THROWS_WITH(io::write_json(dir.path / "t.json", t), Contains("dnn2brain::write_json") &&
                                                                  Contains("UTF-8") &&
                                                                  Contains("column 'name' row 1"));
    CHECK_FALSE(fs::exists(dir.path / "t.json"));
    CHECK(fs::is_empty(dir.path));
  }
  io::table t;  // the longest valid forms pass through
  t.add("ok", {"\xF4\x8F\xBF\xBF \xEF\xBF\xBF \xE0\xA0\x80 \xC2\x80"});
  CHECK(json(t) == "[\n  {\"ok\": \"\xF4\x8F\xBF\xBF \xEF\xBF\xBF \xE0\xA0\x80 \xC2\x80\"}\n]\n");
}

TEST_CASE("Doubles written to CSV read back bit for bit", "[io][table]") {
  std::mt19937_64 rng(3);
  std::vector<double> values;
  for (int k = 0; k < 2000; ++k) {
    double v;
    const std::uint64_t bits = rng();
    std::memcpy(&v, &bits, sizeof v);
    if (std::isfinite(v)) values.push_back(v);
  }
  values.push_back(std::numeric_limits<double>::denorm_min());
  values.push_back(std::numeric_limits<double>::max());
  io::table t;
  t.add("x", values);
  std::istringstream in(csv(t));
  std::string line;
  std::getline(in, line);
  CHECK(line == "x");
  std::size_t k = 0, exact = 0;
  while (std::getline(in, line)) {
    double back = 0.0;
    const auto result = std::from_chars(line.data(), line.data() + line.size(), back);
    exact += result.ec == std::errc{} && back == values[k];
    ++k;
  }
  CHECK(k == values.size());
  CHECK(exact == values.size());
}

TEST_CASE("table::add takes strings, number ranges and Eigen vectors of equal length",
          "[io][table]") {
  io::table t;
  t.add("s", {"a", "b", "c"})
      .add("eigen", Eigen::Vector3d(0.5, 1.5, 2.5))
      .add("row", Eigen::RowVector3i(1, 2, 3))
      .add("flags", std::vector<bool>{true, false, true})
      .add("array", std::array<std::uint8_t, 3>{7, 8, 9})
      .add("floats", std::vector<float>{0.1f, 0.2f, 0.3f})
      .add("block", Eigen::Matrix3d::Identity().col(1));
  CHECK(t.rows() == 3);
  CHECK(t.columns() == 7);
  CHECK(t.names() ==
        std::vector<std::string>{"s", "eigen", "row", "flags", "array", "floats", "block"});
  CHECK(std::get<std::vector<std::int64_t>>(t.at("row")) == std::vector<std::int64_t>{1, 2, 3});
  CHECK(std::get<std::vector<std::int64_t>>(t.at("flags")) == std::vector<std::int64_t>{1, 0, 1});
  CHECK(std::get<std::vector<double>>(t.at(std::size_t{1})) == std::vector<double>{0.5, 1.5, 2.5});
  CHECK(csv(t) ==
        "s,eigen,row,flags,array,floats,block\n"
        "a,0.5,1,1,7,0.10000000149011612,0\n"
        "b,1.5,2,0,8,0.20000000298023224,1\n"
        "c,2.5,3,1,9,0.30000001192092896,0\n");

  const auto message = [&](auto&& add) {
    try {
      add();
    } catch (const dnn2brain::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(no dnn2brain::invalid_argument thrown)");
  };
  CHECK_THAT(message([&] { t.add("short", std::vector<double>{1.0}); }),
             Contains("dnn2brain::table::add") &&
                 Contains("expected 3 values for column 'short'") && Contains("got 1"));
  CHECK_THAT(message([&] {
               t.add("s", std::vector<double>{1, 2, 3});
             }),
             Contains("'s' a second time"));
  CHECK_THAT(message([&] { t.add("", std::vector<double>{1, 2, 3}); }), Contains("empty"));
  CHECK_THAT(
      message([&] {
        t.add("big", std::vector<std::uint64_t>{1, std::numeric_limits<std::uint64_t>::max(), 3});
      }),
      Contains("fit in int64") && Contains("row 1"));
  CHECK_THAT(message([&] { t.add("matrix", Eigen::Matrix3d::Identity()); }),
             Contains("expected a vector") && Contains("3 x 3"));
  CHECK_THAT(message([&] { (void)t.at("none"); }), Contains("dnn2brain::table::at"));
  CHECK(t.columns() == 7);  // failed adds change nothing
}

TEST_CASE("write_csv and write_json write files atomically", "[io][table]") {
  const scratch_dir dir("table-files");
  const io::table t = example();
  io::write_csv(dir.path / "t.csv", t);
  io::write_json(dir.path / "t.json", t);
  CHECK(read_file(dir.path / "t.csv") == csv(t));
  CHECK(read_file(dir.path / "t.json") == json(t));
  CHECK_THROWS_AS(io::write_csv(dir.path / "missing" / "t.csv", t), dnn2brain::io_error);
  CHECK(count_entries(dir.path) == 2);
}

TEST_CASE("read_csv reads RFC 4180: quotes, doubled quotes, line breaks in fields, CRLF, a BOM",
          "[io][table][csv]") {
  const scratch_dir dir("csv-read");
  const fs::path path = dnn2brain::test::write_file(
      dir.path / "labels.csv",
      "\xEF\xBB\xBFid,roi,note\r\n"
      "1,V1v,plain\r\n"
      "\r\n"  // an empty line is skipped
      "2,\"hV4 \",\"say \"\"hi\"\", twice\"\r\n"
      "3,\"two\nlines\",\n"
      "4,,\"\"\r"      // a lone CR ends a record too
      "5,a\"b,last");  // no line end at the end; a quote inside an unquoted field is text
  const io::csv_table t = io::read_csv(path);
  CHECK(t.path() == path);
  CHECK(t.names() == std::vector<std::string>{"id", "roi", "note"});
  REQUIRE(t.rows() == 5);
  CHECK(t.columns() == 3);
  CHECK(t.row(0) == std::vector<std::string>{"1", "V1v", "plain"});
  CHECK(t.at(1, "roi") == "hV4 ");  // spaces are kept
  CHECK(t.at(1, 2) == "say \"hi\", twice");
  CHECK(t.at(2, "roi") == "two\nlines");
  CHECK(t.at(2, "note").empty());
  CHECK(t.row(3) == std::vector<std::string>{"4", "", ""});
  CHECK(t.row(4) == std::vector<std::string>{"5", "a\"b", "last"});
  CHECK(t.line(0) == 2);
  CHECK(t.line(1) == 4);
  CHECK(t.line(2) == 5);
  CHECK(t.line(3) == 7);
  CHECK(t.line(4) == 8);
  CHECK(t.column("note") == 2);
  CHECK_THROWS_WITH(t.column("ROI"), Contains("dnn2brain::csv_table::column") &&
                                         Contains("expected a column 'ROI'") &&
                                         Contains("labels.csv") && Contains("'id', 'roi', 'note'"));
  CHECK_THROWS_AS(t.column("ROI"), dnn2brain::io_error);
  CHECK_THROWS_AS(t.row(5), dnn2brain::invalid_argument);
  CHECK_THROWS_AS(t.at(0, 3), dnn2brain::invalid_argument);

  // A header only: no rows. A trailing comma is an empty last field.
  const io::csv_table header =
      io::read_csv(dnn2brain::test::write_file(dir.path / "header.csv", "a,b,\n"));
  CHECK(header.names() == std::vector<std::string>{"a", "b", ""});
  CHECK(header.rows() == 0);
  const io::csv_table twice =
      io::read_csv(dnn2brain::test::write_file(dir.path / "twice.csv", "x,x\n1,2\n"));
  CHECK_THROWS_WITH(twice.column("x"),
                    Contains("expected one column 'x'") && Contains("twice.csv"));
}

TEST_CASE("read_csv reads back what write_csv writes", "[io][table][csv]") {
  const scratch_dir dir("csv-round-trip");
  io::write_csv(dir.path / "t.csv", example());
  const io::csv_table t = io::read_csv(dir.path / "t.csv");
  CHECK(t.names() == std::vector<std::string>{"model", "adjusted_r2", "rank"});
  REQUIRE(t.rows() == 5);
  const std::vector<std::string> models = {"alexnet", "vgg, 16", "say \"hi\"", "two\nlines",
                                           "caf\xC3\xA9 \xF0\x9F\x98\x80"};
  for (std::size_t r = 0; r < t.rows(); ++r) CHECK(t.at(r, "model") == models[r]);
  CHECK(t.at(1, "adjusted_r2") == "0.3333333333333333");
  CHECK(t.at(2, "adjusted_r2") == "NaN");
  CHECK(t.at(4, "rank") == "9223372036854775807");
}

TEST_CASE("read_csv names the file and the line of what is wrong", "[io][table][csv]") {
  const scratch_dir dir("csv-errors");
  const auto error = [&](const std::string& name, const std::string& text) {
    const fs::path path = dnn2brain::test::write_file(dir.path / name, text);
    try {
      (void)io::read_csv(path);
    } catch (const dnn2brain::io_error& e) {
      return std::string(e.what());
    }
    return std::string("(no dnn2brain::io_error thrown)");
  };
  CHECK_THAT(error("ragged.csv", "a,b\n1,2\n\n3,4,5\n"),
             Contains("dnn2brain::read_csv") && Contains("ragged.csv") && Contains("line 4") &&
                 Contains("expected 2 fields") && Contains("got 3"));
  CHECK_THAT(error("short.csv", "a,b\r\n1\r\n"), Contains("line 2") && Contains("got 1"));
  CHECK_THAT(error("open.csv", "a,b\n1,2\n3,\"four\n5,6\n"),
             Contains("open.csv") && Contains("line 3") && Contains("closing quote") &&
                 Contains("end of the file"));
  CHECK_THAT(error("after.csv", "a,b\n1,\"2\"x\n"),
             Contains("after.csv") && Contains("line 2") && Contains("after a closing quote"));
  CHECK_THAT(error("empty.csv", ""),
             Contains("empty.csv") && Contains("line 1") && Contains("header row"));
  CHECK_THAT(error("blank.csv", "\xEF\xBB\xBF\r\n\n"),
             Contains("blank.csv") && Contains("header row"));
  CHECK_THROWS_WITH(io::read_csv(dir.path / "missing.csv"),
                    Contains("missing.csv") && Contains("no such file"));
  CHECK_THROWS_AS(io::read_csv(dir.path), dnn2brain::io_error);
}
