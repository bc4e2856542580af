//! The core shared by every client: the librdkafka handle, its main queue,
//! and the error, log and statistics handling every client's main queue
//! needs (served by a consumer's dispatcher, or by whichever thread serves a
//! producer's queue).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::ClientConfig;
use crate::native::{
    event_type, ClientKind, NativeClient, NativeEvent, NativeQueue, RawError, RebalanceHook,
};
use crate::statistics::Statistics;
use crate::{Error, ErrorCode};

/// Callback for errors reported by the client in the background (broker
/// connections lost, authentication failures, fatal errors).
pub(crate) type ErrorHandler = Arc<dyn Fn(&Error) + Send + Sync>;
/// Callback for each statistics report.
pub(crate) type StatsHandler = Arc<dyn Fn(&Statistics) + Send + Sync>;

/// User callbacks for error and statistics events, run by whichever thread
/// serves the main queue.
#[derive(Clone, Default)]
pub(crate) struct Handlers {
    pub on_error: Option<ErrorHandler>,
    pub on_statistics: Option<StatsHandler>,
}

/// The librdkafka client and what every client type needs around it.
pub(crate) struct ClientCore {
    /// The main queue (it keeps the client alive, so the two may drop in
    /// any order).
    pub(crate) main_queue: NativeQueue,
    pub(crate) native: NativeClient,
    handlers: Handlers,
    latest_stats: Mutex<Option<Arc<Statistics>>>,
    /// The last error event about reaching a broker, for `wait_connected`.
    connection_error: Mutex<Option<RawError>>,
    /// `bootstrap.servers` as configured, to name it in errors.
    bootstrap: Option<String>,
    pub(crate) name: String,
    /// The OAUTHBEARER token thread, when a token provider is set.
    oauth: Option<crate::oauth::TokenRefresher>,
}

/// Events the dispatcher asks librdkafka to deliver on the main queue.
const BASE_EVENTS: i32 = event_type::LOG | event_type::ERROR | event_type::STATS;

impl ClientCore {
    /// Creates the librdkafka client with logs, errors, statistics (and
    /// `extra_events`) routed to the main queue.
    pub(crate) fn new(
        kind: ClientKind,
        config: &ClientConfig,
        extra_events: i32,
        handlers: Handlers,
    ) -> Result<Self, Error> {
        Self::with_rebalance(kind, config, extra_events, handlers, None)
    }

    /// As [`ClientCore::new`], with a hook for group rebalances.
    pub(crate) fn with_rebalance(
        kind: ClientKind,
        config: &ClientConfig,
        extra_events: i32,
        handlers: Handlers,
        rebalance: Option<RebalanceHook>,
    ) -> Result<Self, Error> {
        let mut conf = config.native().dup();
        if kind == ClientKind::Producer {
            for (key, value) in config.producer_defaults() {
                conf.set(key, value).map_err(|reason| Error::Config {
                    key: key.into(),
                    reason,
                })?;
            }
        }
        conf.set("log.queue", "true")
            .map_err(|reason| Error::Config {
                key: "log.queue".into(),
                reason,
            })?;
        let oauth_events = if config.token_provider().is_some() {
            // librdkafka's own token makers would take the refreshes (oidc)
            // or set the first token themselves (unsecure jwt): the
            // provider would be silently bypassed.
            for (key, own) in [
                ("sasl.oauthbearer.method", "oidc"),
                ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
            ] {
                if config.get(key).is_some_and(|v| v.eq_ignore_ascii_case(own)) {
                    return Err(Error::Config {
                        key: key.into(),
                        reason: format!(
                            "{key}={own} makes librdkafka produce its own tokens; it cannot be \
                             combined with an OAUTHBEARER token provider"
                        ),
                    });
                }
            }
            event_type::OAUTHBEARER_TOKEN_REFRESH
        } else {
            0
        };
        conf.set_events(BASE_EVENTS | extra_events | oauth_events);
        let native = NativeClient::with_rebalance(kind, conf, rebalance).map_err(|reason| {
            Error::Config {
                key: "(client creation)".into(),
                reason,
            }
        })?;
        native
            .forward_logs_to_main_queue()
            .map_err(|e| Error::kafka("forward logs", e))?;
        let main_queue = native.main_queue();
        let name = native.name();
        let oauth = match config.token_provider() {
            Some(provider) => Some(
                crate::oauth::TokenRefresher::start(provider.clone(), &native, &name).map_err(
                    |e| Error::Io {
                        path: "(OAUTHBEARER token thread)".into(),
                        source: e,
                    },
                )?,
            ),
            None => None,
        };
        let bootstrap = config
            .get("bootstrap.servers")
            .or_else(|| config.get("metadata.broker.list"))
            .map(str::to_owned);
        Ok(ClientCore {
            main_queue,
            native,
            handlers,
            latest_stats: Mutex::new(None),
            connection_error: Mutex::new(None),
            bootstrap,
            name,
            oauth,
        })
    }

