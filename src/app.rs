//! Wiring: open the installation, bootstrap it on first start, serve until a signal.

use crate::cli::{AdminArgs, AdminCommand, AuditArgs, AuditCommand, HaproxyMapArgs, ServeArgs};
use crate::domain::rotation::GracePolicy;
use crate::domain::secret::Secret;
use crate::domain::session::SessionPolicy;
use crate::error::Error;
use crate::http::tls::Tls;
use crate::http::{ConnectionLimits, MetricsAccess};
use crate::service::bootstrap::InitialCredentials;
use crate::service::limits::{FailureLimit, RateLimit};
use crate::service::{Limits, Services};
use anyhow::Context;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;
use tokio::net::TcpListener;

/// How often a node looks for credential changes made by other processes.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How often usage counts are written (`date_last_used` is at most this far behind).
const USAGE_FLUSH_INTERVAL: Duration = Duration::from_secs(10);
/// How long a node may fail to confirm its credential index before it refuses keys
/// (`serve --max-staleness`; the offline tools serve no keys).
const MAX_STALENESS: Duration = Duration::from_secs(5);
/// The window in which a source's failed authentications are counted.
const FAILURE_WINDOW: Duration = Duration::from_secs(10);

/// Serves the API on an already-bound listener until `shutdown` resolves, then finishes
/// the requests in flight.
pub async fn run(
    listener: TcpListener,
    services: Services,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run_with_metrics(
        listener,
        services,
        limits,
        MetricsAccess::default(),
        None,
        shutdown,
    )
    .await
}

async fn run_with_metrics(
    listener: TcpListener,
    services: Services,
    limits: ConnectionLimits,
    metrics: MetricsAccess,
    tls: Option<std::sync::Arc<Tls>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = crate::http::router(services, metrics);
    crate::http::serve_with_tls(listener, app, limits, tls, shutdown)
        .await
        .context("serving HTTP")
}

/// The bearer token of `--metrics-token-file`: its first line, from a file only its owner
/// can read (it guards what the review called reconnaissance data).
fn metrics_token(path: &Path) -> anyhow::Result<Secret> {
    first_line_secret(path, "metrics token file")
}

fn first_line_secret(path: &Path, what: &str) -> anyhow::Result<Secret> {
    crate::crypto::refuse_shared(path, what)?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {what} {}", path.display()))?;
    let token = text.lines().next().unwrap_or_default().trim().to_owned();
    anyhow::ensure!(
        token.len() >= 16,
        "{what} {} must hold a token of at least 16 characters on its first line",
        path.display()
    );
    Ok(Secret::new(token))
}

