//! SASL/OAUTHBEARER token providers.
//!
//! librdkafka asks for a token when a client starts and again at 80% of the
//! current token's lifetime, with an `RD_KAFKA_EVENT_OAUTHBEARER_TOKEN_REFRESH`
//! event on the client's main queue. Every kafkit client serves its main
//! queue on a background thread (a consumer does so before its first poll,
//! which matters: connecting needs the token), and hands the request to the
//! client's token thread, which calls the provider.
//!
//! The provider returns a future, which may do I/O. kafkit depends on no
//! async runtime, so the token thread drives each future with
//! `futures::executor::block_on`, one at a time: a slow provider delays only
//! later refreshes, never the dispatcher thread that serves logs, errors,
//! delivery reports and commits. A provider that needs a runtime (a tokio
//! HTTP client) should spawn its work there and return a future that waits
//! for the result, such as a oneshot receiver.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::FutureExt;

use crate::native::{NativeClient, WeakClient};

/// A SASL/OAUTHBEARER token, as a token provider returns it.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// let token = kafkit::OAuthToken::new("eyJhbGciOi...", "alice", SystemTime::now() + Duration::from_secs(3600))
///     .extension("traceId", "123");
/// ```
#[derive(Debug, Clone)]
pub struct OAuthToken {
    /// The token value (a JWT, for most brokers).
    pub value: String,
    /// The principal the token is for.
    pub principal: String,
    /// When the token expires; librdkafka asks for a new one at 80% of the
    /// time left.
    pub expires_at: SystemTime,
    /// SASL extensions sent with the token (KIP-342).
    pub extensions: Vec<(String, String)>,
}

impl OAuthToken {
    /// A token for `principal`, valid until `expires_at`.
    pub fn new(value: &str, principal: &str, expires_at: SystemTime) -> Self {
        OAuthToken {
            value: value.to_string(),
            principal: principal.to_string(),
            expires_at,
            extensions: Vec::new(),
        }
    }

    /// Adds a SASL extension.
    pub fn extension(mut self, key: &str, value: &str) -> Self {
        self.extensions.push((key.to_string(), value.to_string()));
        self
    }
}

/// What a provider's future gives: the token, or why there is none.
pub(crate) type TokenFuture = Pin<Box<dyn Future<Output = Result<OAuthToken, String>> + Send>>;

/// A token provider as a client configuration holds it.
pub(crate) type TokenProvider = Arc<dyn Fn() -> TokenFuture + Send + Sync>;

/// Wraps a user's provider.
pub(crate) fn provider<F, Fut, E>(f: F) -> TokenProvider
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<OAuthToken, E>> + Send + 'static,
    E: std::fmt::Display,
{
    Arc::new(move || {
        let fut = f();
        Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
    })
}

/// A client's token thread: refresh requests go to it; it exits when this
/// is dropped (with the client) or the client is gone.
pub(crate) struct TokenRefresher {
    requests: Mutex<mpsc::Sender<()>>,
    /// A request is queued and not yet taken: one is enough.
    queued: Arc<AtomicBool>,
}

impl TokenRefresher {
    /// Starts the token thread of `client`.
    pub(crate) fn start(
        provider: TokenProvider,
        client: &NativeClient,
        name: &str,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<()>();
        let queued = Arc::new(AtomicBool::new(false));
        let weak = client.downgrade();
        let flag = queued.clone();
        std::thread::Builder::new()
            .name(format!("kafkit-{name}-oauth"))
            .spawn(move || {
                while rx.recv().is_ok() {
                    flag.store(false, Ordering::SeqCst);
                    let outcome = fetch(&provider);
                    if !hand_over(&weak, outcome) {
                        break;
                    }
                }
            })?;
        Ok(TokenRefresher {
            requests: Mutex::new(tx),
            queued,
        })
    }

    /// Asks the token thread for a new token (once, however many refresh
    /// events come while it is queued).
    pub(crate) fn request(&self) {
        if !self.queued.swap(true, Ordering::SeqCst) {
            let tx = self.requests.lock().unwrap_or_else(|p| p.into_inner());
            let _ = tx.send(());
        }
    }
}

/// Calls the provider and waits for its future; a panic becomes a failure.
fn fetch(provider: &TokenProvider) -> Result<OAuthToken, String> {
    let fut = match catch_unwind(AssertUnwindSafe(|| provider())) {
        Ok(fut) => fut,
        Err(_) => return Err("the OAUTHBEARER token provider panicked".into()),
    };
    match futures::executor::block_on(AssertUnwindSafe(fut).catch_unwind()) {
        Ok(result) => result,
        Err(_) => Err("the OAUTHBEARER token provider's future panicked".into()),
    }
}

/// Gives the outcome to librdkafka; false when the client is gone.
fn hand_over(client: &WeakClient, outcome: Result<OAuthToken, String>) -> bool {
    let Some(client) = client.upgrade() else {
        return false;
    };
    let result = match outcome {
        Ok(token) => {
            let lifetime_ms = token
                .expires_at
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            client
                .oauthbearer_set_token(
                    &token.value,
                    lifetime_ms,
                    &token.principal,
                    &token.extensions,
                )
                .or_else(|e| {
                    // librdkafka refused the token (expired, bad
                    // extension): that is the failure to report.
                    let reason = format!("the token provider's token was refused: {}", e.message);
                    client.oauthbearer_set_token_failure(&reason)
                })
        }
        Err(reason) => client.oauthbearer_set_token_failure(&reason),
    };
    if let Err(e) = result {
        tracing::warn!(
            "cannot hand the OAUTHBEARER token to librdkafka: {}",
            e.message
        );
    }
    true
}
