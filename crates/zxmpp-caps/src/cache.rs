//! A sans-IO entity capabilities cache that cannot be poisoned.
//!
//! Presence `<c/>` elements go in ([`CapsCache::handle_caps`], [`CapsCache::handle_hash_set`]); disco#info
//! queries to send come out ([`CapsCache::poll_query`]); their replies go back in
//! ([`CapsCache::handle_disco_info`], [`CapsCache::handle_disco_error`]); what happened comes out as
//! [`CapsEvent`]s. A reply is cached under a hash only after it has been recomputed from the reply and found
//! equal to the advertised value; a reply that does not hash to it is refused ([`CapsEvent::Poisoned`]), and
//! the value is asked again later (with exponential backoff, preferring another entity that advertises it),
//! never trusted. Time comes in as `now`; nothing here reads a clock.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::algo::{Algorithm, decode_base64, encode_base64};
use crate::caps::{Caps, CapsHashSet};
use crate::model::DiscoInfo;
use crate::{Error, IllFormed, xep0115, xep0390};

/// The format version of [`CacheSnapshot`].
pub const SNAPSHOT_VERSION: u32 = 1;

/// Which specification a hash follows.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Scheme {
    /// XEP-0115 verification string.
    Xep0115,
    /// XEP-0390 capability hash.
    Xep0390,
}

/// The key of a verified entry: scheme, algorithm and hash value (canonical Base64).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct VerKey {
    /// The scheme.
    pub scheme: Scheme,
    /// The algorithm.
    pub algo: Algorithm,
    /// The hash value in canonical Base64.
    pub value: String,
}

/// Limits and timings of a [`CapsCache`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheConfig {
    /// Most cached disco#info replies (verified plus legacy nodes); the least recently used go first.
    pub max_entries: usize,
    /// Most entities whose advertisement is remembered.
    pub max_jids: usize,
    /// Most disco#info queries outstanding at once.
    pub max_in_flight: usize,
    /// How long to wait for a reply before counting the query as failed.
    pub query_timeout: Duration,
    /// Wait before asking again after a failed, ill-formed or poisoned reply; doubled each time.
    pub retry_base: Duration,
    /// The longest wait between two attempts.
    pub retry_max: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_entries: 1024,
            max_jids: 4096,
            max_in_flight: 4,
            query_timeout: Duration::from_secs(30),
            retry_base: Duration::from_secs(60),
            retry_max: Duration::from_secs(3600),
        }
    }
}

/// A disco#info query to send: `<iq type='get' to=jid><query xmlns='…disco#info' node=node/></iq>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[must_use]
pub struct CapsQuery {
    /// Whom to ask.
    pub jid: String,
    /// The node to ask about.
    pub node: String,
}

/// What the cache reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CapsEvent {
    /// A reply hashed to the advertised value and is now cached under it.
    Verified {
        /// The entity that answered.
        jid: String,
        /// The verified key.
        key: VerKey,
    },
    /// A reply did not hash to the advertised value: refused, not cached; the value is asked again later.
    Poisoned {
        /// The entity that answered.
        jid: String,
        /// The advertised key.
        key: VerKey,
        /// What the reply hashes to (canonical Base64).
        computed: String,
    },
    /// A reply was ill-formed (XEP-0115 §5.4, XEP-0390 §4.1): refused, not cached.
    IllFormed {
        /// The entity that answered.
        jid: String,
        /// The advertised key.
        key: VerKey,
        /// Why.
        reason: IllFormed,
    },
    /// A legacy node (`node#ver` or `node#ext`) was cached; it is unverifiable by nature.
    LegacyCached {
        /// The entity that answered.
        jid: String,
        /// The node.
        node: String,
    },
    /// An entity advertised a hash this crate cannot compute; its reply is kept for that entity only
    /// (XEP-0115 §5.4 step 2).
    JidOnly {
        /// The entity.
        jid: String,
    },
    /// A query got an error reply or timed out; it is asked again later.
    QueryFailed {
        /// Whom it was sent to.
        jid: String,
        /// The node asked about.
        node: String,
    },
}

/// How far a cached answer can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trust {
    /// Recomputed from the reply and equal to the advertised hash.
    Verified,
    /// Legacy `ver`/`ext` nodes: no hash, so unverifiable.
    Legacy,
    /// Answered by this entity, for an algorithm this crate cannot check.
    JidOnly,
}