/// `--webhook-url` and `--webhook-secret-file`; the URL alone is an error at start, as
/// unsigned events could be forged by anyone who can reach the receiver.
fn webhook_config(
    url: Option<reqwest::Url>,
    secret_file: Option<&Path>,
) -> anyhow::Result<Option<crate::service::webhooks::WebhookConfig>> {
    match (url, secret_file) {
        (None, None) => Ok(None),
        (Some(_), None) => anyhow::bail!("--webhook-url needs --webhook-secret-file"),
        (url, Some(path)) => {
            let secret = first_line_secret(path, "webhook secret file")?;
            Ok(Some(crate::service::webhooks::WebhookConfig {
                url,
                secret,
            }))
        }
    }
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let limits = Limits {
        max_api_keys_per_org: args.max_api_keys_per_org,
        max_staleness: Duration::from_secs(args.max_staleness),
        sessions: SessionPolicy {
            idle: Duration::from_secs(args.session_idle_timeout),
            absolute: Duration::from_secs(args.session_lifetime),
            secure_cookie: args.secure_cookies(),
        },
        rate: RateLimit {
            limit: args.rate_limit,
            period: Duration::from_secs(args.rate_limit_period),
        },
        failures: FailureLimit {
            free_failures: args.auth_failure_burst(),
            window: FAILURE_WINDOW,
        },
        trusted_proxies: args.trusted_proxies.clone(),
        rotation_grace: GracePolicy {
            default_seconds: args.rotation_grace_period,
            max_seconds: args.max_rotation_grace_period,
        },
    };
    let haproxy = match (args.haproxy_socket, args.haproxy_map) {
        (Some(socket), Some(map)) => Some(
            crate::service::haproxy::HaproxyMap::new(socket, map).map_err(anyhow::Error::msg)?,
        ),
        _ => None,
    };
    let token = args
        .metrics_token_file
        .as_deref()
        .map(metrics_token)
        .transpose()?
        .map(std::sync::Arc::new);
    let webhooks = webhook_config(
        args.webhook_url.clone(),
        args.webhook_secret_file.as_deref(),
    )?;
    // Before the store opens: a bad certificate or key is an error at start.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(Tls::load(cert, key).map_err(anyhow::Error::msg)?),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let services = args.store.open(limits).await?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let metrics_listener = match args.metrics_listen {
        Some(at) => Some(
            TcpListener::bind(at)
                .await
                .with_context(|| format!("listening for /metrics on {at}"))?,
        ),
        None => None,
    };
    let addr = listener.local_addr()?;
    let path = args.store.credentials_path();
    let keep =
        |creds: &InitialCredentials| write_credentials(&path, creds).map_err(Error::Internal);
    if let Some(creds) = services
        .bootstrap_if_empty(args.one_time_read, keep)
        .await?
    {
        print_first_start(&creds, &path, scheme, addr);
        tracing::info!(path = %path.display(), "first start: initial credentials written");
    }
    // After the first start's bootstrap: the initial credentials are no event to announce.
    if let Some(config) = webhooks {
        services.start_webhooks(config)?;
    }
    // The signal handlers are in place before the server says it listens.
    let shutdown = shutdown_signal()?;
    let reloads = match &tls {
        Some(tls) => Some(tokio::spawn(
            tls.clone()
                .reload_on_sighup()
                .context("installing the SIGHUP handler")?,
        )),
        None => None,
    };
    tracing::info!(
        backend = services.store.backend(),
        "keyplane listening on {scheme}://{addr} (web console at {scheme}://{addr}/)"
    );
    let (stop_background, stopped) = tokio::sync::watch::channel(false);
    let background = {
        let services = services.clone();
        tokio::spawn(async move {
            services
                .run_background(POLL_INTERVAL, USAGE_FLUSH_INTERVAL, stopped)
                .await
        })
    };
    let haproxy = haproxy.map(|map| {
        tokio::spawn(crate::service::haproxy::sync::run(
            services.index.clone(),
            map,
            stop_background.subscribe(),
        ))
    });
    let connections = ConnectionLimits {
        header_read: Duration::from_secs(args.header_read_timeout),
        max_connections: args.max_connections as usize,
    };
    let main_metrics = MetricsAccess {
        served_here: metrics_listener.is_none(),
        token: token.clone(),
    };
    // One signal stops both listeners.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let metrics_task = match metrics_listener {
        Some(listener) => {
            tracing::info!(
                "metrics listening on http://{}/metrics",
                listener.local_addr()?
            );
            let app = crate::http::metrics_router(
                services.clone(),
                MetricsAccess {
                    served_here: true,
                    token,
                },
            );
            let mut stopping = stopping.clone();
            Some(tokio::spawn(async move {
                let stopped = async move {
                    let _ = stopping.wait_for(|s| *s).await;
                };
                crate::http::serve(listener, app, connections, stopped).await
            }))
        }
        None => None,
    };
    let signal = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    run_with_metrics(listener, services, connections, main_metrics, tls, signal).await?;
    if let Some(reloads) = reloads {
        reloads.abort();
    }
    if let Some(task) = metrics_task {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(error = %err, "metrics listener failed"),
            Err(_) => tracing::warn!("metrics listener ended abnormally"),
        }
    }
    // The background task writes the last usage counts before it ends.
    let _ = stop_background.send(true);
    if background.await.is_err() {
        tracing::warn!("background task ended abnormally");
    }
    if let Some(haproxy) = haproxy {
        let _ = haproxy.await;
    }
    tracing::info!("keyplane stopped");
    Ok(())
}

