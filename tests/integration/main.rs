fn main() {}
mod harness; // real Dovecot + Postfix on loopback (TestEnv / MailStack)
mod mailstack; // the harness works: delivery, restart, UIDVALIDITY reset
