//! The modules this process knows, by SHA-256: ready to serve, or checked by the check tier
//! with their serving compile still running in the background.
//!
//! A module in flight is known (its `describe` answer is) but does not serve: a `load` or a
//! call of it waits for the serving compile. When that compile fails or is abandoned (the
//! tokio runtime shut down before it started), the entry goes away, so the next `load`
//! compiles the module again and reports what went wrong.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use tokio::sync::watch;

use trolley_core::domain::{PluginError, PluginInfo};

use crate::runtime::Plugin;

/// What became of a serving compile.
pub(crate) type Outcome = Result<Arc<Plugin>, PluginError>;

/// A module checked by the check tier whose serving compile has not finished.
pub(crate) struct Flight {
    /// What its `describe` answered under the check tier.
    pub info: PluginInfo,
    /// The contract version it implements.
    pub version: &'static str,
    done: watch::Receiver<Option<Outcome>>,
}

impl Flight {
    /// Waits for the serving compile. `None` when it was abandoned without an outcome.
    pub async fn wait(&self) -> Option<Outcome> {
        let mut done = self.done.clone();
        // `wait_for` looks at the current value before it reports a closed channel.
        match done.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone(),
            Err(_) => None,
        }
    }
}

#[derive(Clone)]
pub(crate) enum Entry {
    Ready(Arc<Plugin>),
    InFlight(Arc<Flight>),
}

#[derive(Default)]
pub(crate) struct Registry {
    entries: RwLock<HashMap<String, Entry>>,
}

impl Registry {
    pub fn get(&self, sha256: &str) -> Option<Entry> {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(sha256)
            .cloned()
    }

    /// The module, if it is ready to serve.
    pub fn ready(&self, sha256: &str) -> Option<Arc<Plugin>> {
        match self.get(sha256)? {
            Entry::Ready(plugin) => Some(plugin),
            Entry::InFlight(_) => None,
        }
    }

    /// Keeps `plugin` ready to serve, unless the same module already is (then that one is
    /// answered). It replaces a flight: a `load` that compiled again after the flight failed.
    pub fn insert_ready(&self, plugin: Arc<Plugin>) -> Arc<Plugin> {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        match entries.get(&plugin.sha256) {
            Some(Entry::Ready(existing)) => Arc::clone(existing),
            _ => {
                entries.insert(plugin.sha256.clone(), Entry::Ready(Arc::clone(&plugin)));
                plugin
            }
        }
    }

    /// Records a module whose serving compile is about to start; `None` (and nothing
    /// recorded) when the module is already known.
    pub fn start_flight(
        self: &Arc<Self>,
        sha256: &str,
        info: PluginInfo,
        version: &'static str,
    ) -> Option<FlightGuard> {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.contains_key(sha256) {
            return None;
        }
        let (done, waiting) = watch::channel(None);
        let flight = Arc::new(Flight {
            info,
            version,
            done: waiting,
        });
        entries.insert(sha256.to_owned(), Entry::InFlight(Arc::clone(&flight)));
        Some(FlightGuard {
            registry: Arc::clone(self),
            sha256: sha256.to_owned(),
            flight,
            done: Some(done),
        })
    }

    pub fn remove(&self, sha256: &str) -> bool {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(sha256)
            .is_some()
    }

    /// Replaces `flight`'s entry (if it is still there: an `unload` or a `load` may have
    /// replaced it) by `ready`, or removes it.
    fn land(&self, sha256: &str, flight: &Arc<Flight>, ready: Option<Arc<Plugin>>) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(Entry::InFlight(current)) = entries.get(sha256)
            && Arc::ptr_eq(current, flight)
        {
            match ready {
                Some(plugin) => entries.insert(sha256.to_owned(), Entry::Ready(plugin)),
                None => entries.remove(sha256),
            };
        }
    }
}

/// Held by the background serving compile. Dropped without [`FlightGuard::finish`] (the task
/// was cancelled), it removes the entry and wakes the waiters empty-handed.
pub(crate) struct FlightGuard {
    registry: Arc<Registry>,
    sha256: String,
    flight: Arc<Flight>,
    done: Option<watch::Sender<Option<Outcome>>>,
}

impl FlightGuard {
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn flight(&self) -> &Flight {
        &self.flight
    }

    /// Publishes the outcome: the module serves from now on, or is forgotten.
    pub fn finish(mut self, outcome: Outcome) {
        self.registry
            .land(&self.sha256, &self.flight, outcome.as_ref().ok().cloned());
        if let Some(done) = self.done.take() {
            done.send_replace(Some(outcome));
        }
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        if self.done.is_some() {
            self.registry.land(&self.sha256, &self.flight, None);
        }
    }
}
