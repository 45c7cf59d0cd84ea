//! Mail from helpgate to the desk's own people (SLA escalations, alerts,
//! the weekly report), queued in the outbox like any reply so it is
//! retried, parked and shown the same way. Never to a participant: the
//! addresses come from the config only.

use crate::store::{outbox, StoreError};
use chrono::{DateTime, Utc};
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("invalid address {address:?} in the config")]
    Address {
        address: String,
        #[source]
        source: lettre::address::AddressError,
    },
    #[error("cannot build the notice")]
    Build(#[from] lettre::error::Error),
    #[error("cannot queue the notice")]
    Store(#[from] StoreError),
}

/// A notice to queue: plain text, and optionally an HTML version.
#[derive(Debug, Clone)]
pub struct Notice<'a> {
    pub from: &'a str,
    pub to: &'a [String],
    pub subject: &'a str,
    pub text: &'a str,
    pub html: Option<&'a str>,
    /// The outbox kind, e.g. `alert`; lets `outbox list` tell them apart.
    pub kind: &'static str,
    pub at: DateTime<Utc>,
}

fn mailbox(address: &str) -> Result<Mailbox, NotifyError> {
    address
        .parse::<lettre::Address>()
        .map(|a| Mailbox::new(None, a))
        .map_err(|source| NotifyError::Address {
            address: address.to_string(),
            source,
        })
}

/// Queue one outbox row per recipient; returns the row ids.
pub fn queue(conn: &Connection, n: &Notice<'_>) -> Result<Vec<i64>, NotifyError> {
    let from = mailbox(n.from)?;
    let domain = n.from.rsplit('@').next().unwrap_or("helpgate.invalid");
    let mut ids = Vec::new();
    for to in n.to {
        let digest = Sha256::digest(format!("{to}\n{}\n{}\n{}", n.subject, n.at, n.text));
        let message_id = format!("{}.{}@{domain}", n.kind, &hex::encode(digest)[..24]);
        let builder = Message::builder()
            .from(from.clone())
            .to(mailbox(to)?)
            .subject(n.subject)
            .date(n.at.into())
            .message_id(Some(format!("<{message_id}>")));
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(n.text.to_string());
        let message = match n.html {
            None => builder.singlepart(text)?,
            Some(html) => builder.multipart(
                MultiPart::alternative().singlepart(text).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html.to_string()),
                ),
            )?,
        };
        ids.push(outbox::insert(
            conn,
            &outbox::NewOutgoing {
                ticket: None,
                cause: None,
                message_id,
                kind: n.kind,
                template: None,
                sender: n.from.to_string(),
                recipient: to.clone(),
                raw: message.formatted(),
                at: n.at,
            },
        )?);
    }
    Ok(ids)
}
