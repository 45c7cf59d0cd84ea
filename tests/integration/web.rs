//! The web console through a real headless Chromium (chromedriver +
//! fantoccini) against the real `helpgate serve`, and HTTP-level checks of
//! CSRF, idle expiry and login throttling over plain TCP.
//!
//! Each test gets its own state dir, server and browser on loopback ports.
//! Screenshots land in target/web-screenshots/.

use crate::common::{json_lines, path_str, Env};
use crate::harness::{free_port, Group};
use fantoccini::{Client, ClientBuilder, Locator};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;

/// A question a human answers (general queue), with a word found nowhere else.
const GENERAL: &str = "From: Mia Berg <mia.berg@example.org>
To: support@helpgate.example
Subject: Question about my account settings
Message-ID: <general-1@example.org>
Date: Mon, 23 Nov 2026 09:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b1

--b1
Content-Type: text/plain; charset=utf-8

Hello, I cannot change the display name in my account settings.
The page says zebraquartz when I press save. What should I do?

Mia
--b1
Content-Type: text/html; name=\"error page.html\"
Content-Disposition: attachment; filename=\"error page.html\"

<html><script>alert(1)</script>zebraquartz</html>
--b1--
";

/// A privacy request: sensitive, routed to the restricted queue.
const SENSITIVE: &str = "From: Noor Haddad <noor.h@example.org>
To: support@helpgate.example
Subject: Delete my personal data
Message-ID: <privacy-1@example.org>
Date: Mon, 23 Nov 2026 10:00:00 +0000
Content-Type: text/plain; charset=utf-8

Under the GDPR I request the deletion of all my personal data and my account.
Please confirm the erasure of my data. Reference xylophonic.

Noor
";

/// The ticket fixtures, users and a running console.
struct Console {
    env: Env,
    server: Group,
    port: u16,
    general: i64,
    sensitive: i64,
}

fn ticket_by_subject(env: &Env, subject: &str) -> i64 {
    for t in env.tickets() {
        let id = t["id"].as_i64().unwrap();
        let show = json_lines(&env.ok(&["tickets", "show", &id.to_string(), "--json"]));
        if show[0]["subject"].as_str() == Some(subject) {
            return id;
        }
    }
    panic!("no ticket with subject {subject:?}");
}

impl Console {
    fn start() -> Console {
        Console::start_with(None)
    }

