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

    /// Every non-empty value given for `name`, in order (repeated array parameters).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
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

/// Properties over arbitrary and structured query strings: parsing never panics and follows
/// the rules above (sizes in range or a 400; percent-encoded and plain names mean the same;
/// the last non-empty value wins). `PROPTEST_CASES` sets the number of cases (default 256).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    const NAMES: &[&str] = &[
        "page[size]",
        "page[number]",
        "sort",
        "sort_dir",
        "filter",
        "filter[created_at][start]",
        "filter[created_at][end]",
        "filter[modified_at][start]",
        "filter[remote_config_read_enabled]",
        "filter[owned_by]",
        "filter[category]",
        "include",
    ];

    fn sort_field(s: &str) -> Option<&'static str> {
        ["name", "created_at", "last4"]
            .into_iter()
            .find(|f| f.eq_ignore_ascii_case(s))
    }

    /// Everything a list handler may ask of the parameters, in a comparable form.
    fn outcome(params: &QueryParams) -> Vec<String> {
        let mut seen: Vec<String> = NAMES
            .iter()
            .map(|n| format!("{n}={:?}", params.get(n)))
            .collect();
        seen.push(format!("{:?}", params.page().map_err(|e| e.to_string())));
        seen.push(format!(
            "{:?}",
            params.page_within(100, 100).map_err(|e| e.to_string())
        ));
        seen.push(format!(
            "{:?}",
            params.page_within(10, 1000).map_err(|e| e.to_string())
        ));
        seen.push(format!(
            "{:?}",
            params
                .sort("name", &["name", "created_at", "last4"], sort_field)
                .map_err(|e| e.to_string())
        ));
        for name in ["filter[created_at][start]", "filter[created_at][end]"] {
            seen.push(format!(
                "{:?}",
                params.date(name).map_err(|e| e.to_string())
            ));
        }
        seen.push(format!(
            "{:?}",
            params
                .boolean("filter[remote_config_read_enabled]")
                .map_err(|e| e.to_string())
        ));
        seen.push(format!(
            "{:?}",
            params.uuid("filter[owned_by]").map_err(|e| e.to_string())
        ));
        seen.push(format!(
            "{:?}",
            params
                .include(&["created_by", "modified_by"])
                .map_err(|e| e.to_string())
        ));
        seen
    }

    /// `text` as a query-string component, each byte plain or percent-encoded as `style`
    /// picks (bytes that cannot be plain are always encoded; a space may be `+`).
    fn encode(text: &str, style: &[u8]) -> String {
        let mut out = String::new();
        for (i, b) in text.bytes().enumerate() {
            let pick = style.get(i % style.len().max(1)).copied().unwrap_or(0) % 3;
            let must = matches!(b, b'&' | b'=' | b'%' | b'+' | b'#') || !(0x20..0x7f).contains(&b);
            match (b, pick, must) {
                (b' ', 0, _) => out.push('+'),
                (_, 0, false) => out.push(char::from(b)),
                (_, 2, _) => out.push_str(&format!("%{b:02x}")),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }

    fn canonical(pairs: &[(String, String)]) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => proptest::sample::select(NAMES).prop_map(str::to_owned),
            1 => any::<String>(),
            1 => "[a-z_]{1,8}(\\[[a-z_]{0,8}\\]){0,3}",
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<u8>().prop_map(|n| n.to_string()),
            any::<u32>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            "[+-]?[0-9]{1,60}",
            "[0-9]{0,3}[.eE_ ][0-9]{0,3}",
            "-?(name|NAME|Created_At|last4|modified_at|secret)",
            "(true|false|TRUE|yes|0|1)",
            "(created_by|modified_by|owned_by|,| ){0,4}",
            "[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2}))?",
            any::<String>(),
            Just(String::new()),
        ]
    }

    /// What `value` of `page[size]`/`page[number]` must give, from the rule's own words: a
    /// decimal integer (Rust's `u32` syntax: digits, one optional `+`) within the bounds.
    fn expected_integer(value: &str, min: u64, max: u64) -> Option<u32> {
        let digits = value.strip_prefix('+').unwrap_or(value);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let significant = digits.trim_start_matches('0');
        if significant.len() > 19 {
            return None;
        }
        let n: u64 = if significant.is_empty() {
            0
        } else {
            significant.parse().ok()?
        };
        (min..=max)
            .contains(&n)
            .then(|| u32::try_from(n).ok())
            .flatten()
    }

    /// Runs a property with proptest's configuration (`PROPTEST_CASES`) and prints how many
    /// cases it ran, shrinking included.
    fn check<S: Strategy>(
        name: &str,
        strategy: S,
        test: impl Fn(S::Value) -> Result<(), TestCaseError>,
    ) {
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let config = ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        };
        let mut runner = proptest::test_runner::TestRunner::new(config);
        let result = runner.run(&strategy, |value| {
            runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            test(value)
        });
        println!("property {name}: {} cases", runs.into_inner());
        if let Err(e) = result {
            panic!("{name}: {e}");
        }
    }

    #[test]
    fn arbitrary_text_never_panics() {
        check("arbitrary_text_never_panics", any::<String>(), |raw| {
            let params = QueryParams::parse(Some(&raw));
            let _ = outcome(&params);
            if let Ok(page) = params.page() {
                prop_assert!((1..=MAX_PAGE_SIZE).contains(&page.size));
            }
            Ok(())
        });
    }

    #[test]
    fn arbitrary_bytes_percent_encoded_never_panic() {
        check(
            "arbitrary_bytes_percent_encoded_never_panic",
            (proptest::collection::vec(any::<u8>(), 0..64), name()),
            |(bytes, name)| {
                // Invalid UTF-8 arrives percent-encoded; it decodes lossily, never panics.
                let encoded: String = bytes.iter().map(|b| format!("%{b:02X}")).collect();
                let params =
                    QueryParams::parse(Some(&format!("{}={encoded}", encode(&name, &[1]))));
                let _ = outcome(&params);
                Ok(())
            },
        );
    }

    #[test]
    fn encoded_and_plain_names_mean_the_same() {
        check(
            "encoded_and_plain_names_mean_the_same",
            (
                proptest::collection::vec((name(), value()), 0..8),
                proptest::collection::vec(any::<u8>(), 1..16),
            ),
            |(pairs, style)| {
                let plain = QueryParams::parse(Some(&canonical(&pairs)));
                let mixed: Vec<String> = pairs
                    .iter()
                    .map(|(n, v)| format!("{}={}", encode(n, &style), encode(v, &style[1..])))
                    .collect();
                let mixed = QueryParams::parse(Some(&mixed.join("&")));
                prop_assert_eq!(outcome(&plain), outcome(&mixed));
                Ok(())
            },
        );
    }

    #[test]
    fn the_last_non_empty_value_wins() {
        check(
            "the_last_non_empty_value_wins",
            (
                proptest::collection::vec(value(), 1..6),
                proptest::sample::select(NAMES),
            ),
            |(values, name)| {
                let pairs: Vec<(String, String)> = values
                    .iter()
                    .map(|v| (name.to_owned(), v.clone()))
                    .collect();
                let all = QueryParams::parse(Some(&canonical(&pairs)));
                let last: Vec<(String, String)> = values
                    .iter()
                    .rev()
                    .find(|v| !v.is_empty())
                    .map(|v| vec![(name.to_owned(), v.clone())])
                    .unwrap_or_default();
                let one = QueryParams::parse(Some(&canonical(&last)));
                prop_assert_eq!(outcome(&all), outcome(&one));
                Ok(())
            },
        );
    }

    #[test]
    fn page_sizes_are_in_range_or_refused() {
        check(
            "page_sizes_are_in_range_or_refused",
            (value(), value(), 1u32..2000),
            |(size, number, max)| {
                let pairs = [
                    ("page[size]".to_owned(), size.clone()),
                    ("page[number]".to_owned(), number.clone()),
                ];
                let params = QueryParams::parse(Some(&canonical(&pairs)));
                let want_size = if size.is_empty() {
                    Some(10.min(max))
                } else {
                    expected_integer(&size, 1, u64::from(max))
                };
                let want_number = if number.is_empty() {
                    Some(0)
                } else {
                    expected_integer(&number, 0, u64::from(u32::MAX))
                };
                match params.page_within(10.min(max), max) {
                    Ok(page) => {
                        prop_assert_eq!(Some(page.size), want_size);
                        prop_assert_eq!(Some(page.number), want_number);
                        prop_assert!((1..=max).contains(&page.size));
                    }
                    Err(e) => {
                        prop_assert!(want_size.is_none() || want_number.is_none(), "{e}");
                        prop_assert!(matches!(e, Error::Invalid(_)));
                        prop_assert!(e.to_string().contains("page["));
                    }
                }
                Ok(())
            },
        );
    }

    #[test]
    fn sort_is_a_known_field_with_an_optional_minus() {
        check(
            "sort_is_a_known_field_with_an_optional_minus",
            value(),
            |raw| {
                let params =
                    QueryParams::parse(Some(&canonical(&[("sort".to_owned(), raw.clone())])));
                let result = params.sort("name", &["name", "created_at", "last4"], sort_field);
                let (descending, field) = match raw.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, raw.as_str()),
                };
                match (raw.is_empty(), sort_field(field), result) {
                    (true, _, Ok(sort)) => prop_assert_eq!(
                        sort,
                        Sort {
                            field: "name",
                            descending: false
                        }
                    ),
                    (false, Some(f), Ok(sort)) => prop_assert_eq!(
                        sort,
                        Sort {
                            field: f,
                            descending
                        }
                    ),
                    (false, None, Err(e)) => prop_assert!(matches!(e, Error::Invalid(_))),
                    (_, _, other) => prop_assert!(false, "sort={raw:?} gave {other:?}"),
                }
                Ok(())
            },
        );
    }

    #[test]
    fn encoded_dates_round_trip() {
        check(
            "encoded_dates_round_trip",
            0i64..253_402_300_799_000_000,
            |micros| {
                let text = crate::domain::time::format(micros);
                let params = QueryParams::parse(Some(&canonical(&[(
                    "filter[created_at][start]".to_owned(),
                    text,
                )])));
                prop_assert_eq!(
                    params.date("filter[created_at][start]").ok(),
                    Some(Some(micros))
                );
                Ok(())
            },
        );
    }
}
