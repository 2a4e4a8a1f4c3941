//! A small RFC 4180 CSV reader: comma-separated, fields optionally quoted
//! with `"`, a doubled `""` inside quotes for a quote, commas and line breaks
//! allowed inside quotes, records ended by CRLF, LF or CR. Fields without
//! quotes or doubled quotes are borrowed from the body.

use std::borrow::Cow;

/// One record and the line it starts on (1-based, counting physical lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// The line the record starts on.
    pub line: usize,
    /// Its fields, unquoted.
    pub fields: Vec<Cow<'a, str>>,
}

impl Record<'_> {
    /// A line with nothing on it (one empty, unquoted field).
    pub fn is_blank(&self) -> bool {
        matches!(self.fields.as_slice(), [only] if only.is_empty())
    }
}

/// Reads records one by one; an error names the line of the bad record.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    width: usize,
}

impl<'a> Reader<'a> {
    /// A reader over the whole text; a leading UTF-8 byte-order mark is skipped.
    pub fn new(text: &'a str) -> Self {
        Reader {
            text: text.strip_prefix('\u{feff}').unwrap_or(text),
            pos: 0,
            line: 1,
            width: 8,
        }
    }

    /// Consumes one line ending at `pos` (CRLF, LF or CR).
    fn end_of_line(&mut self) {
        let bytes = self.text.as_bytes();
        if bytes.get(self.pos) == Some(&b'\r') && bytes.get(self.pos + 1) == Some(&b'\n') {
            self.pos += 2;
        } else {
            self.pos += 1;
        }
        self.line += 1;
    }

    fn record(&mut self) -> Result<Record<'a>, String> {
        let text = self.text;
        let bytes = text.as_bytes();
        let start_line = self.line;
        let mut fields = Vec::with_capacity(self.width);
        loop {
            if bytes.get(self.pos) == Some(&b'"') {
                fields.push(self.quoted(start_line)?);
                match bytes.get(self.pos) {
                    None => break,
                    Some(b',') => self.pos += 1,
                    Some(b'\r' | b'\n') => {
                        self.end_of_line();
                        break;
                    }
                    Some(_) => {
                        return Err(format!(
                            "line {}: text after the closing quote of field {}; quote the whole field and double the quotes inside it",
                            self.line,
                            fields.len()
                        ));
                    }
                }
            } else {
                let rest = &bytes[self.pos..];
                let end = rest
                    .iter()
                    .position(|&b| matches!(b, b',' | b'\r' | b'\n'))
                    .map_or(bytes.len(), |i| self.pos + i);
                fields.push(Cow::Borrowed(&text[self.pos..end]));
                self.pos = end;
                match bytes.get(end) {
                    None => break,
                    Some(b',') => self.pos += 1,
                    Some(_) => {
                        self.end_of_line();
                        break;
                    }
                }
            }
        }
        self.width = self.width.max(fields.len());
        Ok(Record {
            line: start_line,
            fields,
        })
    }

    /// A quoted field starting at `pos`; leaves `pos` after the closing quote.
    fn quoted(&mut self, start_line: usize) -> Result<Cow<'a, str>, String> {
        let text = self.text;
        self.pos += 1;
        let mut segment = self.pos;
        let mut owned: Option<String> = None;
        loop {
            let Some(offset) = text[self.pos..].find('"') else {
                return Err(format!(
                    "line {start_line}: a quoted field is never closed (the body may be truncated)"
                ));
            };
            let quote = self.pos + offset;
            self.line += text.as_bytes()[self.pos..quote]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            if text.as_bytes().get(quote + 1) == Some(&b'"') {
                // A doubled quote: keep one, go on.
                owned
                    .get_or_insert_with(String::new)
                    .push_str(&text[segment..=quote]);
                self.pos = quote + 2;
                segment = self.pos;
            } else {
                self.pos = quote + 1;
                return Ok(match owned {
                    None => Cow::Borrowed(&text[segment..quote]),
                    Some(mut s) => {
                        s.push_str(&text[segment..quote]);
                        Cow::Owned(s)
                    }
                });
            }
        }
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Record<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.text.len() {
            return None;
        }
        let result = self.record();
        if result.is_err() {
            // Stop after an error: the rest cannot be trusted.
            self.pos = self.text.len();
        }
        Some(result)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(usize, Vec<String>)> {
        Reader::new(text)
            .map(|r| {
                let r = r.unwrap();
                (r.line, r.fields.into_iter().map(Cow::into_owned).collect())
            })
            .collect()
    }

    #[test]
    fn plain_records_split_on_commas_and_any_line_end() {
        assert_eq!(
            read("a,b,c\r\n1,2,3\n4,,6\r7,8,9"),
            vec![
                (1, vec!["a".into(), "b".into(), "c".into()]),
                (2, vec!["1".into(), "2".into(), "3".into()]),
                (3, vec!["4".into(), "".into(), "6".into()]),
                (4, vec!["7".into(), "8".into(), "9".into()]),
            ]
        );
    }

    #[test]
    fn quotes_hold_commas_line_breaks_and_doubled_quotes() {
        let rows = read(
            "\u{feff}x,y\r\n\"a, b\",\"say \"\"hi\"\"\"\r\n\"two\r\nlines\",z\r\nlast,\"\"\r\n",
        );
        assert_eq!(rows[0], (1, vec!["x".into(), "y".into()]));
        assert_eq!(rows[1], (2, vec!["a, b".into(), "say \"hi\"".into()]));
        assert_eq!(rows[2], (3, vec!["two\r\nlines".into(), "z".into()]));
        // The record after a two-line field starts on line 5.
        assert_eq!(rows[3], (5, vec!["last".into(), "".into()]));
        assert_eq!(rows.len(), 4);
    }

    #[test]
    fn unquoted_fields_are_borrowed() {
        let mut reader = Reader::new("a,\"b\",\"c\"\"\"");
        let record = reader.next().unwrap().unwrap();
        assert!(matches!(record.fields[0], Cow::Borrowed("a")));
        assert!(matches!(record.fields[1], Cow::Borrowed("b")));
        assert!(matches!(record.fields[2], Cow::Owned(_)));
    }

    #[test]
    fn a_trailing_comma_is_an_empty_last_field_and_blank_lines_show() {
        let rows = read("a,b,\n\nc,d,e\n");
        assert_eq!(rows[0].1, ["a", "b", ""]);
        assert_eq!(rows[1], (2, vec![String::new()]));
        assert_eq!(rows[2], (3, vec!["c".into(), "d".into(), "e".into()]));
    }

    #[test]
    fn broken_quoting_names_the_line() {
        let err = Reader::new("a,b\n1,\"open\n2,3\n")
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        assert!(err.contains("never closed"), "{err}");
        let err = Reader::new("a,b\n\"x\"y,2\n")
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
    }

    #[test]
    fn a_stray_quote_inside_an_unquoted_field_is_kept() {
        assert_eq!(read("5\" screen,x")[0].1, ["5\" screen", "x"]);
    }
}
