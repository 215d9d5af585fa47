//! The command line: `keyplane serve` and the offline `keyplane admin` tools.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "keyplane",
    version,
    about = "Self-hosted, Datadog-API-compatible service for API keys, application keys and client tokens"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP API. The first start creates an organization, an admin and its keys,
    /// prints them once and writes them to <data-dir>/initial-credentials.
    Serve(Box<ServeArgs>),
    /// Offline administration on a data directory (the server may be running).
    Admin(AdminArgs),
    /// Copy an embedded (SQLite) installation into an empty PostgreSQL database. Stop the
    /// server first. Keys stay encrypted with the installation's master key.
    Migrate(MigrateArgs),
    /// Bring existing keys along, with their values, from a file (JSON or CSV) or a live
    /// Datadog-compatible API, so agents keep working unchanged. A rerun adds nothing twice.
    Import(Box<ImportArgs>),
    /// The audit trail.
    Audit(AuditArgs),
    /// Print the HAProxy map of every API key (`<sha256 hex of the key> <organization id>`
    /// per line), for HAProxy's start: `keyplane haproxy-map > /etc/haproxy/keyplane.map`.
    HaproxyMap(HaproxyMapArgs),
    /// The Datadog Agent's `secret_backend_command` (JSON on stdin and stdout): each handle
    /// names a file in --state-dir holding an API key; the helper returns that key's current
    /// secret, asked of keyplane with the key itself, so agents follow rotations.
    SecretHelper(SecretHelperArgs),
}

#[derive(Args, Debug)]
pub struct SecretHelperArgs {
    /// keyplane's address, e.g. https://keyplane.internal:8443.
    #[arg(long, env = "KEYPLANE_URL")]
    pub url: String,
    /// The directory of the keys the handles name: one file per handle, mode 0600, owned
    /// by the user the helper runs as (the Agent's user).
    #[arg(long, env = "KEYPLANE_SECRET_STATE_DIR")]
    pub state_dir: std::path::PathBuf,
    /// The CA certificates (PEM) to trust for keyplane's certificate.
    #[arg(
        long,
        env = "KEYPLANE_CA_FILE",
        default_value = "/etc/ssl/certs/ca-certificates.crt"
    )]
    pub ca_file: std::path::PathBuf,
    /// Seconds to wait for keyplane before returning the stored key.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
}

#[derive(Args, Debug)]
pub struct HaproxyMapArgs {
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Recompute the MAC chain of every record under the master key, and the head's own MAC;
    /// exits 1 naming the first edited, removed or cut record. Prints the head (SEQ:HASH):
    /// keep it outside the database and pass it back with --expect.
    Verify {
        /// A head printed by an earlier verify (SEQ:HASH): that record must still be in the
        /// trail, unchanged. Catches a rollback to an older head, which the database alone
        /// cannot show.
        #[arg(long, value_name = "SEQ:HASH")]
        expect: Option<String>,
    },
    /// List the records of no organization (failure bursts from unknown keys, the
    /// chain-keyed marker), which the API shows to no organization.
    Bursts,
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// Data directory of the embedded installation to copy (holds keyplane.db and master.key).
    #[arg(long)]
    pub from: PathBuf,

    /// URL of the empty target database, postgres://…
    #[arg(long)]
    pub to: String,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["file", "from_url"])))]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// A file of keys: one row each with organization, name, key, kind (api_key,
    /// application_key, client_token), category, owner_email, owner_role, scopes, expires_at.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// The file's format; by default its extension's (.json or .csv).
    #[arg(long, value_enum, requires = "file")]
    pub format: Option<ImportFormat>,

    /// A live Datadog-compatible API to read from (https://api.datadoghq.com, or another
    /// keyplane): its API keys with their values, users, service accounts, client tokens,
    /// and the application keys it reveals.
    #[arg(long, value_name = "URL")]
    pub from_url: Option<String>,

    /// An API key of the source organization (for --from-url).
    #[arg(long, env = "DD_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// An application key of an admin of the source organization (for --from-url). Only
    /// this key's owner's application keys are revealed by the source.
    #[arg(long, env = "DD_APP_KEY", hide_env_values = true)]
    pub app_key: Option<String>,

    /// The organization to import into, matched by name or created: for --from-url
    /// (default: the source organization's name) and for file rows that name none.
    #[arg(long, value_name = "NAME")]
    pub org: Option<String>,

    /// Import every key into this existing organization, whatever the source names.
    #[arg(long, value_name = "UUID", conflicts_with = "org")]
    pub org_id: Option<uuid::Uuid>,

    /// One-Time Read mode for organizations the import creates.
    #[arg(long, env = "KEYPLANE_ONE_TIME_READ", default_value_t = true,
          action = clap::ArgAction::Set, value_name = "true|false")]
    pub one_time_read: bool,

    /// Report what would be imported; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Json,
    Csv,
}

