//! The lead worker: one thread that folds the touchpoint log into each
//! tenant's [`Engine`], runs the commands of sales and operators in the same
//! order, and writes what changed.
//!
//! # Durability
//!
//! The touchpoint log and the command log are the truth; the engines in
//! memory are a projection of them. Each step the worker
//!
//! 1. runs the commands queued since the last step, each logged with the
//!    log position it ran after (`after_cursor`) and its wall-clock time;
//! 2. reads the touchpoints after its cursor, in id order, and applies them;
//! 3. commits, in one transaction, its new position, the commands, and the
//!    outputs (stage transitions, merges, hand-offs, outbox calls), and only
//!    then answers the commands' callers.
//!
//! Every minute (and when it stops) it saves a snapshot of the engines with
//! the position they are at. On start it loads the snapshot and replays the
//! touchpoints and commands after it, interleaved exactly as they first ran
//! (a command after every touchpoint up to its `after_cursor`). The engine is
//! deterministic, so the replay produces the same outputs under the same
//! keys, and the store ignores what it already holds: a crash loses nothing
//! and repeats nothing, and the outbox never gets a call twice.
//!
//! Engines start from the default configuration; a tenant's own
//! configuration reaches its engine only as a logged `configure` command, so
//! a replay sees every configuration at the point it took effect.

use crate::now_ms;
use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use leadhost_core::Touchpoint;
use leadhost_core::leads::{Command, CommandError, Effects, Engine, HandoffStatus};
use leadhost_store::{
    CommandRecord, HandoffRow, LeadBatch, LeadProgress, MergeRow, NewOutboxItem, Store,
    TransitionRow,
};
use serde::Serialize;

/// Touchpoints read and applied per step.
const BATCH: usize = 5000;
/// How often the worker looks at the log and the SLA timers when idle.
const IDLE: Duration = Duration::from_millis(250);
/// How often a changed state is snapshotted, at least: a snapshot that takes
/// long (a large tenant) waits ten times its own duration, so the worker
/// spends at most a tenth of its time on them.
const SNAPSHOT_EVERY: Duration = Duration::from_secs(60);

/// What a command did, as its caller sees it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CommandDone {
    /// Its place in the command log.
    pub seq: i64,
    /// Stage transitions it made.
    pub transitions: usize,
    /// Hand-offs it started or changed.
    pub handoffs: usize,
    /// Outbound calls it queued.
    pub outbound: usize,
}

/// Why a command did not run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandFailure {
    /// The engine refused it; nothing changed.
    #[error(transparent)]
    Refused(#[from] CommandError),
    /// The worker could not log it.
    #[error("the lead worker failed: {0}")]
    Worker(String),
}

/// Where the worker is.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct WorkerStatus {
    /// The last touchpoint id applied.
    pub cursor: i64,
    /// The last command logged.
    pub command_seq: i64,
    /// Whether it is still replaying the log after a start.
    pub replaying: bool,
    /// Touchpoints applied since the start (replay included).
    pub applied: u64,
    /// When the last snapshot was saved (unix ms), if one was.
    pub snapshot_at: Option<i64>,
    /// The last error, if the last step failed.
    pub error: Option<String>,
}

/// The answer channel of one command.
type Reply = tokio::sync::oneshot::Sender<Result<CommandDone, CommandFailure>>;

/// A command waiting for the next step: tenant, command, answer channel.
type Queued = (i64, Command, Reply);

enum Msg {
    Wake,
    Command {
        tenant_id: i64,
        command: Command,
        reply: Reply,
    },
    Stop,
}

struct Shared {
    engines: RwLock<BTreeMap<i64, Engine>>,
    status: Mutex<WorkerStatus>,
}

/// The handle the server keeps: send commands, read the engines.
pub(crate) struct LeadService {
    shared: Arc<Shared>,
    tx: Mutex<Sender<Msg>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Serializes configuration changes, which read then write settings.
    pub(crate) config_lock: tokio::sync::Mutex<()>,
}

