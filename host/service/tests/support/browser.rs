//! A real headless Chromium driven over WebDriver (fantoccini and Debian's `chromium` and
//! `chromium-driver`), for the dashboard tests. chromedriver is started on a free loopback port
//! and ended with the browser. A missing browser fails the test with how to install it: the
//! dashboard tests never skip.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// How long a page condition may take before the test gives up (a bound, not a measurement).
pub const PAGE_BOUND: Duration = Duration::from_secs(30);

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";

/// A browser session with blocking methods (the tests are synchronous).
pub struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
}

fn require(file: &str) {
    assert!(
        Path::new(file).exists(),
        "{file} is missing: the dashboard tests drive a real Chromium; install it with `apt-get install -y chromium chromium-driver` (.ci/run does this when it runs as root)"
    );
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("local addr").port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub fn start() -> Browser {
        require(CHROMIUM);
        require(DRIVER);
        let port = free_port();
        let driver = Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let mut browser = Browser {
            runtime,
            client: None,
            driver,
        };
        let client = browser.runtime.block_on(connect(port));
        browser.client = Some(client);
        browser
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("connected in start")
    }

    pub fn goto(&self, url: &str) {
        self.runtime
            .block_on(self.client().goto(url))
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    pub fn url(&self) -> String {
        self.runtime
            .block_on(self.client().current_url())
            .expect("current url")
            .to_string()
    }

    /// The text of the first element matching `css`.
    pub fn text(&self, css: &str) -> String {
        let texts = self.texts(css);
        match texts.into_iter().next() {
            Some(text) => text,
            None => panic!("no `{css}` on {}", self.url()),
        }
    }

    /// Asserts the first element matching `css` shows every one of `needles` (`why` says what
    /// that proves).
    pub fn assert_shows(&self, css: &str, needles: &[&str], why: &str) {
        let text = self.text(css);
        let missing: Vec<&&str> = needles.iter().filter(|n| !text.contains(**n)).collect();
        assert!(
            missing.is_empty(),
            "{why}: `{css}` lacks {missing:?}: {text}"
        );
    }

    /// The rendered texts of every element matching `css`, read in one script so a live update
    /// between finding and reading cannot leave a stale element.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let script = "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText.trim())";
        let found = self
            .runtime
            .block_on(self.client().execute(script, vec![Value::from(css)]))
            .unwrap_or_else(|e| panic!("cannot read `{css}`: {e}"));
        found
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect()
    }

    async fn url_async(&self) -> String {
        self.client()
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    pub fn click(&self, css: &str) {
        self.runtime.block_on(async {
            let element = match self.client().find(Locator::Css(css)).await {
                Ok(element) => element,
                Err(e) => panic!("no `{css}` on {}: {e}", self.url_async().await),
            };
            element
                .click()
                .await
                .unwrap_or_else(|e| panic!("cannot click `{css}`: {e}"));
        });
    }

    /// Types `text` into the input matching `css`.
    pub fn type_into(&self, css: &str, text: &str) {
        self.runtime.block_on(async {
            let element = self.client().find(Locator::Css(css)).await.expect("input");
            element.send_keys(text).await.expect("typing");
        });
    }

    /// Chooses the option with `value` in the `<select>` matching `css`.
    pub fn select(&self, css: &str, value: &str) {
        self.runtime.block_on(async {
            let element = self.client().find(Locator::Css(css)).await.expect("select");
            element.select_by_value(value).await.expect("option");
        });
    }

    /// Runs a script (from WebDriver, not the page: the page's CSP does not apply to it).
    pub fn eval(&self, script: &str) -> Value {
        self.runtime
            .block_on(self.client().execute(script, Vec::new()))
            .unwrap_or_else(|e| panic!("script `{script}` failed: {e}"))
    }

    /// Waits until `probe` holds on the page (a bound on a condition, not a timing assertion).
    pub fn wait_until(&self, what: &str, mut probe: impl FnMut(&Browser) -> bool) {
        let deadline = Instant::now() + PAGE_BOUND;
        while !probe(self) {
            assert!(
                Instant::now() < deadline,
                "{what}: not reached within {PAGE_BOUND:?} on {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Writes a PNG of the viewport to `dir/name.png`.
    pub fn screenshot(&self, dir: &Path, name: &str) -> PathBuf {
        let png = self
            .runtime
            .block_on(self.client().screenshot())
            .expect("screenshot");
        std::fs::create_dir_all(dir).expect("screenshot dir");
        let file = dir.join(format!("{name}.png"));
        std::fs::write(&file, png).expect("write screenshot");
        file
    }
}

async fn connect(port: u16) -> Client {
    let url = format!("http://127.0.0.1:{port}");
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"]
        }
    });
    let caps = match caps {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    };
    let deadline = Instant::now() + PAGE_BOUND;
    loop {
        let attempt = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await;
        match attempt {
            Ok(client) => return client,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot start headless Chromium through {DRIVER}: {e}"),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
