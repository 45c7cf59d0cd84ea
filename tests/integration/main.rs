fn main() {}
mod daemon;
mod harness; // real Dovecot + Postfix on loopback (TestEnv / MailStack)
mod mailstack; // the harness works: delivery, restart, UIDVALIDITY reset // helpgate run against real servers: IDLE/polling, restarts, TLS, crash test
