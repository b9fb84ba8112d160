//! A CSV file as a table: header names mapped to positions, rows with their line numbers.
//!
//! Handles what published files do: a UTF-8 byte-order mark, CRLF or LF (mixed, even), quoted
//! fields with commas, and columns in any order (looked up by name, case-insensitively).

use crate::Problem;

#[derive(Debug)]
pub struct Table {
    pub file: String,
    headers: Vec<String>,
    pub rows: Vec<Row>,
}

#[derive(Debug)]
pub struct Row {
    pub line: u64,
    pub fields: csv::StringRecord,
}

impl Table {
    /// Reads `bytes` as CSV with a header row. Every malformed record is a problem.
    pub fn read(file: &str, bytes: &[u8]) -> Result<Table, Vec<Problem>> {
        Self::read_with_progress(file, bytes, |_| {})
    }

    /// [`Table::read`], telling `progress` how many bytes are read every 10,000 records.
    pub fn read_with_progress(
        file: &str,
        bytes: &[u8],
        mut progress: impl FnMut(u64),
    ) -> Result<Table, Vec<Problem>> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let problem = |line: u64, message: String| Problem {
            file: file.to_owned(),
            line,
            column: None,
            message,
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(vec![problem(
                1,
                "the file is empty: expected a header row".into(),
            )]);
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let headers: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(str::to_owned).collect(),
            Err(e) => {
                return Err(vec![problem(
                    1,
                    format!("the header row is unreadable: {}", reason(&e)),
                )]);
            }
        };
        let mut rows = Vec::new();
        let mut problems = Vec::new();
        let mut lines = LineCounter::new(bytes);
        for (n, record) in reader.records().enumerate() {
            if n % 10_000 == 0 {
                progress(reader_position(&record));
            }
            match record {
                Ok(fields) => {
                    let line = lines.at(fields.position().map_or(0, csv::Position::byte));
                    if fields.iter().all(str::is_empty) {
                        continue; // a blank line
                    }
                    rows.push(Row { line, fields });
                }
                Err(e) => {
                    let line = lines.at(e.position().map_or(0, csv::Position::byte));
                    problems.push(problem(line, reason(&e)));
                }
            }
        }
        if problems.is_empty() {
            Ok(Table {
                file: file.to_owned(),
                headers,
                rows,
            })
        } else {
            Err(problems)
        }
    }

    /// The position of the column named `name` (case-insensitive), or a problem at line 1.
    pub fn column(&self, name: &str) -> Result<usize, Problem> {
        self.find(name).ok_or_else(|| Problem {
            file: self.file.clone(),
            line: 1,
            column: Some(name.to_owned()),
            message: "required column is missing from the header row".into(),
        })
    }

    pub fn find(&self, name: &str) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    pub fn problem(&self, line: u64, column: &str, message: impl Into<String>) -> Problem {
        Problem {
            file: self.file.clone(),
            line,
            column: Some(column.to_owned()),
            message: message.into(),
        }
    }
}

/// Line numbers from byte offsets. The csv crate reports a record as starting before the `\n`
/// of a CRLF pair, so its own line numbers run one short in CRLF files; this skips line ends
/// at the offset and counts `\n`s, moving forward only (offsets arrive in order).
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    fn at(&mut self, offset: u64) -> u64 {
        let mut target = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while target < self.bytes.len() && matches!(self.bytes[target], b'\r' | b'\n') {
            target += 1;
        }
        if target >= self.offset {
            let newlines = self.bytes[self.offset..target]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.line += newlines as u64;
            self.offset = target;
        }
        self.line
    }
}

fn reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".into(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "the row has {len} fields but the header has {expected_len} (a stray comma or an unclosed quote?)"
        ),
        _ => e.to_string(),
    }
}

/// The columns a layout reads, found by name: every required one must be in the header.
#[derive(Debug)]
pub struct Columns {
    at: std::collections::HashMap<&'static str, usize>,
}

impl Table {
    /// Finds `required` (each missing one is a problem at line 1) and `optional` columns.
    pub fn columns(
        &self,
        required: &[&'static str],
        optional: &[&'static str],
    ) -> Result<Columns, Vec<Problem>> {
        let mut at = std::collections::HashMap::new();
        let mut problems = Vec::new();
        for name in required {
            match self.column(name) {
                Ok(i) => {
                    at.insert(*name, i);
                }
                Err(p) => problems.push(p),
            }
        }
        for name in optional {
            if let Some(i) = self.find(name) {
                at.insert(*name, i);
            }
        }
        if problems.is_empty() {
            Ok(Columns { at })
        } else {
            Err(problems)
        }
    }
}

/// One row read through its layout's columns; every bad cell becomes a problem.
#[derive(Debug)]
pub struct Cells<'a> {
    table: &'a Table,
    row: &'a Row,
    columns: &'a Columns,
    pub problems: Vec<Problem>,
}

impl<'a> Cells<'a> {
    pub fn new(table: &'a Table, row: &'a Row, columns: &'a Columns) -> Self {
        Cells {
            table,
            row,
            columns,
            problems: Vec::new(),
        }
    }

    /// The cell's text (empty when the column is absent or the cell blank).
    pub fn text(&self, name: &str) -> &'a str {
        self.columns
            .at
            .get(name)
            .and_then(|&i| self.row.fields.get(i))
            .unwrap_or_default()
    }

    /// A required cell, parsed; a blank or unparsable one is a problem.
    pub fn required<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = self.text(name);
        if text.is_empty() {
            self.problem(name, "is required".into());
            return None;
        }
        parse(text).map_err(|m| self.problem(name, m)).ok()
    }

    /// An optional cell: `Some(None)` when blank, `None` when present but unparsable.
    pub fn optional<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        let text = self.text(name);
        if text.is_empty() {
            return Some(None);
        }
        parse(text)
            .map(Some)
            .map_err(|m| self.problem(name, m))
            .ok()
    }

    pub fn problem(&mut self, column: &str, message: String) {
        self.problems
            .push(self.table.problem(self.row.line, column, message));
    }
}

/// A value type's parse, its error in words (what a cell's problem says).
pub fn value<T, E: ToString>(r: Result<T, E>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

/// A calendar date as `YYYY-MM-DD`.
pub fn date(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD, a real day)"))
}

/// A whole number (a count may be negative here; the domain refuses it with its field).
pub fn whole(text: &str) -> Result<i64, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a whole number"))
}

/// A `;`-separated list, blanks dropped.
pub fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split(';').map(str::trim).filter(|s| !s.is_empty())
}

fn reader_position(record: &Result<csv::StringRecord, csv::Error>) -> u64 {
    match record {
        Ok(r) => r.position().map_or(0, csv::Position::byte),
        Err(e) => e.position().map_or(0, csv::Position::byte),
    }
}