    /// With a config file holding `config` for `serve`.
    fn start_with(config: Option<&str>) -> Console {
        let env = Env::new();
        let a = env.mail("general.eml", GENERAL);
        let b = env.mail("sensitive.eml", SENSITIVE);
        env.ok(&["ingest", path_str(&a), path_str(&b)]);
        let pw = env.dir.path().join("pw");
        for (user, extra) in [
            ("ana", vec![]),
            ("bo", vec![]),
            ("sam", vec!["--role", "lead", "--queues", "sensitive"]),
        ] {
            std::fs::write(&pw, format!("{user}-password-1\n")).unwrap();
            let mut args = vec!["users", "add", user, "--password-file", path_str(&pw)];
            args.extend(extra);
            env.ok(&args);
        }
        let general = ticket_by_subject(&env, "Question about my account settings");
        let sensitive = ticket_by_subject(&env, "Delete my personal data");
        let queue = |id: i64| {
            json_lines(&env.ok(&["tickets", "show", &id.to_string(), "--json"]))[0]["queue"]
                .as_str()
                .map(String::from)
        };
        assert_eq!(queue(general).as_deref(), Some("general"));
        assert_eq!(queue(sensitive).as_deref(), Some("sensitive"));
        let port = free_port();
        let mut cmd = env.cmd(&["serve", "--listen", &format!("127.0.0.1:{port}")]);
        if let Some(text) = config {
            let path = env.dir.path().join("helpgate.toml");
            std::fs::write(&path, text).unwrap();
            cmd.arg("--config").arg(path);
        }
        cmd.stdout(std::process::Stdio::null());
        let log = env.dir.path().join("serve.log");
        let mut server = Group::spawn_server(&mut cmd, &log);
        server.wait_port(port, "helpgate serve", &log);
        Console {
            env,
            server,
            port,
            general,
            sensitive,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn show(&self, id: i64) -> serde_json::Value {
        json_lines(&self.env.ok(&["tickets", "show", &id.to_string(), "--json"])).remove(0)
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.server.stop();
    }
}

/// chromedriver on a loopback port from a temp dir, and a headless
/// Chromium session with a fresh profile.
struct Browser {
    _driver: Group,
    _dir: tempfile::TempDir,
    client: Client,
}

impl Browser {
    async fn start() -> Browser {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = dir.path().join("chromedriver.log");
        let mut cmd = Command::new("/usr/bin/chromedriver");
        cmd.arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .current_dir(dir.path())
            .env("HOME", dir.path());
        let mut driver = Group::spawn_server(&mut cmd, &dir.path().join("chromedriver.err"));
        driver.wait_port(port, "chromedriver", &log);
        let profile = dir.path().join("profile");
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!("a JSON object literal")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "no WebDriver session: {e}\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        Browser {
            _driver: driver,
            _dir: dir,
            client,
        }
    }

    async fn login(&self, c: &Console, user: &str) {
        let b = &self.client;
        b.goto(&c.url("/login")).await.unwrap();
        b.find(Locator::Id("user"))
            .await
            .unwrap()
            .send_keys(user)
            .await
            .unwrap();
        b.find(Locator::Id("password"))
            .await
            .unwrap()
            .send_keys(&format!("{user}-password-1"))
            .await
            .unwrap();
        b.find(Locator::Id("login"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let who = b.wait().for_element(Locator::Id("who")).await.unwrap();
        assert!(who.text().await.unwrap().starts_with(user));
    }

    async fn go(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    async fn click(&self, id: &str) {
        let e = self.client.wait().for_element(Locator::Id(id)).await;
        e.unwrap_or_else(|e| panic!("no #{id}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn select(&self, id: &str, value: &str) {
        let e = self.client.find(Locator::Id(id)).await.unwrap();
        e.select_by_value(value).await.unwrap();
    }

    /// The element's text, once the page that has it is there: a click that
    /// submits a form returns before the next page is loaded on a busy machine.
    async fn text(&self, css: &str) -> String {
        self.client
            .wait()
            .at_most(std::time::Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    /// Wait until the element reads `want`: after a click that submits a
    /// form, the old page (with the same element) may still be showing.
    async fn wait_text(&self, css: &str, want: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let now = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if now == want {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{css} reads {now:?}, not {want:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    async fn body(&self) -> String {
        self.text("body").await
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/web-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn close(self) {
        self.client.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_11_restricted_ticket_is_invisible_without_the_queue() {
    let c = Console::start();
    let b = Browser::start().await;
    b.login(&c, "ana").await;
    // Counts: the overview has no line for the restricted queue.
    let queues = b.text("#queues").await;
    assert!(queues.contains("general"), "{queues}");
    assert!(!queues.contains("sensitive"), "{queues}");
    assert_eq!(b.text("#total-open").await, "1 open tickets you can see");
    b.screenshot("queue-overview").await;
    // Lists: not even when asked for by queue.
    b.go(&c.url("/tickets?queue=sensitive")).await;
    assert_eq!(b.text("#count").await, "0 tickets");
    b.go(&c.url("/tickets")).await;
    let list = b.text("#tickets").await;
    assert!(
        list.contains("Question about my account settings"),
        "{list}"
    );
    assert!(!list.contains("Delete my personal data"), "{list}");
    // Search: a word only the sensitive ticket has.
    b.go(&c.url("/search?q=xylophonic")).await;
    assert_eq!(b.text("#count").await, "0 tickets");
    // By URL: the same 404 as a ticket that does not exist.
    b.go(&c.url(&format!("/tickets/{}", c.sensitive))).await;
    assert!(b.body().await.contains("404"));
    assert!(!b.body().await.contains("Delete my personal data"));
    // Nor can a form act on it.
    let events_before = c.show(c.sensitive)["events"].as_array().unwrap().len();
    b.go(&c.url(&format!("/tickets/{}", c.general))).await;
    let form_action = format!("/tickets/{}/note", c.sensitive);
    b.client
        .execute(
            "document.querySelector('form[action$=\"/note\"]').setAttribute('action', arguments[0]);
             document.getElementById('note-text').value = 'sneaky';
             document.getElementById('add-note').click();",
            vec![serde_json::json!(form_action)],
        )
        .await
        .unwrap();
    b.client
        .wait()
        .for_element(Locator::Css("body"))
        .await
        .unwrap();
    assert!(b.body().await.contains("404"));
    assert_eq!(
        c.show(c.sensitive)["events"].as_array().unwrap().len(),
        events_before
    );

    // Someone with the queue sees it, and the view is recorded.
    b.client.delete_all_cookies().await.unwrap();
    b.login(&c, "sam").await;
    assert!(b.text("#queues").await.contains("sensitive"));
    b.go(&c.url("/search?q=xylophonic")).await;
    assert_eq!(b.text("#count").await, "1 tickets");
    b.client
        .find(Locator::Css("#tickets a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(b
        .text("#ticket-title")
        .await
        .contains("Delete my personal data"));
    let events = c.show(c.sensitive)["events"].as_array().unwrap().clone();
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "view" && e["actor"] == "sam"),
        "{events:?}"
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_11_claim_conflict_then_template_reply_with_preview_lands_once() {
    let c = Console::start();
    let id = c.general.to_string();
    c.env.ok(&["tickets", "claim", &id, "--as", "bo"]);
    let b = Browser::start().await;
    b.login(&c, "ana").await;
    b.go(&c.url(&format!("/tickets/{id}"))).await;
    assert_eq!(b.text("#claimed-by").await, "bo");
    // A claim on someone else's ticket asks first and changes nothing.
    b.click("claim").await;
    let offer = b.text("#takeover-form").await;
    assert!(offer.contains("claimed by bo"), "{offer}");
    assert_eq!(c.show(c.general)["claimed_by"], "bo");
    b.click("takeover").await;
    b.wait_text("#claimed-by", "ana").await;
    let events = c.show(c.general)["events"].as_array().unwrap().clone();
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "takeover" && e["detail"] == "taken over from bo by ana"),
        "{events:?}"
    );
    b.screenshot("ticket-view").await;

    // Reply from a template: preview, edit, send.
    b.select("template", "instructions").await;
    b.select("lang", "en").await;
    b.click("preview").await;
    let body = b
        .client
        .wait()
        .for_element(Locator::Id("reply-body"))
        .await
        .unwrap();
    let preview = body.prop("value").await.unwrap().unwrap_or_default();
    assert!(preview.contains("instructions"), "{preview}");
    assert_eq!(c.show(c.general)["replies"].as_array().unwrap().len(), 0);
    body.send_keys("\nPS: the zebraquartz message means the name is taken.")
        .await
        .unwrap();
    b.screenshot("reply-preview").await;
    b.click("send").await;
    let flash = b.text("#flash").await;
    assert!(flash.starts_with("Reply queued"), "{flash}");
    // The browser's back button and a second Send: still one reply.
    b.client.back().await.unwrap();
    b.client
        .wait()
        .for_element(Locator::Id("send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.client
        .wait()
        .for_element(Locator::Id("flash"))
        .await
        .unwrap();
    let show = c.show(c.general);
    let replies = show["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0]["kind"], "human");
    assert_eq!(replies[0]["template"], "en/instructions");
    assert!(
        replies[0]["text"]
            .as_str()
            .unwrap()
            .contains("the zebraquartz message means the name is taken"),
        "{replies:?}"
    );
    assert_eq!(show["state"], "answered");
    // The ticket page shows our reply with its delivery state.
    b.go(&c.url(&format!("/tickets/{id}"))).await;
    let thread = b.text("#thread").await;
    assert!(thread.contains("Our reply"), "{thread}");
    assert!(thread.contains("zebraquartz message means"), "{thread}");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_11_search_finds_a_body_word_and_logout_ends_the_session() {
    let c = Console::start();
    let b = Browser::start().await;
    b.login(&c, "ana").await;
    let q = b.client.find(Locator::Css("input[name=q]")).await.unwrap();
    q.send_keys("zebraquartz").await.unwrap();
    b.client
        .find(Locator::Css("form[role=search] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(b.text("#count").await, "1 tickets");
    assert!(b
        .text("#tickets")
        .await
        .contains("Question about my account settings"));
    // The ticket page tells about a follow-up that arrives while it is open.
    b.go(&c.url(&format!("/tickets/{}", c.general))).await;
    let news = b.client.find(Locator::Id("news")).await.unwrap();
    assert!(!news.is_displayed().await.unwrap());
    let follow_up = c.env.mail(
        "follow-up.eml",
        &format!(
            "From: Mia Berg <mia.berg@example.org>\nTo: support@helpgate.example\n\
             Subject: Re: Question about my account settings [#{}]\n\
             Message-ID: <general-2@example.org>\nIn-Reply-To: <general-1@example.org>\n\n\
             It still says zebraquartz.\n",
            c.general
        ),
    );
    c.env.ok(&["ingest", path_str(&follow_up)]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !news.is_displayed().await.unwrap() {
        assert!(
            std::time::Instant::now() < deadline,
            "no notice of the follow-up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    b.click("logout").await;
    b.client
        .wait()
        .for_element(Locator::Id("login"))
        .await
        .unwrap();
    b.go(&c.url("/tickets")).await;
    // Back on the login page, not the list.
    b.client
        .wait()
        .for_element(Locator::Id("login"))
        .await
        .unwrap();
    assert!(!b
        .body()
        .await
        .contains("Question about my account settings"));
    b.close().await;
}

/// A minimal HTTP/1.1 exchange: status, headers (lower-cased names), body.
fn http(
    port: u16,
    method: &str,
    path: &str,
    cookie: &str,
    form: &str,
) -> (u16, Vec<(String, String)>, String) {
    exchange(
        TcpStream::connect(("127.0.0.1", port)).unwrap(),
        method,
        path,
        cookie,
        "",
        form,
    )
}

/// A GET from the loopback address `from` (the whole of 127/8 is local on
/// Linux), with extra header lines.
fn get_from(
    from: &str,
    port: u16,
    path: &str,
    extra: &str,
) -> (u16, Vec<(String, String)>, String) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stream = rt
        .block_on(socket.connect(format!("127.0.0.1:{port}").parse().unwrap()))
        .unwrap()
        .into_std()
        .unwrap();
    stream.set_nonblocking(false).unwrap();
    exchange(stream, "GET", path, "", extra, "")
}

fn exchange(
    mut s: TcpStream,
    method: &str,
    path: &str,
    cookie: &str,
    extra: &str,
    form: &str,
) -> (u16, Vec<(String, String)>, String) {
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}");
    if !cookie.is_empty() {
        req.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    if method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            form.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(form);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

/// GET as a logged-in user.
fn get(c: &Console, path: &str, session: &str) -> (u16, Vec<(String, String)>, String) {
    http(c.port, "GET", path, session, "")
}

fn cookie_of(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .filter_map(|(_, v)| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let i = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        + marker.len();
    body[i..].split('"').next().unwrap().to_string()
}

/// Log in over HTTP; the session cookie, or the status of a refusal.
fn login(c: &Console, user: &str, password: &str) -> Result<String, u16> {
    let (_, h, body) = http(c.port, "GET", "/login", "", "");
    let login_cookie = cookie_of(&h, "hg_login").unwrap();
    let token = hidden(&body, "token");
    let form = format!("user={user}&password={password}&token={token}&next=/");
    let (status, h, _) = http(
        c.port,
        "POST",
        "/login",
        &format!("hg_login={login_cookie}"),
        &form,
    );
    match cookie_of(&h, "hg_session") {
        Some(s) if status == 303 => {
            let set = h
                .iter()
                .find(|(k, v)| k == "set-cookie" && v.starts_with("hg_session"))
                .unwrap();
            assert!(
                set.1.contains("HttpOnly") && set.1.contains("SameSite=Strict"),
                "{set:?}"
            );
            Ok(format!("hg_session={s}"))
        }
        _ => Err(status),
    }
}

#[test]
fn issue_11_forms_without_the_csrf_token_change_nothing() {
    let c = Console::start();
    let session = login(&c, "ana", "ana-password-1").unwrap();
    let path = format!("/tickets/{}/note", c.general);
    for form in [
        "text=forged",
        "text=forged&csrf=",
        "text=forged&csrf=0123abcd",
    ] {
        let (status, _, _) = http(c.port, "POST", &path, &session, form);
        assert_eq!(status, 403, "{form}");
    }
    // Login itself needs the token its form carried.
    let (status, _, _) = http(
        c.port,
        "POST",
        "/login",
        "",
        "user=ana&password=ana-password-1&token=x",
    );
    assert_eq!(status, 403);
    let (_, _, page) = get(&c, &format!("/tickets/{}", c.general), &session);
    let csrf = hidden(&page, "csrf");
    let (status, _, _) = http(
        c.port,
        "POST",
        &path,
        &session,
        &format!("text=real&csrf={csrf}"),
    );
    assert_eq!(status, 303);
    let notes: Vec<String> = c.show(c.general)["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "note")
        .map(|e| e["detail"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(notes, vec!["real".to_string()]);
}

#[test]
fn issue_11_idle_session_expires() {
    let c = Console::start();
    let session = login(&c, "ana", "ana-password-1").unwrap();
    let (status, _, _) = http(c.port, "GET", "/", &session, "");
    assert_eq!(status, 200);
    // Forty minutes of silence (the default idle timeout is 30).
    let db = rusqlite::Connection::open(c.env.state().join("helpgate.db")).unwrap();
    db.execute(
        "UPDATE sessions SET last_seen = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-40 minutes')",
        [],
    )
    .unwrap();
    let (status, h, _) = http(c.port, "GET", "/", &session, "");
    assert_eq!(status, 303);
    let to = &h.iter().find(|(k, _)| k == "location").unwrap().1;
    assert!(to.starts_with("/login") && to.contains("expired=1"), "{to}");
    // And the session is gone, not merely refused once.
    let n: i64 = db
        .query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn issue_11_login_is_throttled_after_failures() {
    let c = Console::start();
    for _ in 0..5 {
        assert_eq!(login(&c, "ana", "wrong-guess"), Err(401));
    }
    // Even the right password is refused while the window lasts.
    assert_eq!(login(&c, "ana", "ana-password-1"), Err(429));
    // Another account from another name still logs in (per-name key), but
    // this client's address has used up its attempts too.
    assert_eq!(login(&c, "bo", "bo-password-1"), Err(429));
}

#[test]
fn issue_11_attachments_download_as_opaque_files_never_inline() {
    let c = Console::start();
    let session = login(&c, "ana", "ana-password-1").unwrap();
    let (_, _, page) = get(&c, &format!("/tickets/{}", c.general), &session);
    let i = page.find("/attachments/").expect("an attachment link");
    let start = page[..i].rfind('"').unwrap() + 1;
    let href = page[start..].split('"').next().unwrap().to_string();
    let (status, h, body) = http(c.port, "GET", &href, &session, "");
    assert_eq!(status, 200);
    let header = |n: &str| {
        h.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(header("content-type"), "application/octet-stream");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-disposition").starts_with("attachment; filename=\"error page.html\""));
    assert_eq!(
        body.trim_end(),
        "<html><script>alert(1)</script>zebraquartz</html>"
    );
    // Not for someone who cannot see the ticket's queue, nor unauthenticated.
    let (status, h, _) = http(c.port, "GET", &href, "", "");
    assert_eq!(status, 303);
    assert!(h
        .iter()
        .any(|(k, v)| k == "location" && v.starts_with("/login")));
}

/// Issue 12 in the console: a ticket whose first-response clock ran out is
/// marked as breached in the list, on its page and in its queue's count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_12_breached_ticket_is_marked_in_list_page_and_overview() {
    let c = Console::start();
    // The general ticket arrived three hours ago; its queue answers first
    // within an hour. `status` brings the clocks up to date, as the daemon does.
    let db = rusqlite::Connection::open(c.env.state().join("helpgate.db")).unwrap();
    let three_hours_ago = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3 hours')";
    db.execute(
        &format!(
            "UPDATE tickets SET created_at = {three_hours_ago}, updated_at = {three_hours_ago}"
        ),
        [],
    )
    .unwrap();
    db.execute(
        &format!("UPDATE messages SET received_at = {three_hours_ago}"),
        [],
    )
    .unwrap();
    let config = c.env.dir.path().join("sla.toml");
    std::fs::write(
        &config,
        "[sla]\n[[sla.policy]]\nqueue = \"general\"\nfirst_response = \"1h\"\nresolution = \"2d\"\n\
         [[sla.policy]]\nqueue = \"sensitive\"\nfirst_response = \"1h\"\nresolution = \"2d\"\n",
    )
    .unwrap();
    let out = c
        .env
        .cmd(&["status"])
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("sla: 2 breached"),
        "{out:?}"
    );

    let b = Browser::start().await;
    b.login(&c, "ana").await;
    let row = b
        .text("#queues tr[data-queue=general] td[data-breached]")
        .await;
    assert_eq!(row, "1");
    // The count leads to the ticket.
    b.client
        .find(Locator::Css(
            "#queues tr[data-queue=general] td[data-breached] a",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_text("h1", "SLA breached or at risk: general").await;
    let due = b.text("#tickets").await;
    assert!(due.contains("Question about my account settings"), "{due}");
    assert!(due.contains("first response breached"), "{due}");
    // The sensitive ticket has breached too, but is not ana's to see: the
    // unfiltered list has the one ticket.
    b.go(&c.url("/due")).await;
    assert_eq!(b.text("#count").await, "1 tickets");
    let sam = login(&c, "sam", "sam-password-1").unwrap();
    let (_, _, page) = get(&c, "/due", &sam);
    assert!(page.contains("<p id=\"count\">2 tickets</p>"), "{page}");
    b.go(&c.url("/tickets?queue=general")).await;
    let sla = b
        .text(&format!(
            "#tickets tr[data-id=\"{}\"] [data-sla]",
            c.general
        ))
        .await;
    assert!(sla.starts_with("first response breached 2h"), "{sla}");
    b.go(&c.url(&format!("/tickets/{}", c.general))).await;
    let clocks = b.text("#sla").await;
    assert!(clocks.contains("First response breached 2h"), "{clocks}");
    assert!(clocks.contains("Resolution due"), "{clocks}");
    let marked = b
        .client
        .find(Locator::Css("#sla .badge.sla-breached"))
        .await
        .unwrap();
    assert!(marked.text().await.unwrap().starts_with("breached"));
    b.screenshot("ticket-sla-breached").await;
    b.close().await;
}

/// The reply form starts at the template the rules answer the ticket's
/// topic with, in the ticket's language; a topic without one offers none
/// (it used to start at `payment` whatever the ticket was about).
#[test]
fn issue_11_reply_form_defaults_to_the_topic_template_in_the_ticket_language() {
    let c = Console::start();
    let id = c.general.to_string();
    let session = login(&c, "ana", "ana-password-1").unwrap();
    let selected = |page: &str, select: &str| -> Vec<String> {
        let start = page.find(&format!("id=\"{select}\"")).unwrap();
        let end = start + page[start..].find("</select>").unwrap();
        page[start..end]
            .split("<option ")
            .filter(|o| o.contains(" selected"))
            .map(|o| hidden(&format!("name=\"x\" {o}"), "x"))
            .collect()
    };
    c.env
        .ok(&["tickets", "reclassify", &id, "--topic", "account"]);
    let (_, _, page) = get(&c, &format!("/tickets/{id}"), &session);
    assert_eq!(selected(&page, "template"), [""], "no template for account");
    c.env.ok(&[
        "tickets",
        "reclassify",
        &id,
        "--topic",
        "instructions",
        "--language",
        "de",
    ]);
    let (_, _, page) = get(&c, &format!("/tickets/{id}"), &session);
    assert_eq!(selected(&page, "template"), ["instructions"]);
    assert_eq!(selected(&page, "lang"), ["de"]);
    // Previewing with nothing chosen says so instead of picking one.
    let csrf = hidden(&page, "csrf");
    let (status, _, body) = http(
        c.port,
        "POST",
        &format!("/tickets/{id}/reply/preview"),
        &session,
        &format!("template=&lang=de&csrf={csrf}"),
    );
    assert_eq!(status, 400);
    assert!(body.contains("choose a template"), "{body}");
}

/// Issue 13 in the console: a privacy ticket links to the export and to
/// forgetting its participant, for users with the privacy queue only.
#[test]
fn issue_13_privacy_ticket_exports_and_forgets_for_the_privacy_queue_only() {
    let c = Console::start();
    let id = c.sensitive;
    assert_eq!(c.show(id)["topic"], "privacy");
    let sam = login(&c, "sam", "sam-password-1").unwrap();
    let ana = login(&c, "ana", "ana-password-1").unwrap();
    let export = format!("/tickets/{id}/privacy/export");
    let forget = format!("/tickets/{id}/privacy/forget");
    let (_, _, page) = get(&c, &format!("/tickets/{id}"), &sam);
    assert!(page.contains(&format!("href=\"{export}\"")), "{page}");
    assert!(page.contains(&format!("href=\"{forget}\"")), "{page}");
    let sam_csrf = hidden(&page, "csrf");

    // Without the privacy queue: not by URL, not by form.
    let (_, _, ana_page) = get(&c, &format!("/tickets/{}", c.general), &ana);
    let ana_csrf = hidden(&ana_page, "csrf");
    assert!(!ana_page.contains("privacy/export"));
    assert_eq!(get(&c, &export, &ana).0, 404);
    assert_eq!(get(&c, &forget, &ana).0, 404);
    let (status, _, _) = http(
        c.port,
        "POST",
        &forget,
        &ana,
        &format!("confirm=1&csrf={ana_csrf}"),
    );
    assert_eq!(status, 404);
    // Even where the ticket is visible to her (moved to her queue), the
    // privacy actions are not hers.
    let db = rusqlite::Connection::open(c.env.state().join("helpgate.db")).unwrap();
    db.execute("UPDATE tickets SET queue = 'general' WHERE id = ?1", [id])
        .unwrap();
    assert_eq!(get(&c, &format!("/tickets/{id}"), &ana).0, 200);
    assert_eq!(get(&c, &export, &ana).0, 403);
    assert_eq!(get(&c, &forget, &ana).0, 403);
    db.execute("UPDATE tickets SET queue = 'sensitive' WHERE id = ?1", [id])
        .unwrap();

    // The export: a download of what `helpgate export` writes.
    let (status, h, body) = get(&c, &export, &sam);
    assert_eq!(status, 200);
    let header = |n: &str| h.iter().find(|(k, _)| k == n).unwrap().1.clone();
    assert_eq!(header("content-type"), "application/json");
    assert!(header("content-disposition").starts_with("attachment;"));
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    let cli_dir = c.env.dir.path().join("cli-export");
    c.env
        .ok(&["export", "noor.h@example.org", "--out", path_str(&cli_dir)]);
    let cli: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cli_dir.join("export.json")).unwrap())
            .unwrap();
    assert_eq!(doc["addresses"], serde_json::json!(["noor.h@example.org"]));
    assert_eq!(doc["messages"], cli["messages"]);
    assert_eq!(doc["tickets"][0]["id"], id);

    // Forget: first the list of what would go; nothing has gone yet.
    let (status, _, preview) = get(&c, &forget, &sam);
    assert_eq!(status, 200);
    assert!(preview.contains("address noor.h@example.org"), "{preview}");
    assert!(preview.contains("1 messages"), "{preview}");
    assert!(c.show(id)["thread"][0]["new_text"]
        .as_str()
        .unwrap()
        .contains("xylophonic"));
    // Not without the ticked box, nor without the form's token.
    let (status, _, _) = http(c.port, "POST", &forget, &sam, &format!("csrf={sam_csrf}"));
    assert_eq!(status, 400);
    let (status, _, _) = http(c.port, "POST", &forget, &sam, "confirm=1");
    assert_eq!(status, 403);
    assert_eq!(c.show(id)["subject"], "Delete my personal data");
    let (status, h, _) = http(
        c.port,
        "POST",
        &forget,
        &sam,
        &format!("confirm=1&csrf={sam_csrf}"),
    );
    assert_eq!(status, 303, "{h:?}");
    let after = c.show(id);
    assert_eq!(after["subject"], "(erased)");
    assert!(!after["thread"][0]["new_text"]
        .as_str()
        .unwrap_or("")
        .contains("xylophonic"));
    let events = after["events"].as_array().unwrap();
    for kind in ["privacy_export", "privacy_forget"] {
        assert!(
            events
                .iter()
                .any(|e| e["kind"] == kind && e["actor"] == "sam"),
            "{kind}: {events:?}"
        );
    }
    let gone = json_lines(
        &c.env
            .ok(&["forget", "noor.h@example.org", "--dry-run", "--json"]),
    );
    assert_eq!(gone[0]["found"], false);
    // Nothing left to act on: the links are gone and the URLs answer 404.
    assert_eq!(get(&c, &export, &sam).0, 404);
}

/// Single sign-on: the proxy's user header counts only from the configured
/// proxy address, names an existing enabled user, and never creates one.
#[test]
fn issue_11_proxy_user_header_is_honoured_only_from_the_trusted_proxy() {
    let c = Console::start_with(Some(
        "[web]\ntrusted_user_header = \"X-Remote-User\"\ntrusted_proxies = [\"127.0.0.2\"]\n",
    ));
    let as_user = |user: &str| format!("X-Remote-User: {user}\r\n");
    // From any other peer the header is ignored: the login page as usual.
    let (status, h, _) = get_from("127.0.0.1", c.port, "/", &as_user("ana"));
    assert_eq!(status, 303);
    assert!(h
        .iter()
        .any(|(k, v)| k == "location" && v.starts_with("/login")));
    let (status, _, _) = get_from("127.0.0.3", c.port, "/", &as_user("sam"));
    assert_eq!(status, 303);
    // From the proxy: logged in as the named user, with their queues.
    let (status, _, page) = get_from("127.0.0.2", c.port, "/", &as_user("ana"));
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("ana (specialist)"), "{page}");
    assert!(!page.contains("data-queue=\"sensitive\""), "{page}");
    let (_, _, page) = get_from("127.0.0.2", c.port, "/", &as_user("sam"));
    assert!(page.contains("data-queue=\"sensitive\""), "{page}");
    // A form works: its CSRF token is the proxied user's.
    let (_, _, page) = get_from(
        "127.0.0.2",
        c.port,
        &format!("/tickets/{}", c.general),
        &as_user("ana"),
    );
    assert!(page.contains("name=\"csrf\""));
    // Unknown and disabled users are refused, and nobody is created.
    let (status, _, _) = get_from("127.0.0.2", c.port, "/", &as_user("mallory"));
    assert_eq!(status, 403);
    c.env.ok(&["users", "disable", "bo"]);
    let (status, _, _) = get_from("127.0.0.2", c.port, "/", &as_user("bo"));
    assert_eq!(status, 403);
    let users = c.env.ok(&["users", "list"]);
    assert!(!users.contains("mallory"), "{users}");
    // A header sent twice (a proxy that appends instead of replacing) is
    // nobody's.
    let (status, _, _) = get_from(
        "127.0.0.2",
        c.port,
        "/",
        &format!("{}{}", as_user("sam"), as_user("ana")),
    );
    assert_eq!(status, 403);
    // Without the header the proxy's requests log in as anyone else does.
    let (status, _, _) = get_from("127.0.0.2", c.port, "/", "");
    assert_eq!(status, 303);
}

/// `[notices]`: a new ticket routed to a queue with notices configured
/// writes one outbox row per address, in the ticket's transaction; the
/// notice names ticket, queue, topic, language and the console link, never
/// what the participant wrote or who they are. A follow-up and a ticket of
/// another queue write none.
#[test]
fn issue_11_new_ticket_in_a_noticed_queue_mails_its_team_without_the_participants_words() {
    let env = Env::new();
    let config = env.dir.path().join("helpgate.toml");
    std::fs::write(
        &config,
        "[notices]\nfrom = \"helpgate@desk.example\"\nconsole_url = \"https://desk.example/\"\n\
         [notices.queues]\nsensitive = [\"privacy-team@desk.example\", \"lead@desk.example\"]\n",
    )
    .unwrap();
    let ingest = |name: &str, text: &str| {
        let path = env.mail(name, text);
        let out = env
            .cmd(&["ingest", path_str(&path)])
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    ingest("general.eml", GENERAL);
    ingest("sensitive.eml", SENSITIVE);
    let id = ticket_by_subject(&env, "Delete my personal data");
    ingest(
        "follow-up.eml",
        &format!(
            "From: Noor Haddad <noor.h@example.org>\nTo: support@helpgate.example\n\
             Subject: Re: Delete my personal data [#{id}]\nMessage-ID: <privacy-2@example.org>\n\
             In-Reply-To: <privacy-1@example.org>\n\nAny news? xylophonic again.\n"
        ),
    );
    let db = rusqlite::Connection::open(env.state().join("helpgate.db")).unwrap();
    let mut st = db
        .prepare("SELECT recipient, ticket_id, raw FROM outbox WHERE kind = 'queue_notice' ORDER BY recipient")
        .unwrap();
    let rows: Vec<(String, Option<i64>, Vec<u8>)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let to: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(to, ["lead@desk.example", "privacy-team@desk.example"]);
    for (_, ticket, raw) in &rows {
        // Not one of the ticket's replies: the console and exports list
        // those as mail to the participant.
        assert_eq!(*ticket, None);
        let raw = String::from_utf8_lossy(raw);
        for fact in [
            format!("[#{id}]"),
            "sensitive".to_string(),
            "privacy".to_string(),
            format!("https://desk.example/tickets/{id}"),
            "From: helpgate@desk.example".to_string(),
        ] {
            assert!(raw.contains(&fact), "{fact} missing: {raw}");
        }
        for secret in [
            "noor.h@example.org",
            "Noor",
            "Delete my personal data",
            "GDPR",
            "xylophonic",
        ] {
            assert!(!raw.contains(secret), "{secret} leaked: {raw}");
        }
    }
}
