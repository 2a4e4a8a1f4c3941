//! Reading and checking a care model's steps: each step field by field,
//! branch targets resolved to indexes, and loops without a wait refused.

use serde_json::{Map, Value};

use super::json::{check_id, get, time_of_day, unknown, weekdays};
use super::local::{MS_PER_DAY, MS_PER_HOUR, WeeklyWindow};
use super::model::{Action, Branch, CareModelError, Condition, SendStep, Step, grade_from_name};
use crate::touchpoint::ContentStage;

const STEP_FIELDS: &[&str] = &["id", "send", "wait", "wait_until", "branch"];
const ACTIONS: &[&str] = &["send", "wait", "wait_until", "branch"];

/// A branch before its targets are resolved to indexes.
struct RawBranch {
    condition: Condition,
    then: String,
    otherwise: Option<String>,
}

enum RawAction {
    Done(Action),
    Branch(RawBranch),
}

/// Reads the fields of one step, naming it in every error.
struct StepReader<'a> {
    obj: &'a Map<String, Value>,
    number: usize,
    id: Option<String>,
}

impl StepReader<'_> {
    fn err(&self, field: &str, reason: impl Into<String>) -> CareModelError {
        CareModelError::Step {
            number: self.number,
            id: self.id.clone(),
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    /// The object under `key` with only `allowed` fields.
    fn section(&self, key: &str, allowed: &[&str]) -> Result<Map<String, Value>, CareModelError> {
        let obj: Map<String, Value> = get(self.obj, key)
            .map_err(|r| self.err(key, r))?
            .ok_or_else(|| self.err(key, "must be an object"))?;
        if let Some(k) = unknown(&obj, allowed) {
            return Err(self.err(&format!("{key}.{k}"), "unknown field"));
        }
        Ok(obj)
    }

    fn action(&self) -> Result<RawAction, CareModelError> {
        let given: Vec<&str> = ACTIONS
            .iter()
            .copied()
            .filter(|a| self.obj.contains_key(*a))
            .collect();
        match given.as_slice() {
            ["send"] => self.send().map(|s| RawAction::Done(Action::Send(s))),
            ["wait"] => self.wait().map(|w| RawAction::Done(Action::Wait(w))),
            ["wait_until"] => self
                .wait_until()
                .map(|w| RawAction::Done(Action::WaitUntil(w))),
            ["branch"] => self.branch().map(RawAction::Branch),
            _ => Err(self.err(
                "",
                "needs exactly one of `send`, `wait`, `wait_until`, `branch`",
            )),
        }
    }

    fn send(&self) -> Result<SendStep, CareModelError> {
        let o = self.section("send", &["content", "stage", "subject", "text", "purpose"])?;
        let text = |key: &str, required: bool| -> Result<Option<String>, CareModelError> {
            let path = format!("send.{key}");
            match get::<String>(&o, key).map_err(|r| self.err(&path, r))? {
                None if required => Err(self.err(&path, "missing")),
                Some(s) if s.trim().is_empty() => Err(self.err(&path, "must not be empty")),
                v => Ok(v),
            }
        };
        let stage: String = get(&o, "stage")
            .map_err(|r| self.err("send.stage", r))?
            .ok_or_else(|| self.err("send.stage", "missing"))?;
        let stage = match stage.as_str() {
            "connecting" => ContentStage::Connecting,
            "educating" => ContentStage::Educating,
            "closing" => ContentStage::Closing,
            other => {
                return Err(self.err(
                    "send.stage",
                    format!("unknown content stage {other:?} (use connecting, educating, closing)"),
                ));
            }
        };
        Ok(SendStep {
            content: text("content", true)?.unwrap_or_default(),
            stage,
            subject: text("subject", false)?,
            text: text("text", true)?.unwrap_or_default(),
            purpose: text("purpose", false)?.unwrap_or_else(|| "marketing".into()),
        })
    }

    fn wait(&self) -> Result<i64, CareModelError> {
        let o = self.section("wait", &["days", "hours"])?;
        let amount = |key: &str| -> Result<Option<f64>, CareModelError> {
            let path = format!("wait.{key}");
            match get::<f64>(&o, key).map_err(|r| self.err(&path, r))? {
                Some(v) if !(v.is_finite() && v > 0.0) => {
                    Err(self.err(&path, "must be a number above 0"))
                }
                v => Ok(v),
            }
        };
        let (days, hours) = (amount("days")?, amount("hours")?);
        if days.is_none() && hours.is_none() {
            return Err(self.err("wait.days", "missing (give `days` or `hours`)"));
        }
        let ms =
            days.unwrap_or(0.0) * MS_PER_DAY as f64 + hours.unwrap_or(0.0) * MS_PER_HOUR as f64;
        if ms > 3650.0 * MS_PER_DAY as f64 {
            return Err(self.err("wait", "at most ten years"));
        }
        Ok((ms.round() as i64).max(1))
    }

    fn wait_until(&self) -> Result<WeeklyWindow, CareModelError> {
        let o = self.section("wait_until", &["weekdays", "from", "to"])?;
        let window = WeeklyWindow {
            weekdays: weekdays(&o, "weekdays").map_err(|r| self.err("wait_until.weekdays", r))?,
            from: time_of_day(&o, "from").map_err(|r| self.err("wait_until.from", r))?,
            to: time_of_day(&o, "to").map_err(|r| self.err("wait_until.to", r))?,
        };
        if window.from >= window.to {
            return Err(self.err(
                "wait_until.to",
                "must be after `from` (a window does not cross midnight)",
            ));
        }
        Ok(window)
    }

    fn branch(&self) -> Result<RawBranch, CareModelError> {
        let o = self.section("branch", &["if", "then", "else"])?;
        let cond: Map<String, Value> = get(&o, "if")
            .map_err(|r| self.err("branch.if", r))?
            .ok_or_else(|| self.err("branch.if", "missing"))?;
        let condition = self.condition(&cond)?;
        let target = |key: &str| -> Result<Option<String>, CareModelError> {
            get(&o, key).map_err(|r| self.err(&format!("branch.{key}"), r))
        };
        Ok(RawBranch {
            condition,
            then: target("then")?.ok_or_else(|| self.err("branch.then", "missing"))?,
            otherwise: target("else")?,
        })
    }

    fn condition(&self, cond: &Map<String, Value>) -> Result<Condition, CareModelError> {
        let mut keys = cond.keys();
        let (Some(key), None) = (keys.next(), keys.next()) else {
            return Err(self.err("branch.if", "needs exactly one condition"));
        };
        let path = format!("branch.if.{key}");
        let value = |r: String| self.err(&path, r);
        let step_ref = || -> Result<String, CareModelError> {
            get::<String>(cond, key)
                .map_err(value)?
                .ok_or_else(|| self.err(&path, "missing"))
        };
        Ok(match key.as_str() {
            "opened" => Condition::Opened(step_ref()?),
            "clicked" => Condition::Clicked(step_ref()?),
            "replied" => Condition::Replied(step_ref()?),
            "registered" => Condition::Registered(step_ref()?),
            "score_above" => match get::<f64>(cond, key).map_err(value)? {
                Some(n) if n.is_finite() => Condition::ScoreAbove(n),
                _ => return Err(self.err(&path, "must be a finite number")),
            },
            "visited" => match get::<String>(cond, key).map_err(value)? {
                Some(s) if !s.trim().is_empty() => Condition::Visited(s.to_lowercase()),
                _ => return Err(self.err(&path, "must be a non-empty URL part")),
            },
            "attended_event" => match get::<bool>(cond, key).map_err(value)? {
                Some(b) => Condition::AttendedEvent(b),
                None => return Err(self.err(&path, "must be true or false")),
            },
            "grade" => {
                let g: String = get(cond, key)
                    .map_err(value)?
                    .ok_or_else(|| self.err(&path, "missing"))?;
                Condition::Grade(grade_from_name(&g).ok_or_else(|| {
                    self.err(&path, format!("unknown grade {g:?} (use hot, warm, cold)"))
                })?)
            }
            other => {
                return Err(self.err(
                    &format!("branch.if.{other}"),
                    "unknown condition (use opened, clicked, replied, registered, score_above, visited, attended_event, grade)",
                ));
            }
        })
    }
}

pub(super) fn steps(raw: &[Value]) -> Result<Vec<Step>, CareModelError> {
    let mut read: Vec<(String, RawAction)> = Vec::with_capacity(raw.len());
    for (i, value) in raw.iter().enumerate() {
        let number = i + 1;
        let Value::Object(obj) = value else {
            return Err(CareModelError::Step {
                number,
                id: None,
                field: String::new(),
                reason: "a step must be an object".into(),
            });
        };
        let mut r = StepReader {
            obj,
            number,
            id: None,
        };
        let id: String = get(obj, "id")
            .map_err(|e| r.err("id", e))?
            .ok_or_else(|| r.err("id", "missing"))?;
        check_id(&id).map_err(|e| r.err("id", e))?;
        r.id = Some(id.clone());
        if let Some(k) = unknown(obj, STEP_FIELDS) {
            return Err(r.err(&k, "unknown field"));
        }
        if let Some(first) = read.iter().position(|(other, _)| *other == id) {
            return Err(r.err("id", format!("duplicate of step {}", first + 1)));
        }
        read.push((id, r.action()?));
    }

    let ids: Vec<String> = read.iter().map(|(id, _)| id.clone()).collect();
    let is_send: Vec<bool> = read
        .iter()
        .map(|(_, a)| matches!(a, RawAction::Done(Action::Send(_))))
        .collect();
    let mut steps = Vec::with_capacity(read.len());
    for (i, (id, action)) in read.into_iter().enumerate() {
        let err = |field: &str, reason: String| CareModelError::Step {
            number: i + 1,
            id: Some(id.clone()),
            field: field.to_string(),
            reason,
        };
        let action = match action {
            RawAction::Done(a) => a,
            RawAction::Branch(b) => {
                let resolve = |field: &str, target: &str| -> Result<usize, CareModelError> {
                    if target == id {
                        return Err(err(field, "a branch must not target its own step".into()));
                    }
                    ids.iter().position(|s| s == target).ok_or_else(|| {
                        err(field, format!("branch target {target:?} is not a step id"))
                    })
                };
                let then = resolve("branch.then", &b.then)?;
                let otherwise = match &b.otherwise {
                    Some(t) => resolve("branch.else", t)?,
                    None => i + 1,
                };
                if let Condition::Opened(s)
                | Condition::Clicked(s)
                | Condition::Replied(s)
                | Condition::Registered(s) = &b.condition
                {
                    let field = format!("branch.if.{}", condition_key(&b.condition));
                    match ids.iter().position(|x| x == s) {
                        Some(at) if is_send[at] => {}
                        Some(_) => return Err(err(&field, format!("step {s:?} sends nothing"))),
                        None => return Err(err(&field, format!("{s:?} is not a step id"))),
                    }
                }
                Action::Branch(Branch {
                    condition: b.condition,
                    then,
                    otherwise,
                })
            }
        };
        steps.push(Step { id, action });
    }
    Ok(steps)
}

fn condition_key(c: &Condition) -> &'static str {
    match c {
        Condition::Opened(_) => "opened",
        Condition::Clicked(_) => "clicked",
        Condition::Replied(_) => "replied",
        Condition::Registered(_) => "registered",
        Condition::ScoreAbove(_) => "score_above",
        Condition::Visited(_) => "visited",
        Condition::AttendedEvent(_) => "attended_event",
        Condition::Grade(_) => "grade",
    }
}

