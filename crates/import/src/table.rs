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
        for record in reader.records() {
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
