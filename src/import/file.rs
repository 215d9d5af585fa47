//! Keys from a file: a JSON array of objects, or CSV with a header row, one key per row with
//! `organization`, `name`, `key`, `kind`, `category`, `owner_email`, `owner_role`, `scopes`,
//! `remote_config_read_enabled`. Each row keeps its line number for the report.

use super::item::{Body, Item, Owner, SourceKey};
use crate::cli::ImportFormat;
use crate::domain::imported_key::KeyKind;
use crate::domain::secret::Secret;
use crate::domain::user::Role;
use anyhow::Context;
use serde_json::Value;
use std::path::Path;

pub fn read(path: &Path, format: Option<ImportFormat>) -> anyhow::Result<Vec<Item>> {
    let format = match format {
        Some(format) => format,
        None => match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => ImportFormat::Json,
            Some(e) if e.eq_ignore_ascii_case("csv") => ImportFormat::Csv,
            _ => anyhow::bail!(
                "cannot tell the format of {} from its extension: name it .json or .csv, or pass --format",
                path.display()
            ),
        },
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    match format {
        ImportFormat::Json => json_items(&text),
        ImportFormat::Csv => csv_items(&text),
    }
}

/// A row's fields, by lowercased column name, whatever the file's format.
trait Fields {
    fn text(&self, name: &str) -> Option<String>;
    fn scopes(&self) -> Option<Vec<String>>;
}

fn first<F: Fields + ?Sized>(row: &F, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| row.text(n))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Scopes written in one field: separated by spaces, commas or semicolons.
fn split_scopes(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn item<F: Fields + ?Sized>(line: usize, row: &F) -> Item {
    let origin = format!("line {line}");
    let org = first(row, &["organization", "org", "org_name"]);
    let invalid = |origin: String, org, why: String| Item {
        origin,
        org,
        body: Body::Invalid(why),
    };
    let Some(kind_text) = first(row, &["kind", "type"]) else {
        return invalid(
            origin,
            org,
            "the kind is missing (api_key, application_key or client_token)".into(),
        );
    };
    let Some(kind) = KeyKind::parse(&kind_text) else {
        return invalid(
            origin,
            org,
            format!("unknown kind {kind_text} (api_key, application_key or client_token)"),
        );
    };
    // The value exactly as given: an agent sends it byte for byte.
    let Some(value) = ["key", "value", "key_value"]
        .iter()
        .find_map(|n| row.text(n))
        .filter(|v| !v.is_empty())
    else {
        return invalid(origin, org, "the key value is missing".into());
    };
    let value = Secret::new(value);
    let role = match first(row, &["owner_role", "role"]) {
        None => None,
        Some(text) => match Role::parse(&text.to_ascii_lowercase()) {
            Some(role) => Some(role),
            None => {
                return invalid(
                    origin,
                    org,
                    format!("unknown owner_role {text} (admin, standard or read_only)"),
                )
            }
        },
    };
    let owner = match first(row, &["owner_email", "owner", "email"]) {
        Some(email) => Owner::Email { email, role },
        None => Owner::None,
    };
    let remote_config_read_enabled = match first(row, &["remote_config_read_enabled"]) {
        None => None,
        Some(text) => match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => {
                return invalid(
                    origin,
                    org,
                    format!("remote_config_read_enabled must be true or false, not {text}"),
                )
            }
        },
    };
    let name = first(row, &["name"])
        .unwrap_or_else(|| format!("Imported {} {}", kind.as_str(), value.last4()));
    Item {
        origin,
        org,
        body: Body::Key(SourceKey {
            kind,
            name,
            category: first(row, &["category"]),
            remote_config_read_enabled,
            scopes: row.scopes(),
            owner,
            expires_at: first(row, &["expires_at"]),
            value,
        }),
    }
}

impl Fields for serde_json::Map<String, Value> {
    fn text(&self, name: &str) -> Option<String> {
        match self.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn scopes(&self) -> Option<Vec<String>> {
        match self.get("scopes")? {
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            ),
            Value::String(s) => Some(split_scopes(s)),
            _ => None,
        }
    }
}

/// `[{…}, {…}]`, or `{"keys": [{…}, …]}`.
fn json_items(text: &str) -> anyhow::Result<Vec<Item>> {
    let parsed: Value = serde_json::from_str(text).context("the file is not valid JSON")?;
    let rows = match parsed {
        Value::Array(rows) => rows,
        Value::Object(mut top) => match top.remove("keys") {
            Some(Value::Array(rows)) => rows,
            _ => anyhow::bail!(
                "the JSON file must be an array of keys, or an object with a \"keys\" array"
            ),
        },
        _ => anyhow::bail!("the JSON file must be an array of keys"),
    };
    let lines = element_lines(text);
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let line = lines.get(i).copied().unwrap_or(0);
            match row {
                Value::Object(fields) => item(line, &fields),
                _ => Item {
                    origin: format!("line {line}"),
                    org: None,
                    body: Body::Invalid("the entry is not a JSON object".into()),
                },
            }
        })
        .collect())
}