    /// The most recent statistics report, if statistics are enabled.
    pub(crate) fn statistics(&self) -> Option<Arc<Statistics>> {
        self.latest_stats.lock().ok().and_then(|g| g.clone())
    }

    /// Waits until the client has reached a broker, for at most `timeout`,
    /// blocking the calling thread. On timeout the error carries the last
    /// connection error reported by librdkafka (the broker address and the
    /// reason), or says that none was reported.
    pub(crate) fn wait_connected(&self, timeout: Duration) -> Result<(), Error> {
        let started = Instant::now();
        // Metadata from an earlier connection says nothing about now: ask.
        if self.native.controller_id(Duration::ZERO).is_some() {
            return self.ask_broker(timeout, timeout);
        }
        // Wait for the metadata librdkafka requests when its first connection
        // comes up; arriving during this call, it proves a broker answered.
        // Waiting inside rd_kafka_metadata instead makes librdkafka schedule
        // a connection attempt every `reconnect.backoff.ms` / 2 while no
        // broker is up, each one reported as an "all brokers are down" error
        // event (about 20 a second with the defaults).
        if let Some(controller) = self.native.controller_id(timeout) {
            tracing::debug!(client = %self.name, controller, "connected");
            return Ok(());
        }
        let elapsed = started.elapsed();
        if elapsed < timeout {
            // No controller id before the deadline: the metadata came without
            // one (an old broker, or `api.version.request=false`), maybe
            // before this call. Ask a broker with the time left.
            return self.ask_broker(timeout - elapsed, timeout);
        }
        Err(self.not_connected(timeout, RawError::from_code(ErrorCode::TimedOut.raw())))
    }

    /// Sends one metadata request and waits up to `limit` for the answer;
    /// `timeout` is the caller's, for the error message.
    fn ask_broker(&self, limit: Duration, timeout: Duration) -> Result<(), Error> {
        match self.native.request_metadata(limit) {
            Ok(answer) => {
                tracing::debug!(
                    client = %self.name,
                    broker = %answer.broker_name,
                    broker_id = answer.broker_id,
                    brokers = answer.brokers,
                    "connected"
                );
                Ok(())
            }
            Err(raw) => Err(self.not_connected(timeout, raw)),
        }
    }

    /// The error for a failed `wait_connected`.
    fn not_connected(&self, timeout: Duration, failure: RawError) -> Error {
        let code = ErrorCode::from_raw(failure.code);
        if !matches!(code, ErrorCode::Transport | ErrorCode::TimedOut) {
            // A broker was reached but the request failed, or the client is
            // being destroyed: that is the error to report.
            return Error::kafka(
                "connect",
                RawError {
                    message: format!("metadata request failed: {}", failure.message),
                    ..failure
                },
            );
        }
        let last = self
            .connection_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let servers = match &self.bootstrap {
            Some(servers) => format!("bootstrap.servers is {servers:?}"),
            None => "bootstrap.servers is not set".to_owned(),
        };
        let raw = match last {
            // This one names no broker: say which were tried.
            Some(last) if ErrorCode::from_raw(last.code) == ErrorCode::AllBrokersDown => RawError {
                message: format!(
                    "no broker answered within {timeout:?} ({servers}): {}",
                    last.message
                ),
                fatal: false,
                ..last
            },
            Some(last) => RawError {
                message: format!("no broker answered within {timeout:?}: {}", last.message),
                fatal: false,
                ..last
            },
            None if self.bootstrap.is_none() => RawError {
                message: format!("no broker answered within {timeout:?}: {servers}"),
                ..RawError::from_code(failure.code)
            },
            None => RawError {
                message: format!(
                    "no broker answered within {timeout:?} ({servers}) and no connection \
                     error was reported yet: a first connection attempt may still be in \
                     progress"
                ),
                ..RawError::from_code(failure.code)
            },
        };
        Error::kafka("connect", raw)
    }