impl LeadService {
    /// Starts the worker on `store`: it restores the engines (snapshot plus
    /// replay) in the background, then follows the log.
    pub(crate) fn start(store: Store) -> anyhow::Result<LeadService> {
        let shared = Arc::new(Shared {
            engines: RwLock::new(BTreeMap::new()),
            status: Mutex::new(WorkerStatus {
                replaying: true,
                ..WorkerStatus::default()
            }),
        });
        let (tx, rx) = mpsc::channel();
        let worker_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("lead-worker".into())
            .spawn(move || run(store, worker_shared, rx))
            .context("starting the lead worker")?;
        Ok(LeadService {
            shared,
            tx: Mutex::new(tx),
            thread: Mutex::new(Some(thread)),
            config_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// Tells the worker new touchpoints were committed.
    pub(crate) fn notify(&self) {
        let _ = self.sender().send(Msg::Wake);
    }

    /// Runs a command for a tenant and answers once it is logged.
    pub(crate) async fn command(
        &self,
        tenant_id: i64,
        command: Command,
    ) -> Result<CommandDone, CommandFailure> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.sender()
            .send(Msg::Command {
                tenant_id,
                command,
                reply,
            })
            .map_err(|_| CommandFailure::Worker("the lead worker has stopped".into()))?;
        answer
            .await
            .unwrap_or_else(|_| Err(CommandFailure::Worker("the lead worker stopped".into())))
    }

    /// Reads a tenant's engine (an empty one if it has no leads yet).
    pub(crate) fn read<R>(&self, tenant_id: i64, f: impl FnOnce(&Engine) -> R) -> R {
        let engines = read_engines(&self.shared);
        match engines.get(&tenant_id) {
            Some(engine) => f(engine),
            None => f(&Engine::default()),
        }
    }

    /// Where the worker is.
    pub(crate) fn status(&self) -> WorkerStatus {
        self.shared
            .status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until the worker has applied every touchpoint committed before
    /// the call, or `timeout` passes; answers whether it got there.
    pub(crate) async fn caught_up(&self, store: &Store, timeout: Duration) -> bool {
        let target = store.max_touchpoint_id().unwrap_or(0);
        let deadline = Instant::now() + timeout;
        self.notify();
        loop {
            let status = self.status();
            if !status.replaying && status.cursor >= target {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the worker after its current step and saves a snapshot.
    pub(crate) fn stop(&self) {
        let _ = self.sender().send(Msg::Stop);
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    fn sender(&self) -> Sender<Msg> {
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for LeadService {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The worker's own state.
struct Worker {
    store: Store,
    shared: Arc<Shared>,
    progress: LeadProgress,
    dirty: bool,
    last_snapshot: Instant,
    /// How long the last snapshot took.
    snapshot_cost: Duration,
    last_sla_check: Instant,
    /// More nurturing is due than the last tick could take: tick again at
    /// once instead of waiting for the next second.
    hurry: bool,
}

fn run(store: Store, shared: Arc<Shared>, rx: Receiver<Msg>) {
    let mut worker = Worker {
        store,
        shared,
        progress: LeadProgress::default(),
        dirty: false,
        last_snapshot: Instant::now(),
        snapshot_cost: Duration::ZERO,
        last_sla_check: Instant::now(),
        hurry: false,
    };
    // The engines are trusted only after a restore that completed: at the
    // start, and again after any failure (a failed commit leaves them ahead
    // of the store). Until then commands are answered with the error.
    let mut healthy = false;
    loop {
        let mut commands = Vec::new();
        let mut stop = false;
        let mut take = |msg: Msg, stop: &mut bool| match msg {
            Msg::Wake => {}
            Msg::Stop => *stop = true,
            Msg::Command {
                tenant_id,
                command,
                reply,
            } => commands.push((tenant_id, command, reply)),
        };
        // Restoring does not wait for a message, nor does a nurturing backlog.
        if healthy && !worker.hurry {
            match rx.recv_timeout(IDLE) {
                Ok(msg) => take(msg, &mut stop),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => stop = true,
            }
        }
        while let Ok(msg) = rx.try_recv() {
            take(msg, &mut stop);
        }
        if !healthy {
            if let Err(e) = worker.restore() {
                tracing::error!("lead worker cannot restore: {e:#}");
                worker.set_error(Some(format!("{e:#}")));
                for (_, _, reply) in commands {
                    let _ = reply.send(Err(CommandFailure::Worker(format!("{e:#}"))));
                }
                if stop {
                    break;
                }
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
            healthy = true;
        }
        if let Err(e) = worker.step(commands) {
            tracing::error!("lead worker step failed: {e:#}");
            worker.set_error(Some(format!("{e:#}")));
            healthy = false;
            if stop {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
            continue;
        }
        if worker.hurry || worker.last_sla_check.elapsed() >= Duration::from_secs(1) {
            worker.last_sla_check = Instant::now();
            if let Err(e) = worker.sla_tick() {
                worker.hurry = false;
                tracing::error!("lead worker SLA check failed: {e:#}");
                worker.set_error(Some(format!("{e:#}")));
                healthy = false;
                if stop {
                    break;
                }
                continue;
            }
        }
        if worker.dirty
            && (stop
                || worker.last_snapshot.elapsed() >= SNAPSHOT_EVERY.max(worker.snapshot_cost * 10))
            && let Err(e) = worker.snapshot()
        {
            tracing::error!("lead snapshot failed: {e:#}");
        }
        if stop {
            break;
        }
    }
}

/// What one step collects for its commit.
#[derive(Default)]
struct Batch {
    inner: LeadBatch,
}

impl Batch {
    fn add(&mut self, tenant_id: i64, fx: &Effects, now: i64) {
        let b = &mut self.inner;
        for t in &fx.transitions {
            b.transitions.push(TransitionRow {
                tenant_id,
                person_id: t.person.0 as i64,
                seq: i64::from(t.seq),
                from_stage: t.transition.from.name().to_string(),
                to_stage: t.transition.to.name().to_string(),
                at: t.transition.at,
                cause: json_text(&t.transition.cause),
                actor: json_text(&t.transition.actor),
            });
        }
        for m in &fx.merges {
            b.merges.push(MergeRow {
                tenant_id,
                merge_id: m.id.0 as i64,
                survivor: m.survivor.0 as i64,
                absorbed: m.absorbed.0 as i64,
                at: m.at,
                cause: json_text(&m.cause),
                undone: m.undone,
            });
        }
        for (person, h) in &fx.handoffs {
            let reason = match &h.status {
                HandoffStatus::Rejected { reason, .. } => Some(reason.clone()),
                HandoffStatus::Unassigned { note } => Some(note.clone()),
                HandoffStatus::Escalated { to } => Some(format!("escalated to {to}")),
                HandoffStatus::Accepted { by } => Some(format!("accepted by {by}")),
                _ => None,
            };
            let status = match h.status {
                // The store's vocabulary has no "unassigned": it is open
                // without an owner.
                HandoffStatus::Unassigned { .. } => "open",
                ref s => s.name(),
            };
            b.handoffs.push(HandoffRow {
                tenant_id,
                person_id: person.0 as i64,
                seq: i64::from(h.seq),
                team: h.team.clone().unwrap_or_default(),
                owner: h.owner.clone().unwrap_or_default(),
                assigned_at: h.assigned_at,
                due_at: h.due_at,
                status: status.to_string(),
                reason,
                updated_at: h.updated_at,
            });
        }
        for o in &fx.outbox {
            b.outbox.push(NewOutboxItem {
                tenant_id,
                key: o.key.clone(),
                kind: o.kind.name().to_string(),
                target: serde_json::json!({ "recipient": o.recipient }).to_string(),
                payload: o.payload.to_string(),
                next_at: now,
                created_at: now,
            });
        }
    }
}

fn json_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

impl Worker {
    fn set_error(&self, error: Option<String>) {
        self.shared
            .status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .error = error;
    }

    fn publish(&self, applied: u64, replaying: bool) {
        let mut status = self
            .shared
            .status
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        status.cursor = self.progress.cursor;
        status.command_seq = self.progress.command_seq;
        status.applied += applied;
        status.replaying = replaying;
    }

    /// Loads the snapshot and replays the logs after it.
    fn restore(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        let mut engines = BTreeMap::new();
        let mut progress = LeadProgress::default();
        if let Some(snapshot) = self.store.load_lead_snapshot()? {
            let mut ok = true;
            for (tenant, bytes) in &snapshot.states {
                match Engine::from_json(bytes) {
                    Ok(engine) => {
                        engines.insert(*tenant, engine);
                    }
                    Err(e) => {
                        tracing::warn!(
                            tenant,
                            "lead snapshot unreadable ({e}); replaying the whole log"
                        );
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                progress = snapshot.progress;
            } else {
                engines.clear();
            }
        }
        *write_engines(&self.shared) = engines;
        self.progress = progress;
        self.publish(0, true);

        let mut queued: VecDeque<CommandRecord> =
            self.store.commands_after(progress.command_seq)?.into();
        let end = self.store.max_touchpoint_id()?;
        let from = progress.cursor;
        let mut replayed = 0_u64;
        loop {
            let rows = self.store.touchpoints_after(self.progress.cursor, BATCH)?;
            if rows.is_empty() {
                break;
            }
            let mut batch = Batch::default();
            let now = now_ms();
            {
                let shared = Arc::clone(&self.shared);
                let mut engines = write_engines(&shared);
                for row in &rows {
                    while queued.front().is_some_and(|c| c.after_cursor < row.id) {
                        if let Some(c) = queued.pop_front() {
                            self.replay_command(&mut engines, &c, &mut batch)?;
                        }
                    }
                    apply_row(&mut engines, row, &mut batch, now);
                    self.progress.cursor = row.id;
                }
            }
            replayed += rows.len() as u64;
            batch.inner.progress = self.progress;
            self.store.commit_lead_batch(&batch.inner)?;
            self.publish(rows.len() as u64, true);
            if replayed % 100_000 < BATCH as u64 && end > from {
                tracing::info!(
                    replayed,
                    of = end - from,
                    "replaying the touchpoint log into the lead engines"
                );
            }
        }
        if !queued.is_empty() {
            let mut batch = Batch::default();
            {
                let shared = Arc::clone(&self.shared);
                let mut engines = write_engines(&shared);
                while let Some(c) = queued.pop_front() {
                    self.replay_command(&mut engines, &c, &mut batch)?;
                }
            }
            batch.inner.progress = self.progress;
            self.store.commit_lead_batch(&batch.inner)?;
        }
        self.dirty = replayed > 0 || self.progress.command_seq > progress.command_seq;
        self.publish(0, false);
        self.set_error(None);
        if replayed > 0 {
            tracing::info!(
                touchpoints = replayed,
                seconds = started.elapsed().as_secs_f64(),
                "lead engines restored"
            );
        }
        Ok(())
    }

    fn replay_command(
        &mut self,
        engines: &mut BTreeMap<i64, Engine>,
        record: &CommandRecord,
        batch: &mut Batch,
    ) -> anyhow::Result<()> {
        let command: Command = serde_json::from_str(&record.command)
            .with_context(|| format!("command {} in the log is unreadable", record.seq))?;
        let engine = engines.entry(record.tenant_id).or_default();
        match engine.command(&command, record.at) {
            Ok(fx) => batch.add(record.tenant_id, &fx, record.at),
            // It succeeded when it ran; the engine is deterministic, so this
            // means the log and the engine disagree. Keep going: the rest of
            // the log still counts.
            Err(e) => tracing::error!(seq = record.seq, "replayed command refused: {e}"),
        }
        self.progress.command_seq = record.seq;
        Ok(())
    }

    /// Runs queued commands, then applies the log up to its end.
    fn step(&mut self, commands: Vec<Queued>) -> anyhow::Result<()> {
        let mut answers = Vec::new();
        let mut batch = Batch::default();
        if !commands.is_empty() {
            let now = now_ms();
            let mut engines = write_engines(&self.shared);
            for (tenant_id, command, reply) in commands {
                let engine = engines.entry(tenant_id).or_default();
                match engine.command(&command, now) {
                    Ok(fx) => {
                        self.progress.command_seq += 1;
                        let seq = self.progress.command_seq;
                        batch.inner.commands.push(CommandRecord {
                            seq,
                            tenant_id,
                            after_cursor: self.progress.cursor,
                            at: now,
                            command: json_text(&command),
                        });
                        batch.add(tenant_id, &fx, now);
                        let done = CommandDone {
                            seq,
                            transitions: fx.transitions.len(),
                            handoffs: fx.handoffs.len(),
                            outbound: fx.outbox.len(),
                        };
                        answers.push((reply, Ok(done)));
                    }
                    Err(e) => answers.push((reply, Err(CommandFailure::Refused(e)))),
                }
            }
        }
        let mut applied = 0_u64;
        loop {
            let rows = self.store.touchpoints_after(self.progress.cursor, BATCH)?;
            if !rows.is_empty() {
                let now = now_ms();
                let mut engines = write_engines(&self.shared);
                for row in &rows {
                    apply_row(&mut engines, row, &mut batch, now);
                    self.progress.cursor = row.id;
                }
            }
            let full = rows.len() == BATCH;
            applied += rows.len() as u64;
            if !rows.is_empty() || !batch.inner.commands.is_empty() {
                batch.inner.progress = self.progress;
                let done = std::mem::take(&mut batch);
                if let Err(e) = self.store.commit_lead_batch(&done.inner) {
                    for (reply, _) in answers {
                        let _ = reply.send(Err(CommandFailure::Worker(e.to_string())));
                    }
                    return Err(e.into());
                }
                self.dirty = true;
            }
            // Answer commands once they are committed.
            for (reply, answer) in answers.drain(..) {
                let _ = reply.send(answer);
            }
            self.publish(rows.len() as u64, false);
            if !full {
                break;
            }
        }
        if applied > 0 {
            tracing::debug!(
                applied,
                cursor = self.progress.cursor,
                "lead engines advanced"
            );
        }
        Ok(())
    }

    /// Issues an SLA expiry for every hand-off whose time ran out, and a
    /// nurturing tick for every tenant with enrollments due. When a tenant
    /// has more due than one tick takes, the next check comes at once.
    fn sla_tick(&mut self) -> anyhow::Result<()> {
        let now = now_ms();
        let due: Vec<(i64, Command)> = {
            let engines = read_engines(&self.shared);
            self.hurry = engines.values().any(|engine| engine.nurture_backlog(now));
            engines
                .iter()
                .flat_map(|(tenant, engine)| {
                    let nurture = engine
                        .next_nurture_due()
                        .is_some_and(|at| at <= now)
                        .then_some((*tenant, Command::Tick));
                    engine
                        .due_handoffs(now)
                        .into_iter()
                        .map(|(person, seq)| (*tenant, Command::SlaExpired { person, seq }))
                        .chain(nurture)
                })
                .collect()
        };
        if due.is_empty() {
            return Ok(());
        }
        let commands = due
            .into_iter()
            .map(|(tenant, command)| {
                let (reply, _answer) = tokio::sync::oneshot::channel();
                (tenant, command, reply)
            })
            .collect();
        self.step(commands)
    }

    fn snapshot(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        let states: Vec<(i64, Vec<u8>)> = {
            let engines = read_engines(&self.shared);
            engines
                .iter()
                .map(|(tenant, engine)| Ok((*tenant, engine.to_json()?)))
                .collect::<Result<_, serde_json::Error>>()?
        };
        let bytes: usize = states.iter().map(|(_, s)| s.len()).sum();
        let taken_at = now_ms();
        self.store
            .save_lead_snapshot(self.progress, taken_at, &states)?;
        self.dirty = false;
        self.last_snapshot = Instant::now();
        self.snapshot_cost = started.elapsed();
        self.shared
            .status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .snapshot_at = Some(taken_at);
        tracing::info!(
            tenants = states.len(),
            bytes,
            seconds = started.elapsed().as_secs_f64(),
            cursor = self.progress.cursor,
            "lead snapshot saved"
        );
        Ok(())
    }
}

/// The engines for reading; a panic while they were held does not make
/// them unreadable (every write leaves them consistent per touchpoint).
fn read_engines(shared: &Shared) -> std::sync::RwLockReadGuard<'_, BTreeMap<i64, Engine>> {
    shared
        .engines
        .read()
        .unwrap_or_else(PoisonError::into_inner)
}

/// The engines for changing.
fn write_engines(shared: &Shared) -> std::sync::RwLockWriteGuard<'_, BTreeMap<i64, Engine>> {
    shared
        .engines
        .write()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Applies one stored touchpoint to its tenant's engine.
fn apply_row(
    engines: &mut BTreeMap<i64, Engine>,
    row: &leadhost_store::LoggedTouchpoint,
    batch: &mut Batch,
    now: i64,
) {
    match serde_json::from_str::<Touchpoint>(&row.document) {
        Ok(touchpoint) => {
            let engine = engines.entry(row.tenant_id).or_default();
            let fx = engine.apply(&touchpoint, row.received_at);
            for c in &fx.conflicts {
                // Nothing is lost (the identity stays with its own person);
                // an operator may want to merge them by hand.
                tracing::warn!(
                    tenant = row.tenant_id,
                    touchpoint = %touchpoint.external_id,
                    identity = ?c.identity,
                    other_person = c.other.0,
                    clashes_with = ?c.clashes_with,
                    "identity conflict: not merged"
                );
            }
            batch.add(row.tenant_id, &fx, now);
        }
        // Stored by this host from a validated touchpoint, so this means a
        // damaged row; it is skipped, not retried forever.
        Err(e) => tracing::error!(id = row.id, "stored touchpoint unreadable, skipped: {e}"),
    }
}
