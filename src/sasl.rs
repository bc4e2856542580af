//! SASL at runtime: an application's OAUTHBEARER token provider, and new
//! credentials for SCRAM or PLAIN.
//!
//! librdkafka asks for an OAUTHBEARER token when the client starts and
//! again at 80% of the current token's lifetime. It asks through an event
//! on the client's main queue, which kafkit's dispatcher thread serves; the
//! dispatcher hands the request to the client's token thread, which runs
//! the provider's future to completion (with `futures::executor::block_on`,
//! so any async code that does not need a particular runtime works) and
//! gives librdkafka the token or the failure. The dispatcher never waits
//! for a provider, and a slow provider delays only the next token.

use std::future::Future;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use futures::FutureExt;

use crate::native::{NativeClient, TokenParts, TokenSink};
use crate::{AdminClient, Consumer, Error, Producer};

/// An OAUTHBEARER token for librdkafka: what a token provider returns.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// let token = kafkit::OAuthToken::new("eyJhbGciOi...", SystemTime::now() + Duration::from_secs(3600), "alice")
///     .extension("traceId", "123");
/// ```
#[derive(Clone)]
pub struct OAuthToken {
    /// The token (a JWT, for most identity providers).
    pub value: String,
    /// When it expires; librdkafka asks for the next one at 80% of the
    /// time left.
    pub expires_at: SystemTime,
    /// The principal the token names.
    pub principal: String,
    /// SASL extensions sent with the token (RFC 7628), name and value.
    pub extensions: Vec<(String, String)>,
}

impl OAuthToken {
    /// A token without extensions.
    pub fn new(
        value: impl Into<String>,
        expires_at: SystemTime,
        principal: impl Into<String>,
    ) -> Self {
        OAuthToken {
            value: value.into(),
            expires_at,
            principal: principal.into(),
            extensions: Vec::new(),
        }
    }

    /// Adds a SASL extension.
    pub fn extension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extensions.push((name.into(), value.into()));
        self
    }
}

impl std::fmt::Debug for OAuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthToken")
            .field("value", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("principal", &self.principal)
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// A token provider as the configuration keeps it.
pub(crate) type TokenProvider =
    Arc<dyn Fn() -> BoxFuture<'static, Result<OAuthToken, String>> + Send + Sync>;

/// Wraps an application's provider.
pub(crate) fn provider<F, Fut, E>(f: F) -> TokenProvider
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<OAuthToken, E>> + Send + 'static,
    E: std::fmt::Display,
{
    Arc::new(move || f().map(|r| r.map_err(|e| e.to_string())).boxed())
}

/// A client's token thread: it runs the provider once per refresh request.
/// The thread ends when this value is dropped (with its client); a
/// provider still running then finishes first, and its token goes nowhere.
pub(crate) struct TokenRefresher {
    requests: Mutex<mpsc::Sender<()>>,
}

impl TokenRefresher {
    /// Starts the token thread of `client`.
    pub(crate) fn start(client: &NativeClient, provider: TokenProvider) -> Result<Self, Error> {
        let (requests, asked) = mpsc::channel::<()>();
        let sink = client.token_sink();
        let name = client.name();
        std::thread::Builder::new()
            .name("kafkit-oauth".into())
            .spawn(move || {
                while asked.recv().is_ok() {
                    refresh(&name, &sink, &provider);
                }
            })
            .map_err(|e| Error::Io {
                path: "(thread kafkit-oauth)".into(),
                source: e,
            })?;
        Ok(TokenRefresher {
            requests: Mutex::new(requests),
        })
    }

    /// Asks for a token (from the dispatcher, on librdkafka's request).
    pub(crate) fn request(&self) {
        if let Ok(tx) = self.requests.lock() {
            // The thread only ends after this value is gone.
            let _ = tx.send(());
        }
    }
}

/// Runs the provider once and hands its answer to librdkafka.
fn refresh(client: &str, sink: &TokenSink, provider: &TokenProvider) {
    let provider = provider.clone();
    // A panicking provider is a failure, not the end of the thread.
    let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        futures::executor::block_on(provider())
    }))
    .unwrap_or_else(|_| Err("the OAUTHBEARER token provider panicked".into()));
    match answer {
        Ok(token) => {
            let lifetime_ms = token
                .expires_at
                .duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .unwrap_or(0);
            let parts = TokenParts {
                value: &token.value,
                lifetime_ms,
                principal: &token.principal,
                extensions: &token.extensions,
            };
            if let Err(e) = sink.set_token(&parts) {
                tracing::warn!(
                    client,
                    "librdkafka refused the OAUTHBEARER token: {}",
                    e.message
                );
                sink.set_failure(&format!("token refused: {}", e.message));
            }
        }
        Err(message) => {
            tracing::warn!(client, "the OAUTHBEARER token provider failed: {message}");
            sink.set_failure(&message);
        }
    }
}

impl Producer {
    /// Sets the SASL username and password (SCRAM or PLAIN) used from the
    /// next authentication on: connections already up stay as they are,
    /// and a connection that failed to authenticate uses them when
    /// librdkafka reconnects.
    pub fn set_sasl_credentials(&self, username: &str, password: &str) -> Result<(), Error> {
        set_credentials(self.native_client(), username, password)
    }
}

impl Consumer {
    /// Sets the SASL username and password (SCRAM or PLAIN) used from the
    /// next authentication on: connections already up stay as they are,
    /// and a connection that failed to authenticate uses them when
    /// librdkafka reconnects.
    pub fn set_sasl_credentials(&self, username: &str, password: &str) -> Result<(), Error> {
        set_credentials(self.native_client(), username, password)
    }
}

impl AdminClient {
    /// Sets the SASL username and password (SCRAM or PLAIN) used from the
    /// next authentication on: connections already up stay as they are,
    /// and a connection that failed to authenticate uses them when
    /// librdkafka reconnects.
    pub fn set_sasl_credentials(&self, username: &str, password: &str) -> Result<(), Error> {
        set_credentials(self.native_client(), username, password)
    }
}

/// Sets new SASL credentials, for every client type's method.
fn set_credentials(client: &NativeClient, username: &str, password: &str) -> Result<(), Error> {
    client
        .sasl_set_credentials(username, password)
        .map_err(|e| Error::kafka("set SASL credentials", e))
}
