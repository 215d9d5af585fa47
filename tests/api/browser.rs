//! Real headless Chromium driven through ChromeDriver (WebDriver), for the console's tests.
//! Under `CI=true` a missing browser fails the test; elsewhere the test says so and skips.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const LAPTOP: (u32, u32) = (1280, 800);
pub const PHONE: (u32, u32) = (390, 844);
const WAIT: Duration = Duration::from_secs(10);

pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Whether the browser tests can run here; panics under CI when they cannot.
pub fn available() -> bool {
    let present =
        std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
    if !present {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
        );
        eprintln!("SKIPPED: browser test needs {CHROMIUM} and {CHROMEDRIVER}");
    }
    present
}

impl Browser {
    pub async fn launch((width, height): (u32, u32)) -> Self {
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--disable-background-networking",
                    "--disable-extensions", "--no-first-run",
                    format!("--window-size={width},{height}"),
                ],
            }),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(err) if Instant::now() < deadline => {
                    let _ = err;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(err) => panic!("cannot start headless Chromium: {err}"),
            }
        };
        // The window size flag sets the outer window; make the viewport exact.
        let _ = client.set_window_size(width, height).await;
        Browser { client, driver }
    }

    /// Runs a flow; if it fails, saves a screenshot (and the page's text) before failing.
    pub async fn run<F, Fut>(self, name: &str, flow: F)
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let result = tokio::spawn(flow(self.client.clone())).await;
        if let Err(err) = result {
            let dir = screenshot_dir();
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("{name}.png"));
            if let Ok(png) = self.client.screenshot().await {
                let _ = std::fs::write(&path, png);
            }
            let text = match self.client.find(Locator::Css("body")).await {
                Ok(body) => body.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            let _ = self.client.clone().close().await;
            let message = match err.try_into_panic() {
                Ok(panic) => panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default(),
                Err(err) => err.to_string(),
            };
            panic!(
                "browser flow {name} failed: {message}\nscreenshot: {}\npage text:\n{text}",
                path.display()
            );
        }
        let _ = self.client.clone().close().await;
    }
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_owned());
    PathBuf::from(target).join("browser-screenshots")
}

pub fn tid(id: &str) -> Locator<'static> {
    Locator::Css(Box::leak(
        format!("[data-testid=\"{id}\"]").into_boxed_str(),
    ))
}

/// The element once it is in the page and visible.
pub async fn visible(c: &Client, locator: Locator<'_>) -> Element {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(el) = c.find(locator).await {
            if el.is_displayed().await.unwrap_or(false) {
                return el;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{locator:?} never became visible"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `check` holds for the page's text.
pub async fn until_text(c: &Client, what: &str, check: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = match c.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if check(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "waited for {what}; page text:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn click(c: &Client, locator: Locator<'_>) {
    visible(c, locator)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {locator:?}: {e}"));
}

pub async fn type_into(c: &Client, locator: Locator<'_>, text: &str) {
    let el = visible(c, locator).await;
    el.clear()
        .await
        .unwrap_or_else(|e| panic!("clear {locator:?}: {e}"));
    el.send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {locator:?}: {e}"));
}

/// Signs in through the console's form, as a person would, and waits for the header to
/// name the user.
pub async fn console_sign_in(c: &Client, base: &str, email: &str, password: &str) {
    c.goto(base).await.expect("open console");
    type_into(c, tid("signin-email"), email).await;
    type_into(c, tid("signin-password"), &format!("{password}\u{E007}")).await;
    let header = visible(c, tid("header-user")).await;
    assert_eq!(header.text().await.expect("header"), email);
}
