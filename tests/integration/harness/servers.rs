//! Config files for a throwaway Dovecot (IMAP + LMTP) and Postfix (SMTP ->
//! LMTP into that Dovecot), following ../shared/test-servers.md. Everything
//! lives in the stack's temp dir; /etc/dovecot and /etc/postfix are never read.

use std::fmt::Write as _;
use std::os::unix::fs::{chown, PermissionsExt};
use std::path::Path;
use std::process::Command;

/// uid and gid of a system user, from /etc/passwd.
pub(crate) fn system_user(name: &str) -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name)).then(|| (f[2].parse().unwrap(), f[3].parse().unwrap()))
        })
        .unwrap_or_else(|| panic!("system user {name} missing: run .ci/install-test-deps"))
}

/// gid of a system group, from /etc/group.
fn system_group(name: &str) -> u32 {
    let group = std::fs::read_to_string("/etc/group").expect("read /etc/group");
    group
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name)).then(|| f[2].parse().unwrap())
        })
        .unwrap_or_else(|| panic!("system group {name} missing: run .ci/install-test-deps"))
}

pub(crate) fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the effective uid of this process.
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// A self-signed leaf certificate for localhost / 127.0.0.1 that rustls
/// accepts as a server cert (CA:FALSE) when given as the only root.
pub(crate) fn make_cert(tls: &Path) {
    std::fs::create_dir_all(tls).unwrap();
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "3650",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "keyUsage=critical,digitalSignature",
            "-addext",
            "extendedKeyUsage=serverAuth",
            "-keyout",
        ])
        .arg(tls.join("key.pem"))
        .arg("-out")
        .arg(tls.join("cert.pem"))
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl req failed");
}

pub(crate) struct DovecotPorts {
    pub(crate) imap: u16,
    pub(crate) imaps: u16,
    pub(crate) lmtp: u16,
}

/// How the test Dovecot stores mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Storage {
    /// One file per message: what the tests use (and what a migration
    /// test edits by hand).
    Maildir,
    /// Dovecot's multi-message files, its recommended format for large
    /// installations: the server serves a backlog several times faster.
    Mdbox,
}

impl Storage {
    fn location(self) -> &'static str {
        match self {
            Storage::Maildir => "maildir:~/Maildir",
            Storage::Mdbox => "mdbox:~/mdbox",
        }
    }
}

/// Write `dir/dovecot.conf`, the users file and the mail dir.
pub(crate) fn write_dovecot(
    dir: &Path,
    ports: &DovecotPorts,
    users: &[String],
    password: &str,
    storage: Storage,
) {
    for sub in ["run", "state", "mail"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    // imap-login refuses to run as root and Dovecot refuses mail uid 0.
    let (login_user, mail_uid, mail_gid) = if is_root() {
        let (u, g) = system_user("dovecot");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
        ("dovenull".to_string(), u, g)
    } else {
        let out = Command::new("id").arg("-un").output().unwrap();
        let me = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let uid = Command::new("id").arg("-u").output().unwrap();
        let gid = Command::new("id").arg("-g").output().unwrap();
        (
            me,
            String::from_utf8_lossy(&uid.stdout).trim().parse().unwrap(),
            String::from_utf8_lossy(&gid.stdout).trim().parse().unwrap(),
        )
    };
    chown(dir.join("mail"), Some(mail_uid), Some(mail_gid)).unwrap();
    let mut passwd = String::new();
    for u in users {
        writeln!(passwd, "{u}:{{PLAIN}}{password}").unwrap();
    }
    std::fs::write(dir.join("users"), passwd).unwrap();
    let me = if is_root() { "root" } else { &login_user };
    let d = dir.display();
    let conf = format!(
        r#"# self-contained test instance; nothing from /etc/dovecot is read
instance_name = dovecot-test-{imap}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
default_internal_user = {me}
default_internal_group = {me}
default_login_user = {login_user}
first_valid_uid = 0
first_valid_gid = 0
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={d}/mail/%d/%n
}}
mail_location = {mail_location}
mail_fsync = never
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \Sent
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \Trash
    auto = subscribe
  }}
}}
protocol imap {{
  mail_max_userip_connections = 200
}}
ssl = yes
ssl_cert = <{d}/tls/cert.pem
ssl_key = <{d}/tls/key.pem
ssl_min_protocol = TLSv1.2
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
protocol lmtp {{
  postmaster_address = postmaster@example.test
  auth_username_format = %Lu
}}
"#,
        imap = ports.imap,
        imaps = ports.imaps,
        lmtp = ports.lmtp,
        mail_location = storage.location(),
    );
    std::fs::write(dir.join("dovecot.conf"), conf).unwrap();
}

/// Write Postfix's main.cf/master.cf and queue dirs under `dir` (root only).
pub(crate) fn write_postfix(dir: &Path, smtp: u16, lmtp: u16) {
    let etc = dir.join("etc");
    let spool = dir.join("spool");
    let data = dir.join("data");
    for p in [&etc, &spool, &data] {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    let (pf_uid, pf_gid) = system_user("postfix");
    let postdrop = system_group("postdrop");
    chown(&spool, Some(0), Some(0)).unwrap();
    chown(&data, Some(pf_uid), Some(pf_gid)).unwrap();
    let d = dir.display();
    let main = format!(
        r#"compatibility_level = 3.6
config_directory  = {d}/etc
queue_directory   = {d}/spool
data_directory    = {d}/data
mail_owner        = postfix
setgid_group      = postdrop
myhostname        = mail.example.test
mydomain          = example.test
myorigin          = example.test
inet_interfaces   = 127.0.0.1
inet_protocols    = ipv4
mynetworks        = 127.0.0.0/8
maillog_file      = {d}/postfix.log
maillog_file_prefixes = {d}
mydestination     =
local_transport   = error:no local delivery
alias_maps        =
alias_database    =
relay_domains     =
default_transport = lmtp:inet:127.0.0.1:{lmtp}
relay_transport   = lmtp:inet:127.0.0.1:{lmtp}
lmtp_host_lookup  = native
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_tls_security_level = none
smtp_tls_security_level  = none
lmtp_tls_security_level  = none
disable_dns_lookups = yes
smtp_dns_support_level = disabled
biff = no
in_flow_delay = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 5s
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
smtpd_banner = $myhostname ESMTP test
message_size_limit = 52428800
service_throttle_time = 1s
"#
    );
    let master = format!(
        "127.0.0.1:{smtp} inet n - n - - smtpd\n{}",
        r#"pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"#
    );
    std::fs::write(etc.join("main.cf"), main).unwrap();
    std::fs::write(etc.join("master.cf"), master).unwrap();
    age_postfix_config(&etc);
    let mk = |name: &str, uid: u32, gid: u32, mode: u32| {
        let p = spool.join(name);
        std::fs::create_dir_all(&p).unwrap();
        chown(&p, Some(uid), Some(gid)).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    for q in [
        "active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private",
        "saved", "trace",
    ] {
        mk(q, pf_uid, 0, 0o700);
    }
    mk("maildrop", pf_uid, postdrop, 0o730);
    mk("public", pf_uid, postdrop, 0o710);
    mk("pid", 0, 0, 0o755);
}

/// Date main.cf and master.cf a minute back: Postfix re-reads config files
/// until their mtime is > 1 s old. Call after every edit of them.
pub(crate) fn age_postfix_config(etc: &Path) {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    for f in ["main.cf", "master.cf"] {
        std::fs::File::options()
            .write(true)
            .open(etc.join(f))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
}