/// Where the installation keeps its state.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// Directory for the embedded database, the master key and the initial credentials.
    #[arg(long, env = "KEYPLANE_DATA_DIR", default_value = "./keyplane-data")]
    pub data_dir: PathBuf,

    /// Database URL: sqlite://PATH (default: an SQLite file in the data dir) or postgres://…
    #[arg(long, env = "KEYPLANE_DATABASE_URL")]
    pub database_url: Option<String>,

    /// File holding the 256-bit master key (64 hex characters) that encrypts key secrets at
    /// rest. Default: <data-dir>/master.key, created with mode 0600 on first start. Several
    /// nodes on one database must be given the same file; a file given here must exist.
    #[arg(long, env = "KEYPLANE_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the chosen address is logged).
    #[arg(long, env = "KEYPLANE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub store: StoreArgs,

    /// Most API keys an organization may hold (Datadog's FAQ: 5). Shown as `meta.max_allowed`.
    #[arg(long, env = "KEYPLANE_MAX_API_KEYS_PER_ORG", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_api_keys_per_org: u64,

    /// Seconds a node keeps validating keys from memory while it cannot confirm its
    /// credential index with the database; past it every key is refused (503). Longer keeps
    /// serving through a longer outage, but a key revoked on another node meanwhile may pass
    /// here for up to that long.
    #[arg(long, env = "KEYPLANE_MAX_STALENESS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub max_staleness: u64,

    /// Console sessions end after this many seconds without a request.
    #[arg(long, env = "KEYPLANE_SESSION_IDLE_TIMEOUT", default_value_t = 1800,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub session_idle_timeout: u64,

    /// Console sessions end this many seconds after sign-in, however busy.
    #[arg(long, env = "KEYPLANE_SESSION_LIFETIME", default_value_t = 43_200,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub session_lifetime: u64,

    /// Requests each organization may make per endpoint group (API keys, application keys,
    /// users, …) within --rate-limit-period on management endpoints; 0 turns limits off.
    #[arg(long, env = "KEYPLANE_RATE_LIMIT", default_value_t = 1000)]
    pub rate_limit: u32,

    /// Length of a rate-limit window in seconds.
    #[arg(long, env = "KEYPLANE_RATE_LIMIT_PERIOD", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub rate_limit_period: u64,

    /// Failed authentications (unknown keys, bad session cookies, failed console sign-ins) a
    /// source address (IPv6: its /64) may make per 10 seconds before the next one is
    /// recorded in the audit trail as a burst; 0 turns the records off. Nothing is delayed.
    #[arg(long, env = "KEYPLANE_AUTH_FAILURE_BURST")]
    pub auth_failure_burst: Option<u32>,

    /// The former name of --auth-failure-burst, still accepted.
    #[arg(long, env = "KEYPLANE_AUTH_FAILURES_BEFORE_DELAY", hide = true)]
    pub auth_failures_before_delay: Option<u32>,

    /// Reverse proxies (addresses and CIDR blocks, comma-separated) whose `X-Forwarded-For`
    /// or `X-Real-IP` names the client, for limits and the audit trail. Nobody else's is read.
    #[arg(long, env = "KEYPLANE_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: crate::domain::client_addr::TrustedProxies,

    /// Seconds a rotated key's previous secret keeps working when the rotation names no
    /// `grace_period_seconds` (capped by --max-rotation-grace-period).
    #[arg(long, env = "KEYPLANE_ROTATION_GRACE_PERIOD", default_value_t = 86_400)]
    pub rotation_grace_period: u64,

    /// The longest grace period a rotation may ask for, in seconds.
    #[arg(
        long,
        env = "KEYPLANE_MAX_ROTATION_GRACE_PERIOD",
        default_value_t = 2_592_000
    )]
    pub max_rotation_grace_period: u64,

    /// Seconds a client may take to send a request's headers, and may stay idle between
    /// requests on a kept-alive connection.
    #[arg(long, env = "KEYPLANE_HEADER_READ_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout: u64,

    /// Connections served at once; past it new ones wait in the listen backlog until one
    /// ends.
    #[arg(long, env = "KEYPLANE_MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Mark the session cookie `Secure` and name it `__Host-…` (browsers then send it over
    /// HTTPS only). On by default under --tls-cert; turn it on when keyplane is reached
    /// through a TLS terminator. `--secure-cookies` alone means true.
    #[arg(long, env = "KEYPLANE_SECURE_COOKIES", value_name = "true|false",
          num_args = 0..=1, default_missing_value = "true", require_equals = false,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub secure_cookies: Option<bool>,

    /// PEM certificate chain to serve HTTPS with (the server's certificate first). Needs
    /// --tls-key. SIGHUP reads both files again for new connections.
    #[arg(long, env = "KEYPLANE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, env = "KEYPLANE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// HAProxy's admin socket (`stats socket PATH mode 600 level admin`): keyplane keeps the
    /// map named by --haproxy-map in sync with the API keys over it, so HAProxy checks keys
    /// without asking keyplane.
    #[arg(long, env = "KEYPLANE_HAPROXY_SOCKET", requires = "haproxy_map")]
    pub haproxy_socket: Option<PathBuf>,

    /// The map's name in HAProxy: the file its configuration's `map(…)` loads, e.g.
    /// /etc/haproxy/keyplane.map (start it from `keyplane haproxy-map`).
    #[arg(long, env = "KEYPLANE_HAPROXY_MAP", requires = "haproxy_socket")]
    pub haproxy_map: Option<String>,

    /// One-Time Read mode for the organization the first start creates (as Datadog's
    /// organizations since August 2025): application key secrets are shown only when created,
    /// and the v1 application key endpoints are refused. Existing organizations keep theirs.
    #[arg(long, env = "KEYPLANE_ONE_TIME_READ", default_value_t = true,
          action = clap::ArgAction::Set, value_name = "true|false")]
    pub one_time_read: bool,

    /// Serve /metrics on this address instead (the main listener then answers 404 for it).
    #[arg(long, env = "KEYPLANE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Require `Authorization: Bearer <token>` on /metrics, the token being this file's
    /// first line (it must not be readable by group or others).
    #[arg(long, env = "KEYPLANE_METRICS_TOKEN_FILE")]
    pub metrics_token_file: Option<PathBuf>,

    /// Post every organization's key events (created, rotated, revoked, reported leaked) to
    /// this URL, signed with --webhook-secret-file (which it needs).
    #[arg(long, env = "KEYPLANE_WEBHOOK_URL")]
    pub webhook_url: Option<reqwest::Url>,

    /// The HMAC key of webhook signatures: this file's first line, at least 16 characters,
    /// not readable by group or others. Without it no webhook (nor an organization's
    /// `webhook_url`) is sent.
    #[arg(long, env = "KEYPLANE_WEBHOOK_SECRET_FILE")]
    pub webhook_secret_file: Option<PathBuf>,
}

