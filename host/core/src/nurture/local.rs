//! Wall-clock arithmetic in a lead's local time, given as a fixed offset
//! from UTC in minutes (no time-zone database: daylight saving is the
//! caller's to reflect in the offset it passes).

use crate::touchpoint::Timestamp;
use serde::{Deserialize, Serialize};

/// One minute in milliseconds.
pub(crate) const MS_PER_MINUTE: i64 = 60_000;
/// One hour in milliseconds.
pub(crate) const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
/// One day in milliseconds.
pub(crate) const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// A day of the week, stored as `mon` … `sun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    /// Monday first.
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    /// The stored name: `mon`, `tue`, … `sun`.
    pub fn name(self) -> &'static str {
        match self {
            Weekday::Mon => "mon",
            Weekday::Tue => "tue",
            Weekday::Wed => "wed",
            Weekday::Thu => "thu",
            Weekday::Fri => "fri",
            Weekday::Sat => "sat",
            Weekday::Sun => "sun",
        }
    }

    /// Parses a stored name.
    pub fn from_name(name: &str) -> Option<Weekday> {
        Weekday::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The weekday of a day counted from 1970-01-01 (a Thursday).
    fn of_day(day: i64) -> Weekday {
        Weekday::ALL[(day + 3).rem_euclid(7) as usize]
    }
}

/// A time of day in minutes after midnight, `00:00` to `24:00` (the latter
/// only as the end of a window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    /// Midnight.
    pub const MIDNIGHT: TimeOfDay = TimeOfDay(0);

    /// `hour:minute`; `None` outside `00:00`..=`24:00`.
    pub fn new(hour: u16, minute: u16) -> Option<TimeOfDay> {
        let m = hour.checked_mul(60)?.checked_add(minute)?;
        (minute < 60 && m <= 24 * 60).then_some(TimeOfDay(m))
    }

    /// Parses `HH:MM` (two digits each).
    pub fn parse(text: &str) -> Option<TimeOfDay> {
        let (h, m) = text.split_once(':')?;
        if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        TimeOfDay::new(h.parse().ok()?, m.parse().ok()?)
    }

    /// Minutes after midnight.
    pub fn minutes(self) -> u16 {
        self.0
    }

    fn ms(self) -> i64 {
        i64::from(self.0) * MS_PER_MINUTE
    }
}

impl std::fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// `now` as (day since the epoch, milliseconds into that day) in local time.
fn local(now: Timestamp, offset_minutes: i32) -> (i64, i64) {
    let t = now.saturating_add(i64::from(offset_minutes) * MS_PER_MINUTE);
    (t.div_euclid(MS_PER_DAY), t.rem_euclid(MS_PER_DAY))
}

/// The UTC instant of `at` on local `day`.
fn instant(day: i64, at: TimeOfDay, offset_minutes: i32) -> Timestamp {
    day * MS_PER_DAY + at.ms() - i64::from(offset_minutes) * MS_PER_MINUTE
}

/// The weekday of `now` in local time.
pub fn weekday(now: Timestamp, offset_minutes: i32) -> Weekday {
    Weekday::of_day(local(now, offset_minutes).0)
}

/// Local minutes after midnight of `now`.
pub fn minute_of_day(now: Timestamp, offset_minutes: i32) -> u16 {
    (local(now, offset_minutes).1 / MS_PER_MINUTE) as u16
}

/// A recurring window: on the given weekdays from `from` (inclusive) to
/// `to` (exclusive), local time. `from` is before `to`: a window does not
/// cross midnight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyWindow {
    /// The days it opens on; never empty.
    pub weekdays: Vec<Weekday>,
    /// When it opens.
    pub from: TimeOfDay,
    /// When it closes.
    pub to: TimeOfDay,
}

impl WeeklyWindow {
    /// Whether `now` falls inside the window.
    pub fn contains(&self, now: Timestamp, offset_minutes: i32) -> bool {
        let (day, ms) = local(now, offset_minutes);
        self.weekdays.contains(&Weekday::of_day(day)) && self.from.ms() <= ms && ms < self.to.ms()
    }

    /// The first opening of the window at or after `now` (`strictly`:
    /// after). Within eight days, since the window opens at least weekly.
    pub fn next_opening(&self, now: Timestamp, offset_minutes: i32, strictly: bool) -> Timestamp {
        let (today, _) = local(now, offset_minutes);
        for day in today..today + 8 {
            let at = instant(day, self.from, offset_minutes);
            let later = if strictly { at > now } else { at >= now };
            if later && self.weekdays.contains(&Weekday::of_day(day)) {
                return at;
            }
        }
        // Unreachable with a non-empty weekday list; a week on is harmless.
        now + 7 * MS_PER_DAY
    }

    /// `now` when inside the window, else its next opening.
    pub fn open_at(&self, now: Timestamp, offset_minutes: i32) -> Timestamp {
        if self.contains(now, offset_minutes) {
            now
        } else {
            self.next_opening(now, offset_minutes, true)
        }
    }
}

/// Daily quiet hours, local time, from `from` (inclusive) to `to`
/// (exclusive); `from` after `to` crosses midnight (`20:00`–`08:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// When they start.
    pub from: TimeOfDay,
    /// When they end.
    pub to: TimeOfDay,
}

impl QuietHours {
    /// Whether `now` falls in quiet hours.
    pub fn contains(&self, now: Timestamp, offset_minutes: i32) -> bool {
        let (_, ms) = local(now, offset_minutes);
        let (from, to) = (self.from.ms(), self.to.ms());
        if from <= to {
            from <= ms && ms < to
        } else {
            ms >= from || ms < to
        }
    }

    /// The first end of quiet hours after `now`.
    pub fn end_after(&self, now: Timestamp, offset_minutes: i32) -> Timestamp {
        let (today, _) = local(now, offset_minutes);
        let at = instant(today, self.to, offset_minutes);
        if at > now {
            at
        } else {
            instant(today + 1, self.to, offset_minutes)
        }
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