fn write_credentials(path: &Path, creds: &InitialCredentials) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(creds.env_file().as_bytes())?;
    file.sync_all()?;
    // The file's directory entry too: the database commit that follows makes these the only
    // credentials that will work.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The one time secrets are printed: to stdout, never to the log.
fn print_first_start(creds: &InitialCredentials, path: &Path, scheme: &str, addr: SocketAddr) {
    println!(
        "\nkeyplane: first start. Created an organization, its admin, one API key and one \
         application key.\nThese credentials are shown only now; they are also in {} (mode 0600):\n",
        path.display()
    );
    for line in creds.env_file().lines() {
        println!("    {line}");
    }
    println!(
        "\nTry it:\n\n    curl -s {scheme}://{addr}/api/v2/api_keys \\\n        -H \"DD-API-KEY: {}\" \\\n        -H \"DD-APPLICATION-KEY: {}\"\n",
        creds.api_key.expose(),
        creds.app_key.expose()
    );
    println!(
        "Web console: {scheme}://{addr}/ (sign in as {} with KEYPLANE_ADMIN_PASSWORD above)\n",
        creds.admin_email
    );
}

/// Installs the SIGTERM and SIGINT handlers at once, and resolves on the first of them. A
/// handler installed only when its future is first polled leaves a window after the server
/// says it listens in which a signal still kills the process (seen under load in CI).
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = interrupt.recv() => {},
        }
        tracing::info!("shutdown signal received; finishing requests in flight");
    })
}

/// Limits for the offline tools: they serve no requests.
pub(crate) fn offline_limits(max_api_keys_per_org: u64) -> Limits {
    Limits {
        max_api_keys_per_org,
        max_staleness: MAX_STALENESS,
        sessions: SessionPolicy::default(),
        rate: RateLimit {
            limit: 0,
            period: Duration::ZERO,
        },
        failures: FailureLimit {
            free_failures: 0,
            window: FAILURE_WINDOW,
        },
        trusted_proxies: Default::default(),
        rotation_grace: GracePolicy {
            default_seconds: 0,
            max_seconds: 0,
        },
    }
}

/// `SEQ:HASH` as `keyplane audit verify` prints the head.
fn parse_anchor(text: &str) -> anyhow::Result<(i64, crate::domain::audit::Hash)> {
    let parsed = text.split_once(':').and_then(|(seq, hash)| {
        let seq = seq.trim().parse::<i64>().ok().filter(|s| *s > 0)?;
        let hash: [u8; 32] = hex::decode(hash.trim()).ok()?.try_into().ok()?;
        Some((seq, hash))
    });
    parsed.with_context(|| {
        format!("--expect must be SEQ:HASH (a record number and 64 hex characters), not {text}")
    })
}