/// What is known about one entity's capabilities.
#[derive(Debug, Clone)]
pub struct Capabilities<'c> {
    /// How far to trust it.
    pub trust: Trust,
    /// The disco#info replies that make it up (one, or for legacy caps `node#ver` and each cached `ext`).
    pub infos: Vec<&'c DiscoInfo<'static>>,
    /// Whether every part is known (legacy: `node#ver` and every advertised `ext`).
    pub complete: bool,
}

impl Capabilities<'_> {
    /// Whether any part lists `var`.
    #[must_use]
    pub fn has_feature(&self, var: &str) -> bool {
        self.infos.iter().any(|i| i.has_feature(var))
    }
}

/// The part of the cache a client persists.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CacheSnapshot {
    /// Format version ([`SNAPSHOT_VERSION`]).
    pub version: u32,
    /// Verified replies by key.
    pub verified: Vec<(VerKey, DiscoInfo<'static>)>,
    /// Legacy nodes (`node#ver`, `node#ext`), unverifiable.
    pub legacy: Vec<(String, DiscoInfo<'static>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Target {
    Ver(VerKey),
    Legacy(String),
    JidOnly(String),
}

#[derive(Debug, Clone)]
enum Advert {
    /// XEP-0115 with a hash: the caps node and the key.
    Hashed { node: String, key: VerKey },
    /// XEP-0390: keys this crate can compute, strongest first.
    Set { keys: Vec<VerKey> },
    /// Legacy: `node#ver` plus `node#ext` for each bundle.
    Legacy { nodes: Vec<String> },
    /// A hash this crate cannot compute: ask this entity, keep the answer for it only.
    Unknown { node: String },
}

#[derive(Debug)]
struct Want {
    not_before: Instant,
    attempts: u32,
    asked: Vec<String>,
}

#[derive(Debug)]
struct InFlight {
    target: Target,
    deadline: Instant,
}

#[derive(Debug)]
struct Entry {
    info: DiscoInfo<'static>,
    used: u64,
}

/// The caps cache. See the module docs for the loop.
#[derive(Debug)]
pub struct CapsCache {
    config: CacheConfig,
    tick: u64,
    verified: HashMap<VerKey, Entry>,
    legacy: HashMap<String, Entry>,
    jid_only: HashMap<String, DiscoInfo<'static>>,
    adverts: HashMap<String, (Advert, u64)>,
    wants: BTreeMap<Target, Want>,
    in_flight: HashMap<(String, String), InFlight>,
    queries: VecDeque<CapsQuery>,
    events: VecDeque<CapsEvent>,
}

impl CapsCache {
    /// An empty cache.
    #[must_use]
    pub fn new(config: CacheConfig) -> Self {
        CapsCache {
            config,
            tick: 0,
            verified: HashMap::new(),
            legacy: HashMap::new(),
            jid_only: HashMap::new(),
            adverts: HashMap::new(),
            wants: BTreeMap::new(),
            in_flight: HashMap::new(),
            queries: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// A cache filled from a snapshot.
    ///
    /// # Errors
    /// [`Error::UnsupportedSnapshotVersion`] when the snapshot has another format version.
    pub fn restore(config: CacheConfig, snapshot: CacheSnapshot) -> Result<Self, Error> {
        if snapshot.version != SNAPSHOT_VERSION {
            return Err(Error::UnsupportedSnapshotVersion {
                found: snapshot.version,
                supported: SNAPSHOT_VERSION,
            });
        }
        let mut cache = CapsCache::new(config);
        for (key, info) in snapshot.verified {
            cache.insert_verified(key, info);
        }
        for (node, info) in snapshot.legacy {
            cache.insert_legacy(node, info);
        }
        Ok(cache)
    }

    /// The persisted part: verified replies and legacy nodes.
    #[must_use]
    pub fn snapshot(&self) -> CacheSnapshot {
        let mut verified: Vec<_> = self
            .verified
            .iter()
            .map(|(k, e)| (k.clone(), e.info.clone()))
            .collect();
        verified.sort_by(|a, b| a.0.cmp(&b.0));
        let mut legacy: Vec<_> = self
            .legacy
            .iter()
            .map(|(k, e)| (k.clone(), e.info.clone()))
            .collect();
        legacy.sort_by(|a, b| a.0.cmp(&b.0));
        CacheSnapshot {
            version: SNAPSHOT_VERSION,
            verified,
            legacy,
        }
    }

    /// Number of cached replies (verified plus legacy nodes).
    #[must_use]
    pub fn len(&self) -> usize {
        self.verified.len() + self.legacy.len()
    }

    /// Whether nothing is cached.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of queries sent and not yet answered.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The verified reply cached under `key`.
    #[must_use]
    pub fn get(&self, key: &VerKey) -> Option<&DiscoInfo<'static>> {
        self.verified.get(key).map(|e| &e.info)
    }

    /// An XEP-0115 `<c/>` from `jid`'s presence.
    pub fn handle_caps(&mut self, now: Instant, jid: &str, caps: &Caps<'_>) {
        let advert = match &caps.hash {
            None => {
                let mut nodes = vec![caps.ver_node()];
                nodes.extend(caps.ext_names().map(|e| caps.ext_node(e)));
                Advert::Legacy { nodes }
            }
            Some(algo) if algo.is_known() => match decode_base64(&caps.ver) {
                Some(bytes) if Some(bytes.len()) == algo.output_len() => Advert::Hashed {
                    node: caps.ver_node(),
                    key: VerKey {
                        scheme: Scheme::Xep0115,
                        algo: algo.clone(),
                        value: encode_base64(&bytes),
                    },
                },
                // A ver that cannot be this algorithm's output can never verify: treat like an unknown hash.
                _ => Advert::Unknown {
                    node: caps.ver_node(),
                },
            },
            Some(_) => Advert::Unknown {
                node: caps.ver_node(),
            },
        };
        self.set_advert(now, jid, advert);
    }

    /// An XEP-0390 `<c/>` (capability hash set) from `jid`'s presence.
    pub fn handle_hash_set(&mut self, now: Instant, jid: &str, set: &CapsHashSet) {
        let mut keys: Vec<(u8, VerKey)> = set
            .hashes
            .iter()
            .filter(|h| h.algo.is_known() && Some(h.value.len()) == h.algo.output_len())
            .map(|h| {
                let key = VerKey {
                    scheme: Scheme::Xep0390,
                    algo: h.algo.clone(),
                    value: encode_base64(&h.value),
                };
                (h.algo.strength(), key)
            })
            .collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.0));
        let keys: Vec<VerKey> = keys.into_iter().map(|(_, k)| k).collect();
        if keys.is_empty() {
            self.forget(jid);
            return;
        }
        self.set_advert(now, jid, Advert::Set { keys });
    }

    /// `jid` went offline: forget its advertisement (cached replies stay).
    pub fn handle_unavailable(&mut self, now: Instant, jid: &str) {
        self.forget(jid);
        self.schedule(now);
    }

    /// A disco#info result from `jid` for `node` (as sent in the [`CapsQuery`]). Returns `false` when no such
    /// query is outstanding (the reply is ignored).
    pub fn handle_disco_info(
        &mut self,
        now: Instant,
        jid: &str,
        node: &str,
        info: &DiscoInfo<'_>,
    ) -> bool {
        let Some(flight) = self.in_flight.remove(&(jid.to_owned(), node.to_owned())) else {
            return false;
        };
        match flight.target {
            Target::Ver(key) => {
                let computed = match key.scheme {
                    Scheme::Xep0115 => xep0115::ver(info, &key.algo),
                    Scheme::Xep0390 => xep0390::hash(info, &key.algo),
                };
                match computed {
                    Ok(digest) if digest.to_base64() == key.value => {
                        self.wants.remove(&Target::Ver(key.clone()));
                        self.insert_verified(key.clone(), info.clone().into_owned());
                        self.events.push_back(CapsEvent::Verified {
                            jid: jid.to_owned(),
                            key,
                        });
                    }
                    Ok(digest) => {
                        self.back_off(now, &Target::Ver(key.clone()), jid);
                        self.events.push_back(CapsEvent::Poisoned {
                            jid: jid.to_owned(),
                            key,
                            computed: digest.to_base64(),
                        });
                    }
                    Err(Error::IllFormed(reason)) => {
                        self.back_off(now, &Target::Ver(key.clone()), jid);
                        self.events.push_back(CapsEvent::IllFormed {
                            jid: jid.to_owned(),
                            key,
                            reason,
                        });
                    }
                    Err(_) => {
                        self.back_off(now, &Target::Ver(key.clone()), jid);
                        self.events.push_back(CapsEvent::QueryFailed {
                            jid: jid.to_owned(),
                            node: node.to_owned(),
                        });
                    }
                }
            }
            Target::Legacy(legacy_node) => {
                self.wants.remove(&Target::Legacy(legacy_node.clone()));
                self.insert_legacy(legacy_node.clone(), info.clone().into_owned());
                self.events.push_back(CapsEvent::LegacyCached {
                    jid: jid.to_owned(),
                    node: legacy_node,
                });
            }
            Target::JidOnly(who) => {
                self.wants.remove(&Target::JidOnly(who.clone()));
                if self.adverts.contains_key(&who) {
                    self.jid_only.insert(who.clone(), info.clone().into_owned());
                }
                self.events.push_back(CapsEvent::JidOnly { jid: who });
            }
        }
        self.schedule(now);
        true
    }

    /// An error reply from `jid` for `node`. Returns `false` when no such query is outstanding.
    pub fn handle_disco_error(&mut self, now: Instant, jid: &str, node: &str) -> bool {
        let Some(flight) = self.in_flight.remove(&(jid.to_owned(), node.to_owned())) else {
            return false;
        };
        self.back_off(now, &flight.target, jid);
        self.events.push_back(CapsEvent::QueryFailed {
            jid: jid.to_owned(),
            node: node.to_owned(),
        });
        self.schedule(now);
        true
    }

    /// Time passed: expires queries past their deadline and sends the retries that are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<(String, String)> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for (jid, node) in expired {
            if let Some(flight) = self.in_flight.remove(&(jid.clone(), node.clone())) {
                self.back_off(now, &flight.target, &jid);
                self.events.push_back(CapsEvent::QueryFailed { jid, node });
            }
        }
        self.schedule(now);
    }

    /// The next disco#info query to send.
    pub fn poll_query(&mut self) -> Option<CapsQuery> {
        self.queries.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<CapsEvent> {
        self.events.pop_front()
    }

    /// When [`CapsCache::handle_timeout`] should be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let flights = self.in_flight.values().map(|f| f.deadline);
        // While every slot is taken, only a reply or an expiry can let a retry out.
        let full = self.in_flight.len() >= self.config.max_in_flight;
        let retries = self
            .wants
            .iter()
            .filter(|(t, _)| !full && !self.target_in_flight(t))
            .map(|(_, w)| w.not_before);
        flights.chain(retries).min()
    }

    /// What is known about `jid`'s capabilities, `None` while nothing is.
    #[must_use]
    pub fn lookup(&self, jid: &str) -> Option<Capabilities<'_>> {
        let (advert, _) = self.adverts.get(jid)?;
        match advert {
            Advert::Hashed { key, .. } => self.verified.get(key).map(|e| Capabilities {
                trust: Trust::Verified,
                infos: vec![&e.info],
                complete: true,
            }),
            Advert::Set { keys } => {
                keys.iter()
                    .find_map(|k| self.verified.get(k))
                    .map(|e| Capabilities {
                        trust: Trust::Verified,
                        infos: vec![&e.info],
                        complete: true,
                    })
            }
            Advert::Legacy { nodes } => {
                let infos: Vec<_> = nodes
                    .iter()
                    .filter_map(|n| self.legacy.get(n))
                    .map(|e| &e.info)
                    .collect();
                if infos.is_empty() {
                    return None;
                }
                let complete = infos.len() == nodes.len();
                Some(Capabilities {
                    trust: Trust::Legacy,
                    infos,
                    complete,
                })
            }
            Advert::Unknown { .. } => self.jid_only.get(jid).map(|info| Capabilities {
                trust: Trust::JidOnly,
                infos: vec![info],
                complete: true,
            }),
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    fn forget(&mut self, jid: &str) {
        self.adverts.remove(jid);
        self.jid_only.remove(jid);
        self.wants.remove(&Target::JidOnly(jid.to_owned()));
    }

    fn set_advert(&mut self, now: Instant, jid: &str, advert: Advert) {
        let tick = self.next_tick();
        if !self.adverts.contains_key(jid)
            && self.adverts.len() >= self.config.max_jids
            && let Some(oldest) = self
                .adverts
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(j, _)| j.clone())
        {
            self.forget(&oldest);
        }
        // A new advertisement replaces what the entity said before, and its per-JID answer.
        self.jid_only.remove(jid);
        let targets: Vec<Target> = match &advert {
            Advert::Hashed { key, .. } => {
                if let Some(e) = self.verified.get_mut(key) {
                    e.used = tick;
                    vec![]
                } else {
                    vec![Target::Ver(key.clone())]
                }
            }
            Advert::Set { keys } => {
                if let Some(e) = keys
                    .iter()
                    .find(|k| self.verified.contains_key(*k))
                    .cloned()
                    .and_then(|k| self.verified.get_mut(&k))
                {
                    e.used = tick;
                    vec![]
                } else {
                    keys.first()
                        .map(|k| Target::Ver(k.clone()))
                        .into_iter()
                        .collect()
                }
            }
            Advert::Legacy { nodes } => nodes
                .iter()
                .filter(|n| match self.legacy.get_mut(*n) {
                    Some(e) => {
                        e.used = tick;
                        false
                    }
                    None => true,
                })
                .map(|n| Target::Legacy(n.clone()))
                .collect(),
            Advert::Unknown { .. } => vec![Target::JidOnly(jid.to_owned())],
        };
        self.adverts.insert(jid.to_owned(), (advert, tick));
        for target in targets {
            self.wants.entry(target).or_insert(Want {
                not_before: now,
                attempts: 0,
                asked: Vec::new(),
            });
        }
        self.schedule(now);
    }

    fn target_in_flight(&self, target: &Target) -> bool {
        self.in_flight.values().any(|f| &f.target == target)
    }

    /// The entity and node to ask for `target`, preferring entities not asked before.
    fn candidate(&self, target: &Target, asked: &[String]) -> Option<(String, String)> {
        let mut fallback = None;
        for (jid, (advert, _)) in &self.adverts {
            let node = match (target, advert) {
                (Target::Ver(k), Advert::Hashed { node, key }) if k == key => node.clone(),
                (Target::Ver(k), Advert::Set { keys }) if keys.contains(k) => {
                    xep0390::hash_node(&k.algo, &decode_base64(&k.value).unwrap_or_default())
                }
                (Target::Legacy(n), Advert::Legacy { nodes }) if nodes.contains(n) => n.clone(),
                (Target::JidOnly(who), Advert::Unknown { node }) if who == jid => node.clone(),
                _ => continue,
            };
            if !asked.contains(jid) {
                return Some((jid.clone(), node));
            }
            fallback.get_or_insert((jid.clone(), node));
        }
        fallback
    }

    fn schedule(&mut self, now: Instant) {
        let mut dead = Vec::new();
        let mut send = Vec::new();
        for (target, want) in &self.wants {
            if self.in_flight.len() + send.len() >= self.config.max_in_flight {
                break;
            }
            if want.not_before > now || self.target_in_flight(target) {
                continue;
            }
            match self.candidate(target, &want.asked) {
                Some((jid, node)) => send.push((target.clone(), jid, node)),
                None => dead.push(target.clone()),
            }
        }
        for target in dead {
            self.wants.remove(&target);
        }
        for (target, jid, node) in send {
            if let Some(want) = self.wants.get_mut(&target)
                && !want.asked.contains(&jid)
            {
                want.asked.push(jid.clone());
            }
            let deadline = now + self.config.query_timeout;
            self.in_flight
                .insert((jid.clone(), node.clone()), InFlight { target, deadline });
            self.queries.push_back(CapsQuery { jid, node });
        }
    }

    fn back_off(&mut self, now: Instant, target: &Target, jid: &str) {
        if let Some(want) = self.wants.get_mut(target) {
            want.attempts = want.attempts.saturating_add(1);
            let factor = 1u32 << want.attempts.saturating_sub(1).min(16);
            let wait = self
                .config
                .retry_base
                .saturating_mul(factor)
                .min(self.config.retry_max);
            want.not_before = now + wait;
            if !want.asked.iter().any(|a| a == jid) {
                want.asked.push(jid.to_owned());
            }
        }
    }

    fn evict_if_full(&mut self) {
        while self.len() >= self.config.max_entries.max(1) {
            let v = self
                .verified
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, e)| (k.clone(), e.used));
            let l = self
                .legacy
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, e)| (k.clone(), e.used));
            match (v, l) {
                (Some((k, vu)), Some((_, lu))) if vu <= lu => {
                    self.verified.remove(&k);
                }
                (_, Some((k, _))) => {
                    self.legacy.remove(&k);
                }
                (Some((k, _)), None) => {
                    self.verified.remove(&k);
                }
                (None, None) => break,
            }
        }
    }

    fn insert_verified(&mut self, key: VerKey, info: DiscoInfo<'static>) {
        if !self.verified.contains_key(&key) {
            self.evict_if_full();
        }
        let used = self.next_tick();
        self.verified.insert(key, Entry { info, used });
    }

    fn insert_legacy(&mut self, node: String, info: DiscoInfo<'static>) {
        if !self.legacy.contains_key(&node) {
            self.evict_if_full();
        }
        let used = self.next_tick();
        self.legacy.insert(node, Entry { info, used });
    }
}