/// Where a step leads without waiting: none for waits (they break a loop),
/// the next step for sends, both targets for branches. Indexes equal to the
/// number of steps mean "finished" and are left out.
fn successors(steps: &[Step], i: usize) -> Vec<usize> {
    let next = match &steps[i].action {
        Action::Wait(_) | Action::WaitUntil(_) => vec![],
        Action::Send(_) => vec![i + 1],
        Action::Branch(b) => vec![b.then, b.otherwise],
    };
    next.into_iter().filter(|&j| j < steps.len()).collect()
}

/// A loop through steps none of which waits, as indexes with the first
/// repeated at the end. Depth-first search with colours, iterative so a
/// long model cannot exhaust the stack.
pub(super) fn find_loop(steps: &[Step]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        White,
        Grey,
        Black,
    }
    let mut colour = vec![Colour::White; steps.len()];
    for start in 0..steps.len() {
        if colour[start] != Colour::White {
            continue;
        }
        // The path from `start`, each with the successors still to visit.
        let mut path: Vec<(usize, Vec<usize>)> = vec![(start, successors(steps, start))];
        colour[start] = Colour::Grey;
        while let Some((node, pending)) = path.last_mut() {
            let node = *node;
            match pending.pop() {
                None => {
                    colour[node] = Colour::Black;
                    path.pop();
                }
                Some(next) => match colour[next] {
                    Colour::Grey => {
                        let from = path.iter().position(|(n, _)| *n == next).unwrap_or(0);
                        let mut cycle: Vec<usize> = path[from..].iter().map(|(n, _)| *n).collect();
                        cycle.push(next);
                        return Some(cycle);
                    }
                    Colour::White => {
                        colour[next] = Colour::Grey;
                        path.push((next, successors(steps, next)));
                    }
                    Colour::Black => {}
                },
            }
        }
    }
    None
}
