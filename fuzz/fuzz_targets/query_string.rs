//! A list endpoint's query string, through every list's parameter parsing.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    keyplane::http::fuzzing::query_string(data);
});
