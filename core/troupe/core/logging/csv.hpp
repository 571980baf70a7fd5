#pragma once

// CSV as RFC 4180 has it, the one writer and reader of troupe's
// metrics.csv (the CSV sink widening its header, the report reading a run
// back): a field holding a comma, a quote or a line break is quoted, quotes
// inside doubled.

#include <istream>
#include <string>
#include <vector>

namespace troupe::core {

/// `x` as one CSV field: as it is, or quoted when it needs to be.
std::string csv_field(const std::string& x);

/// Reads the next record of `in` into `fields` (a quoted field may span
/// lines; a trailing CR is dropped). Returns false at the end of input.
/// Throws std::runtime_error for a quote that is not closed or text after a
/// closing quote.
bool read_csv_record(std::istream& in, std::vector<std::string>& fields);

} // namespace troupe::core
