//! Wiring: open the installation, bootstrap it on first start, serve until a signal.

use crate::cli::{AdminArgs, AdminCommand, AuditArgs, AuditCommand, HaproxyMapArgs, ServeArgs};
use crate::domain::secret::Secret;
use crate::domain::session::SessionPolicy;
use crate::error::Error;
use crate::http::ConnectionLimits;
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
/// How long a node may fail to confirm its credential index before it refuses keys.
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
    let app = crate::http::router(services);
    crate::http::serve(listener, app, limits, shutdown)
        .await
        .context("serving HTTP")
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let limits = Limits {
        max_api_keys_per_org: args.max_api_keys_per_org,
        max_staleness: MAX_STALENESS,
        sessions: SessionPolicy {
            idle: Duration::from_secs(args.session_idle_timeout),
            absolute: Duration::from_secs(args.session_lifetime),
            secure_cookie: args.secure_cookies,
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
    };
    let haproxy = match (args.haproxy_socket, args.haproxy_map) {
        (Some(socket), Some(map)) => Some(
            crate::service::haproxy::HaproxyMap::new(socket, map).map_err(anyhow::Error::msg)?,
        ),
        _ => None,
    };
    let services = args.store.open(limits).await?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let path = args.store.credentials_path();
    let keep =
        |creds: &InitialCredentials| write_credentials(&path, creds).map_err(Error::Internal);
    if let Some(creds) = services.bootstrap_if_empty(keep).await? {
        print_first_start(&creds, &path, addr);
        tracing::info!(path = %path.display(), "first start: initial credentials written");
    }
    tracing::info!(
        backend = services.store.backend(),
        "keyplane listening on http://{addr} (web console at http://{addr}/)"
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
    run(listener, services, connections, shutdown_signal()).await?;
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
fn print_first_start(creds: &InitialCredentials, path: &Path, addr: SocketAddr) {
    println!(
        "\nkeyplane: first start. Created an organization, its admin, one API key and one \
         application key.\nThese credentials are shown only now; they are also in {} (mode 0600):\n",
        path.display()
    );
    for line in creds.env_file().lines() {
        println!("    {line}");
    }
    println!(
        "\nTry it:\n\n    curl -s http://{addr}/api/v2/api_keys \\\n        -H \"DD-API-KEY: {}\" \\\n        -H \"DD-APPLICATION-KEY: {}\"\n",
        creds.api_key.expose(),
        creds.app_key.expose()
    );
    println!(
        "Web console: http://{addr}/ (sign in as {} with KEYPLANE_ADMIN_PASSWORD above)\n",
        creds.admin_email
    );
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}

/// Limits for the offline tools: they serve no requests.
fn offline_limits(max_api_keys_per_org: u64) -> Limits {
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
    }
}

pub async fn audit(args: AuditArgs) -> anyhow::Result<()> {
    let services = args.store.open(offline_limits(u64::MAX)).await?;
    match args.command {
        AuditCommand::Verify => match services.verify_audit().await? {
            Ok(count) => {
                println!("audit trail intact: {count} records, every hash chained");
                Ok(())
            }
            Err(broken) => {
                use crate::domain::audit::Broken;
                let what = match broken {
                    Broken::Altered { seq } => format!("record {seq} was edited"),
                    Broken::Unlinked { seq } => {
                        format!("record {seq} does not follow its predecessor (a record was removed)")
                    }
                    Broken::Truncated { head_seq, last_seq } => format!(
                        "the trail ends at record {last_seq} but its head says {head_seq} (records were cut)"
                    ),
                };
                anyhow::bail!("audit trail BROKEN: {what}")
            }
        },
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
        AdminCommand::CreateOrganization { name, admin_email } => {
            let creds = services.create_organization(&name, &admin_email).await?;
            println!(
                "# organization \"{name}\" ({}); shown only now",
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
        AdminCommand::CreateApplicationKey { email, name } => {
            let (owner, secret) = services
                .mint_application_key(email.as_deref(), &name)
                .await?;
            println!("# application key \"{name}\" owned by {}", owner.email);
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
        AdminCommand::CreateApiKey { email, name, .. } => {
            let (admin, secret) = services.mint_api_key(email.as_deref(), &name).await?;
            println!(
                "# API key \"{name}\" in the organization of {}",
                admin.email
            );
            println!("DD_API_KEY={}", secret.expose());
        }
    }
    Ok(())
}