    /// Remembers an error event about reaching a broker. "All brokers are
    /// down" says less than the error that named a broker and its address,
    /// so it does not replace one.
    fn note_connection_error(&self, raw: &RawError) {
        let mut slot = self
            .connection_error
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match ErrorCode::from_raw(raw.code) {
            ErrorCode::Transport
            | ErrorCode::Resolve
            | ErrorCode::Ssl
            | ErrorCode::Authentication => *slot = Some(raw.clone()),
            ErrorCode::AllBrokersDown if slot.is_none() => *slot = Some(raw.clone()),
            _ => {}
        }
    }

    /// Serves a log, error or statistics event.
    pub(crate) fn handle_event(&self, event: &NativeEvent) {
        match event.kind() {
            event_type::LOG => {
                if let Some((level, fac, msg)) = event.log() {
                    log_librdkafka(&self.name, level, &fac, &msg);
                }
            }
            event_type::ERROR => {
                let (code, message, fatal) = event.error();
                let raw = RawError {
                    code,
                    message,
                    fatal,
                    retriable: false,
                    txn_requires_abort: false,
                };
                self.note_connection_error(&raw);
                let error = Error::kafka("client", raw);
                match &self.handlers.on_error {
                    Some(handler) => guarded("error callback", || handler(&error)),
                    None if fatal => tracing::error!(client = %self.name, "{error}"),
                    None => tracing::warn!(client = %self.name, "{error}"),
                }
            }
            event_type::STATS => {
                let json = event.stats();
                match Statistics::from_json(&json) {
                    Ok(stats) => {
                        let stats = Arc::new(stats);
                        if let Ok(mut slot) = self.latest_stats.lock() {
                            *slot = Some(stats.clone());
                        }
                        if let Some(handler) = &self.handlers.on_statistics {
                            guarded("statistics callback", || handler(&stats));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(client = %self.name, "cannot parse statistics JSON: {e}")
                    }
                }
            }
            event_type::OAUTHBEARER_TOKEN_REFRESH => match &self.oauth {
                Some(refresher) => refresher.request(),
                None => tracing::warn!(
                    client = %self.name,
                    "librdkafka asks for an OAUTHBEARER token, but no token provider is set \
                     (ClientConfig::oauthbearer_token_provider)"
                ),
            },
            other => tracing::trace!(client = %self.name, event = other, "ignored event"),
        }
    }
}

/// Runs user code so that a panic is reported instead of unwinding into the
/// dispatcher thread.
pub(crate) fn guarded(what: &str, f: impl FnOnce()) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(f)) {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_string());
        tracing::error!("a {what} panicked: {msg}");
    }
}

/// Maps librdkafka's syslog levels onto `tracing` levels under the target
/// `librdkafka`.
fn log_librdkafka(client: &str, level: i32, facility: &str, message: &str) {
    match level {
        i32::MIN..=3 => tracing::error!(target: "librdkafka", client, facility, "{message}"),
        4 => tracing::warn!(target: "librdkafka", client, facility, "{message}"),
        5 | 6 => tracing::info!(target: "librdkafka", client, facility, "{message}"),
        _ => tracing::debug!(target: "librdkafka", client, facility, "{message}"),
    }
}

/// A client whose main queue is served by a dispatcher thread.
pub(crate) trait Dispatch: Send + Sync + 'static {
    /// The client core whose main queue is polled.
    fn core(&self) -> &ClientCore;
    /// Whether the dispatcher should exit.
    fn stopped(&self) -> bool;
    /// Serves one event polled from the main queue.
    fn serve(&self, event: NativeEvent);
}

/// Spawns the dispatcher thread of `shared`; it runs until `stopped()` is
/// true and the main queue has been woken.
pub(crate) fn spawn_dispatcher<S: Dispatch>(
    shared: Arc<S>,
) -> Result<std::thread::JoinHandle<()>, Error> {
    let name = format!("kafkit-{}", shared.core().name);
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            while !shared.stopped() {
                // A long timeout is fine: shutdown wakes the queue explicitly.
                if let Some(event) = shared
                    .core()
                    .main_queue
                    .poll(std::time::Duration::from_secs(1))
                {
                    shared.serve(event);
                }
            }
        })
        .map_err(|e| Error::Io {
            path: "(dispatcher thread)".into(),
            source: e,
        })
}