pub async fn audit(args: AuditArgs) -> anyhow::Result<()> {
    let services = args.store.open(offline_limits(u64::MAX)).await?;
    match args.command {
        AuditCommand::Verify { expect } => {
            let expect = expect.as_deref().map(parse_anchor).transpose()?;
            match services.verify_audit(expect).await? {
                Ok(verified) => {
                    println!(
                        "audit trail intact: {} records, every MAC chained under the master key",
                        verified.records
                    );
                    if let Some(head) = verified.head {
                        if head.keyed_from > 1 {
                            println!(
                                "records 1..{} predate the keyed chain and verify under the unkeyed SHA-256 rule",
                                head.keyed_from - 1
                            );
                        }
                        println!("head: {}", head.anchor());
                        println!("(keep the head outside this database; `verify --expect {}` later proves nothing was cut back to an older head)", head.anchor());
                    }
                    Ok(())
                }
                Err(broken) => anyhow::bail!("audit trail BROKEN: {broken}"),
            }
        }
        AuditCommand::Bursts => {
            for record in services.audit_without_org().await? {
                let e = &record.event;
                println!(
                    "{}\t{}\t{}\t{}",
                    record.seq,
                    crate::domain::time::format(e.at),
                    e.action.as_str(),
                    e.source.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
    }
}

/// Prints the HAProxy map of every API key, for HAProxy's start.
pub async fn haproxy_map(args: HaproxyMapArgs) -> anyhow::Result<()> {
    let services = args.store.open(offline_limits(u64::MAX)).await?;
    let entries = services.index.api_key_digests();
    let mut out = std::io::stdout().lock();
    out.write_all(crate::service::haproxy::map_file(&entries).as_bytes())?;
    out.flush()?;
    Ok(())
}

pub async fn admin(args: AdminArgs) -> anyhow::Result<()> {
    let max = match &args.command {
        AdminCommand::CreateApiKey {
            max_api_keys_per_org,
            ..
        } => *max_api_keys_per_org,
        _ => u64::MAX,
    };
    let services = args.store.open(offline_limits(max)).await?;
    match args.command {
        AdminCommand::CreateOrganization {
            name,
            admin_email,
            one_time_read,
        } => {
            let creds = services
                .create_organization(&name, &admin_email, one_time_read)
                .await?;
            let otr = if one_time_read { "on" } else { "off" };
            println!(
                "# organization \"{name}\" ({}), one-time read {otr}; shown only now",
                creds.org_id
            );
            print!("{}", creds.env_file());
        }
        AdminCommand::ListOrganizations => {
            for org in services.store.list_orgs().await? {
                let otr = if org.one_time_read {
                    " (one-time read)"
                } else {
                    ""
                };
                println!("{}\t{}{otr}", org.id, org.name);
            }
        }
        AdminCommand::Invite {
            email,
            org,
            base_url,
        } => {
            let (user, sent) = services.invite_from_cli(org, &email).await?;
            println!(
                "# invitation for {} (organization {}), valid until {}; shown only now",
                user.email,
                user.org_id,
                crate::domain::time::format(sent.invitation.expires_at)
            );
            println!(
                "{}{}",
                base_url.trim_end_matches('/'),
                crate::domain::invitation::link_path(&sent.secret)
            );
        }
        AdminCommand::SetOneTimeRead { org, enabled } => {
            let org = match org {
                Some(id) => id,
                None => services
                    .store
                    .list_orgs()
                    .await?
                    .first()
                    .map(|o| o.id)
                    .context("the installation has no organization")?,
            };
            services.set_one_time_read(org, enabled).await?;
            println!(
                "one-time read mode of {org}: {}",
                if enabled { "on" } else { "off" }
            );
        }
        AdminCommand::CreateApplicationKey { email, org, name } => {
            let (owner, org, secret) = services
                .mint_application_key(email.as_deref(), org, &name)
                .await?;
            println!(
                "# application key \"{name}\" owned by {} in organization {} ({})",
                owner.email, org.id, org.name
            );
            println!("DD_APP_KEY={}", secret.expose());
        }
        AdminCommand::SetPassword {
            email,
            org,
            generate,
        } => {
            let password = if generate {
                crate::domain::session::new_password()
            } else {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Secret::new(line.trim_end_matches(['\r', '\n']).to_owned())
            };
            let user = services
                .set_password(org, &email, password.expose())
                .await?;
            println!("# console password of {} set", user.email);
            if generate {
                println!("KEYPLANE_PASSWORD={}", password.expose());
            }
        }
        AdminCommand::CreateApiKey {
            email, org, name, ..
        } => {
            let (admin, org, secret) = services.mint_api_key(email.as_deref(), org, &name).await?;
            println!(
                "# API key \"{name}\" in organization {} ({}), for its admin {}",
                org.id, org.name, admin.email
            );
            println!("DD_API_KEY={}", secret.expose());
        }
    }
    Ok(())
}
