//! A request body, through the JSON extractor and every body route's parsing into use-case
//! input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    keyplane::http::fuzzing::request_body(data);
});