impl ServeArgs {
    /// --secure-cookies, on by default under TLS.
    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies.unwrap_or(self.tls_cert.is_some())
    }

    /// --auth-failure-burst, or its former name; 50 by default.
    pub fn auth_failure_burst(&self) -> u32 {
        self.auth_failure_burst
            .or(self.auth_failures_before_delay)
            .unwrap_or(50)
    }
}

#[derive(Args, Debug)]
pub struct AdminArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an organization with its first admin, one API key and one application key,
    /// and print their credentials once.
    CreateOrganization {
        /// Display name of the organization.
        #[arg(long)]
        name: String,
        /// Email of the organization's first admin.
        #[arg(long)]
        admin_email: String,
        /// One-Time Read mode for the new organization (on by default, as Datadog's).
        #[arg(long, env = "KEYPLANE_ONE_TIME_READ", default_value_t = true,
              action = clap::ArgAction::Set, value_name = "true|false")]
        one_time_read: bool,
    },
    /// List the organizations with their ids.
    ListOrganizations,
    /// Invite a user: print the console link through which they set a password (keyplane
    /// sends no email). A new link replaces the user's earlier ones.
    Invite {
        /// The user's email.
        email: String,
        /// Organization id (needed only when the email is in several).
        #[arg(long)]
        org: Option<uuid::Uuid>,
        /// The console's address, printed before the link's path.
        #[arg(long, default_value = "")]
        base_url: String,
    },
    /// Turn One-Time Read mode on or off: application key secrets are then shown only in the
    /// create response (and the v1 application key endpoints are refused).
    SetOneTimeRead {
        /// Organization id (default: the first organization).
        #[arg(long)]
        org: Option<uuid::Uuid>,
        #[arg(action = clap::ArgAction::Set)]
        enabled: bool,
    },
    /// Mint a new application key for a user and print it once (recovery when every
    /// application key is lost).
    CreateApplicationKey {
        /// The user who will own the key (default: the first admin of the first organization).
        #[arg(long)]
        email: Option<String>,
        /// Organization id; required when the email belongs to users of several organizations.
        #[arg(long)]
        org: Option<uuid::Uuid>,
        /// Name of the new key; names are unique within the organization.
        #[arg(long, default_value = "Recovery application key")]
        name: String,
    },
    /// Set a user's console password, read from the first line of stdin (or generated and
    /// printed with --generate). Ends the user's console sessions.
    SetPassword {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// Organization id, when the email belongs to users of several organizations.
        #[arg(long)]
        org: Option<uuid::Uuid>,
        /// Generate a random password and print it once.
        #[arg(long)]
        generate: bool,
    },
    /// Mint a new API key in an admin's organization and print it once (recovery when every
    /// API key is lost). The organization's key limit still applies.
    CreateApiKey {
        /// An admin of the organization (default: the first organization).
        #[arg(long)]
        email: Option<String>,
        /// Organization id; required when the email belongs to admins of several organizations.
        #[arg(long)]
        org: Option<uuid::Uuid>,
        /// Name of the new key; names are unique within the organization.
        #[arg(long, default_value = "Recovery API key")]
        name: String,
        /// Most API keys an organization may hold, as given to `serve`.
        #[arg(long, env = "KEYPLANE_MAX_API_KEYS_PER_ORG", default_value_t = 5,
              value_parser = clap::value_parser!(u64).range(1..))]
        max_api_keys_per_org: u64,
    },
}
