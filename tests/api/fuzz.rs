//! The fuzz targets of `fuzz/` on stable, under `cargo test`: each runs its seed corpus
//! (`fuzz/corpus/<target>/`) and then random mutations of it for a bounded time, through
//! the same functions (`keyplane::http::fuzzing`) that `cargo fuzz` drives with libFuzzer
//! on nightly. No coverage guidance, so this finds less than libFuzzer; it keeps the
//! targets running in CI. `KEYPLANE_FUZZ_SECS` sets the time per target (default 15).

use crate::helpers::report;
use keyplane::http::fuzzing;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const DEFAULT_SECS: u64 = 15;
/// A ceiling besides the time, so a very fast machine still stops.
const MAX_INPUTS: u64 = 5_000_000;
/// Inputs that a route accepted are kept as further bases, up to this many.
const MAX_POOL: usize = 2_000;
const MAX_LEN: usize = 4_096;

const QUERY_TOKENS: &[&str] = &[
    "page[size]=",
    "page%5Bsize%5D=",
    "page[number]=",
    "page%5bnumber%5d=",
    "sort=",
    "sort=-",
    "sort_dir=desc",
    "filter=",
    "filter[created_at][start]=",
    "filter%5Bcreated_at%5D%5Bend%5D=",
    "filter[modified_at][start]=",
    "filter[remote_config_read_enabled]=",
    "filter[owned_by]=",
    "filter[status]=",
    "include=",
    "created_by,modified_by",
    "owned_by",
    "&",
    "=",
    "%",
    "%FF",
    "%C3%A9",
    "%ED%A0%80",
    "+",
    "%2B",
    "-1",
    "0",
    "100",
    "101",
    "1000",
    "4294967296",
    "99999999999999999999999999",
    "2020-11-24T18:46:21+00:00",
    "9999-12-31T23:59:59.999999999Z",
    "TRUE",
    "name",
    "last4",
    "00000000-0000-4000-8000-000000000001",
];

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "true",
    "false",
    "0",
    "-0",
    "1e999",
    "-1",
    "18446744073709551616",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"\\\"",
    "{\"data\":",
    "\"type\":\"api_keys\"",
    "\"type\":\"application_keys\"",
    "\"type\":\"users\"",
    "\"type\":\"client_tokens\"",
    "\"attributes\":{",
    "\"id\":\"00000000-0000-4000-8000-000000000001\"",
    "\"name\":",
    "\"scopes\":",
    "\"email\":",
    "\"password\":",
    "\"service_account\":true",
    "\"relationships\":{\"roles\":{\"data\":[",
    "\"category\":",
    "\"remote_config_read_enabled\":",
    "\"disabled\":",
    "\"title\":",
];

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    let inputs: Vec<Vec<u8>> = files
        .iter()
        .filter_map(|path| std::fs::read(path).ok())
        .collect();
    assert!(!inputs.is_empty(), "no seed inputs in {}", dir.display());
    inputs
}

/// One of libFuzzer's kinds of mutation, picked at random: bytes changed, inserted,
/// deleted, repeated; a dictionary token; a splice with another input.
fn mutate(rng: &mut StdRng, base: &[u8], other: &[u8], tokens: &[&str]) -> Vec<u8> {
    let mut out = base.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let at = rng.gen_range(0..=out.len());
        match rng.gen_range(0..9) {
            0 if !out.is_empty() => {
                let i = rng.gen_range(0..out.len());
                out[i] ^= 1 << rng.gen_range(0..8);
            }
            1 if !out.is_empty() => {
                let i = rng.gen_range(0..out.len());
                out[i] = rng.gen();
            }
            2 => out.insert(at, rng.gen()),
            3 if at < out.len() => {
                let end = rng.gen_range(at..=out.len().min(at + 16));
                out.drain(at..end);
            }
            4 => {
                let token = tokens[rng.gen_range(0..tokens.len())].as_bytes();
                out.splice(at..at, token.iter().copied());
            }
            5 if at < out.len() => {
                // Repeat a short run many times: deep nesting, long numbers, long names.
                let end = rng.gen_range(at + 1..=out.len().min(at + 4));
                let run = out[at..end].to_vec();
                let times = rng.gen_range(2..300);
                out.splice(at..at, run.repeat(times));
            }
            6 if !other.is_empty() => {
                let from = rng.gen_range(0..other.len());
                let to = rng.gen_range(from..=other.len());
                out.truncate(at);
                out.extend_from_slice(&other[from..to]);
            }
            7 => out.truncate(at),
            _ => {
                let byte: u8 = rng.gen();
                out.splice(at..at, format!("%{byte:02X}").into_bytes());
            }
        }
    }
    out.truncate(MAX_LEN);
    out
}

fn drive(target: &str, run: fn(&[u8]) -> usize, tokens: &[&str]) {
    let secs = std::env::var("KEYPLANE_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_SECS);
    let seed: u64 = rand::thread_rng().gen();
    let mut rng = StdRng::seed_from_u64(seed);
    let seeds = corpus(target);
    let mut pool = seeds.clone();
    let started = Instant::now();
    let budget = Duration::from_secs(secs);
    let (mut inputs, mut accepted) = (0u64, 0u64);
    let check = |input: &[u8]| -> usize {
        match catch_unwind(AssertUnwindSafe(|| run(input))) {
            Ok(n) => n,
            Err(_) => panic!(
                "fuzz {target} (seed {seed}) failed on input {:?}",
                String::from_utf8_lossy(input)
            ),
        }
    };
    for input in &seeds {
        inputs += 1;
        accepted += u64::from(check(input) > 0);
    }
    while started.elapsed() < budget && inputs < MAX_INPUTS {
        let base = &pool[rng.gen_range(0..pool.len())];
        let other = &pool[rng.gen_range(0..pool.len())];
        let input = mutate(&mut rng, base, other, tokens);
        inputs += 1;
        if check(&input) > 0 {
            accepted += 1;
            if pool.len() < MAX_POOL && rng.gen_ratio(1, 8) {
                pool.push(input);
            }
        }
    }
    report(&format!(
        "fuzz {target}: {inputs} inputs ({} seeds, {accepted} accepted by a route) in {:.1} s, seed {seed}",
        seeds.len(),
        started.elapsed().as_secs_f64()
    ));
    assert!(inputs > seeds.len() as u64, "no mutated input ran");
}

#[test]
fn fuzz_query_string() {
    drive("query_string", fuzzing::query_string, QUERY_TOKENS);
}

#[test]
fn fuzz_request_body() {
    drive("request_body", fuzzing::request_body, JSON_TOKENS);
}