/// The line on which each element of the key array starts (the outermost array, or the
/// array one level inside the outermost object), for reports that point at a line.
fn element_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let (mut line, mut depth) = (1usize, 0usize);
    let (mut in_string, mut escaped, mut expect_element) = (false, false, false);
    let mut array_depth = None;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if expect_element && Some(depth) == array_depth && !c.is_whitespace() && c != ']' {
            lines.push(line);
            expect_element = false;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                if c == '[' && array_depth.is_none() {
                    array_depth = Some(depth);
                    expect_element = true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if Some(depth) == array_depth => expect_element = true,
            _ => {}
        }
    }
    lines
}

struct CsvRow<'a> {
    header: &'a [String],
    cells: Vec<String>,
}

impl Fields for CsvRow<'_> {
    fn text(&self, name: &str) -> Option<String> {
        let at = self.header.iter().position(|h| h == name)?;
        self.cells.get(at).cloned()
    }

    fn scopes(&self) -> Option<Vec<String>> {
        self.text("scopes").map(|s| split_scopes(&s))
    }
}

fn csv_items(text: &str) -> anyhow::Result<Vec<Item>> {
    let mut records = csv_records(text)?.into_iter();
    let (_, header) = records.next().context("the CSV file is empty")?;
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    anyhow::ensure!(
        header.iter().any(|h| h == "key" || h == "value" || h == "key_value"),
        "the CSV header names no key column (expected: organization,name,key,kind,category,owner_email,owner_role,scopes)"
    );
    Ok(records
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .map(|(line, cells)| {
            if cells.len() > header.len() {
                return Item {
                    origin: format!("line {line}"),
                    org: None,
                    body: Body::Invalid(format!(
                        "{} fields, the header names {}",
                        cells.len(),
                        header.len()
                    )),
                };
            }
            item(
                line,
                &CsvRow {
                    header: &header,
                    cells,
                },
            )
        })
        .collect())
}

/// RFC 4180 records with the line each starts on: quoted fields may hold commas, doubled
/// quotes and line breaks; CRLF or LF ends a record.
fn csv_records(text: &str) -> anyhow::Result<Vec<(usize, Vec<String>)>> {
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1usize;
    let mut start = 1usize;
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                _ => {
                    if c == '\n' {
                        line += 1;
                    }
                    cell.push(c);
                }
            }
            continue;
        }
        match c {
            '"' if cell.is_empty() => quoted = true,
            ',' => cells.push(std::mem::take(&mut cell)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                cells.push(std::mem::take(&mut cell));
                records.push((start, std::mem::take(&mut cells)));
                line += 1;
                start = line;
            }
            _ => cell.push(c),
        }
    }
    anyhow::ensure!(!quoted, "line {start}: a quoted field is not closed");
    if !cell.is_empty() || !cells.is_empty() {
        cells.push(cell);
        records.push((start, cells));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_may_quote_commas_quotes_and_line_breaks() {
        let text = "a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\nlast,";
        let records = csv_records(text).expect("parsed");
        assert_eq!(
            records,
            vec![
                (1, vec!["a".into(), "b".into()]),
                (2, vec!["x, y".into(), "say \"hi\"".into()]),
                (3, vec!["two\nlines".into(), "z".into()]),
                (5, vec!["last".into(), "".into()]),
            ]
        );
        assert!(csv_records("\"open").is_err());
    }

    #[test]
    fn json_elements_know_their_lines() {
        let text = "[\n  {\"a\": \"[,]\"},\n\n  {\"b\": [1, 2]}, {\"c\": {}}\n]";
        assert_eq!(element_lines(text), vec![2, 4, 4]);
        let wrapped = "{\"keys\": [\n{\"a\": 1},\n{\"b\": 2}]}";
        assert_eq!(element_lines(wrapped), vec![2, 3]);
    }

    #[test]
    fn rows_become_keys_or_are_reported() {
        let text = "organization,name,key,kind,owner_email,scopes\n\
                    Acme,web,0123456789abcdef0123456789abcdef,api_key,,\n\
                    Acme,ci,0123456789abcdef0123456789abcdef01234567,application_key,ci@acme.test,api_keys_read dashboards_read\n\
                    Acme,bad,xyz,token,,\n";
        let items = csv_items(text).expect("read");
        assert_eq!(items.len(), 3);
        match &items[1].body {
            Body::Key(key) => {
                assert_eq!(key.kind, KeyKind::ApplicationKey);
                assert_eq!(
                    key.scopes.as_deref(),
                    Some(&["api_keys_read".to_owned(), "dashboards_read".to_owned()][..])
                );
                assert_eq!(
                    key.owner,
                    Owner::Email {
                        email: "ci@acme.test".into(),
                        role: None
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&items[2].body, Body::Invalid(_)));
        assert_eq!(items[2].origin, "line 4");
    }
}
