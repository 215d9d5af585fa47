//! Query strings of the list endpoints: bracketed names (`page[size]`,
//! `filter[created_at][start]`) arrive percent-encoded and are decoded here. Anything
//! malformed is a 400 that names the parameter; unknown parameters are ignored, as Datadog does.

use crate::domain::list::{Page, Sort, MAX_PAGE_SIZE};

/// Datadog's application key lists return 100 keys when no page size is given.
pub const APP_KEY_PAGE_SIZE: u32 = 100;
/// The users list accepts pages of up to 1000 (`meta.page.max_page_size`).
pub const USER_MAX_PAGE_SIZE: u32 = 1000;
use crate::domain::time::{self, Micros};
use crate::error::{Error, Result};

pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Self(pairs)
    }

    /// The last non-empty value given for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// `page[size]` (default 10, at most 100) and `page[number]` (0-based).
    pub fn page(&self) -> Result<Page> {
        self.page_within(Page::default().size, MAX_PAGE_SIZE)
    }

    pub fn page_within(&self, default_size: u32, max_size: u32) -> Result<Page> {
        let mut page = Page {
            size: default_size,
            number: 0,
        };
        if let Some(raw) = self.get("page[size]") {
            page.size = raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max_size).contains(n))
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "page[size] must be an integer from 1 to {max_size}"
                    ))
                })?;
        }
        if let Some(raw) = self.get("page[number]") {
            page.number = raw.parse::<u32>().map_err(|_| {
                Error::invalid("page[number] must be a non-negative integer (pages start at 0)")
            })?;
        }
        Ok(page)
    }

    /// `sort=field` or `sort=-field` (descending); field names compare case-insensitively.
    pub fn sort<F: Copy>(
        &self,
        default: F,
        allowed: &[&str],
        parse: fn(&str) -> Option<F>,
    ) -> Result<Sort<F>> {
        let Some(raw) = self.get("sort") else {
            return Ok(Sort {
                field: default,
                descending: false,
            });
        };
        let (descending, name) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        parse(name)
            .map(|field| Sort { field, descending })
            .ok_or_else(|| {
                let options: Vec<String> = allowed
                    .iter()
                    .flat_map(|f| [f.to_string(), format!("-{f}")])
                    .collect();
                Error::invalid(format!(
                    "Invalid sort: {raw}. Allowed values: {}",
                    options.join(", ")
                ))
            })
    }

    pub fn uuid(&self, name: &str) -> Result<Option<uuid::Uuid>> {
        self.get(name)
            .map(|raw| {
                uuid::Uuid::parse_str(raw)
                    .map_err(|_| Error::invalid(format!("{name} must be a UUID")))
            })
            .transpose()
    }

    pub fn date(&self, name: &str) -> Result<Option<Micros>> {
        self.get(name)
            .map(|raw| {
                time::parse(raw).ok_or_else(|| {
                    Error::invalid(format!(
                        "{name} must be an RFC 3339 date-time such as 2020-11-24T18:46:21+00:00"
                    ))
                })
            })
            .transpose()
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>> {
        self.get(name)
            .map(|raw| match raw.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(Error::invalid(format!("{name} must be true or false"))),
            })
            .transpose()
    }

    /// `include=a,b`: every item must be one of `allowed`.
    pub fn include(&self, allowed: &[&str]) -> Result<Vec<String>> {
        let Some(raw) = self.get("include") else {
            return Ok(Vec::new());
        };
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|item| {
                if allowed.contains(&item) {
                    Ok(item.to_owned())
                } else {
                    Err(Error::invalid(format!(
                        "Invalid include: {item}. Allowed values: {}",
                        allowed.join(", ")
                    )))
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(raw: &str) -> QueryParams {
        QueryParams::parse(Some(raw))
    }

    #[test]
    fn decodes_bracketed_names() {
        let page = q("page%5Bsize%5D=2&page%5Bnumber%5D=3")
            .page()
            .expect("page");
        assert_eq!(page, Page { size: 2, number: 3 });
    }

    #[test]
    fn rejects_bad_pages() {
        for raw in [
            "page[size]=abc",
            "page[size]=0",
            "page[size]=101",
            "page[number]=-1",
            "page[size]=1e3",
            "page[number]=99999999999",
        ] {
            assert!(q(raw).page().is_err(), "{raw}");
        }
        assert_eq!(q("page[size]=").page().expect("empty"), Page::default());
    }

    #[test]
    fn sorts_and_rejects_unknown_fields() {
        let parse = |s: &str| (s.eq_ignore_ascii_case("name")).then_some(1);
        let sort = q("sort=-NAME").sort(0, &["name"], parse).expect("sort");
        assert_eq!(
            sort,
            Sort {
                field: 1,
                descending: true
            }
        );
        let err = q("sort=drop%20table").sort(0, &["name"], parse);
        assert!(err.is_err());
    }

    #[test]
    fn dates_and_booleans() {
        assert!(q("d=2020-11-24T18%3A46%3A21%2B00%3A00")
            .date("d")
            .expect("date")
            .is_some());
        assert!(q("d=not-a-date").date("d").is_err());
        assert_eq!(q("b=TRUE").boolean("b").expect("bool"), Some(true));
        assert!(q("b=yes").boolean("b").is_err());
        assert!(q("include=created_by,evil")
            .include(&["created_by"])
            .is_err());
    }
}
