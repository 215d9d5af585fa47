//! What the rotate operations of every key kind share on the wire: the optional body that
//! asks for a grace period, and the `meta` that says until when the previous secret works.

use crate::domain::rotation::{CallerSeen, PreviousSecret};
use crate::domain::time::{self, Micros};
use crate::error::Result;
use crate::http::jsonapi::{Body, NewResource};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub type RotateRequest = Body<NewResource<RotateAttributes>>;

#[derive(Deserialize)]
pub struct RotateAttributes {
    grace_period_seconds: Option<i64>,
}

/// The grace period a rotate body asks for (`None`: the configured default).
pub fn requested_grace(body: Option<RotateRequest>, expected_type: &str) -> Result<Option<i64>> {
    match body {
        None => Ok(None),
        Some(body) => Ok(body.data.attributes(expected_type)?.grace_period_seconds),
    }
}

/// A rotated key: the resource as its kind answers it, with the new secret, and when the
/// previous secret stops working (keyplane's own `meta`; Datadog's shape is unchanged).
#[derive(Serialize)]
pub struct RotatedDocument<R> {
    pub data: R,
    pub meta: RotationMeta,
}

#[derive(Serialize)]
pub struct RotationMeta {
    pub previous_key_valid_until: String,
}

impl<R> RotatedDocument<R> {
    pub fn new(data: R, previous_valid_until: Micros) -> Self {
        Self {
            data,
            meta: RotationMeta {
                previous_key_valid_until: time::format(previous_valid_until),
            },
        }
    }
}

/// `GET …/rotation`: the previous secrets still accepted, newest first, and their callers.
#[derive(Serialize)]
pub struct RotationDocument {
    pub data: RotationResource,
}

#[derive(Serialize)]
pub struct RotationResource {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Uuid,
    attributes: RotationAttributes,
}

#[derive(Serialize)]
struct RotationAttributes {
    in_grace_period: bool,
    previous_secrets: Vec<PreviousView>,
    /// Who still presents a previous secret (through trusted proxies, the client's address).
    callers: Vec<CallerView>,
}

#[derive(Serialize)]
struct CallerView {
    source: Option<String>,
    user_agent: Option<String>,
    hostname: Option<String>,
    first_seen: String,
    last_seen: String,
    requests: u64,
}

fn said(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

#[derive(Serialize)]
struct PreviousView {
    rotated_at: String,
    valid_until: String,
}

impl RotationDocument {
    pub fn new(key_id: Uuid, previous: &[PreviousSecret], callers: &[CallerSeen]) -> Self {
        Self {
            data: RotationResource {
                kind: "key_rotations",
                id: key_id,
                attributes: RotationAttributes {
                    in_grace_period: !previous.is_empty(),
                    previous_secrets: previous
                        .iter()
                        .map(|p| PreviousView {
                            rotated_at: time::format(p.rotated_at),
                            valid_until: time::format(p.valid_until),
                        })
                        .collect(),
                    callers: callers
                        .iter()
                        .map(|c| CallerView {
                            source: said(&c.caller.source),
                            user_agent: said(&c.caller.user_agent),
                            hostname: said(&c.caller.hostname),
                            first_seen: time::format(c.first_seen),
                            last_seen: time::format(c.last_seen),
                            requests: c.requests,
                        })
                        .collect(),
                },
            },
        }
    }
}
