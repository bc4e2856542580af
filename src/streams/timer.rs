//! Timers: periodic work of an app, every interval or at the minutes of a
//! cron expression, on every worker or on the group's leader only.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Core, TimerFn};
use crate::Error;

/// Options of a timer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerOptions {
    on_leader: bool,
}

impl TimerOptions {
    /// Fires only on the app's leader: the worker that holds partition 0
    /// of the first agent's topic (so exactly one worker of the group,
    /// moving with that partition on a rebalance; Faust's `on_leader`).
    pub fn on_leader(mut self) -> Self {
        self.on_leader = true;
        self
    }
}

pub(crate) enum Schedule {
    Every(Duration),
    Cron(Cron),
}

pub(crate) struct TimerSpec {
    schedule: Schedule,
    options: TimerOptions,
    body: TimerFn,
}

impl TimerSpec {
    pub(crate) fn new<F, Fut>(schedule: Schedule, options: TimerOptions, body: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), Error>> + Send + 'static,
    {
        TimerSpec {
            schedule,
            options,
            body: Arc::new(move || Box::pin(body())),
        }
    }

    /// Runs the timer until the app stops; an error of the body ends it.
    pub(crate) async fn run(self, core: Arc<Core>) -> Result<(), Error> {
        let mut stop = core.state.stop_signal();
        let mut next = tokio::time::Instant::now();
        loop {
            let wait = match &self.schedule {
                Schedule::Every(interval) => {
                    next += *interval;
                    // Late (a long body): the next period starts now.
                    let now = tokio::time::Instant::now();
                    if next < now {
                        next = now;
                    }
                    next.saturating_duration_since(now)
                }
                Schedule::Cron(cron) => cron.until_next(SystemTime::now()),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|stopping| *stopping) => return Ok(()),
            }
            if self.options.on_leader && !core.state.is_leader() {
                continue;
            }
            let _between_commits = core.state.gate.clone().read_owned().await;
            if core.state.is_stopping() {
                return Ok(());
            }
            (self.body)().await?;
        }
    }
}

/// A cron schedule: five fields (minute, hour, day of month, month, day of
/// week), in UTC. Each field is `*`, a number, a range `a-b`, a step
/// `*/n` or `a-b/n`, or a list of those separated by commas. Days of the
/// week count from 0 (Sunday; 7 is Sunday too). As in cron, when both day
/// fields are restricted a day matching either is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    any_day: bool,
    any_weekday: bool,
}

impl Cron {
    /// Parses a five-field expression such as `"*/5 * * * *"` or
    /// `"0 9 * * 1-5"`.
    pub fn parse(expression: &str) -> Result<Cron, Error> {
        let fields: Vec<&str> = expression.split_whitespace().collect();
        let bad =
            |why: String| Error::InvalidArgument(format!("cron expression {expression:?}: {why}"));
        if fields.len() != 5 {
            return Err(bad(format!(
                "needs 5 fields (minute hour day month weekday), has {}",
                fields.len()
            )));
        }
        let field = |i: usize, name: &str, lo: u32, hi: u32| {
            parse_field(fields[i], lo, hi).map_err(|why| bad(format!("{name}: {why}")))
        };
        let mut weekdays = field(4, "day of week", 0, 7)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Cron {
            minutes: field(0, "minute", 0, 59)?,
            hours: field(1, "hour", 0, 23)?,
            days: field(2, "day of month", 1, 31)?,
            months: field(3, "month", 1, 12)?,
            weekdays: weekdays & 0x7f,
            any_day: fields[2] == "*",
            any_weekday: fields[4] == "*",
        })
    }

    /// The first matching minute strictly after `after` (seconds since the
    /// epoch), within about four years.
    pub fn next_after(&self, after: u64) -> Option<u64> {
        let first = after / 60 + 1;
        (first..first + 4 * 366 * 1440)
            .map(|minute| minute * 60)
            .find(|&at| self.matches(at))
    }

    fn matches(&self, secs: u64) -> bool {
        let days = secs / 86_400;
        let in_day = secs % 86_400;
        let (minute, hour) = (in_day / 60 % 60, in_day / 3600);
        let (_, month, day) = civil_from_days(days as i64);
        let weekday = (days + 4) % 7; // 1970-01-01 was a Thursday
        let day_ok = match (self.any_day, self.any_weekday) {
            (true, true) => true,
            (false, true) => bit(self.days, day),
            (true, false) => bit(self.weekdays, weekday),
            (false, false) => bit(self.days, day) || bit(self.weekdays, weekday),
        };
        bit(self.minutes, minute) && bit(self.hours, hour) && bit(self.months, month) && day_ok
    }

    fn until_next(&self, now: SystemTime) -> Duration {
        let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        match self.next_after(now.as_secs()) {
            Some(at) => Duration::from_secs(at).saturating_sub(now),
            // A date that never comes (February 30th): wait a day, again.
            None => Duration::from_secs(86_400),
        }
    }
}

fn bit(mask: u64, i: u64) -> bool {
    mask & (1 << i) != 0
}

fn parse_field(text: &str, lo: u32, hi: u32) -> Result<u64, String> {
    let mut mask = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| format!("bad step {s:?}"))?;
                if step == 0 {
                    return Err("a step of 0".into());
                }
                (r, step)
            }
            None => (part, 1),
        };
        let number = |s: &str| -> Result<u32, String> {
            let n: u32 = s.parse().map_err(|_| format!("bad number {s:?}"))?;
            if n < lo || n > hi {
                return Err(format!("{n} is outside {lo}-{hi}"));
            }
            Ok(n)
        };
        let (from, to) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (number(a)?, number(b)?),
                None if step > 1 => (number(r)?, hi),
                None => {
                    let n = number(r)?;
                    (n, n)
                }
            },
        };
        if from > to {
            return Err(format!("range {from}-{to} is backwards"));
        }
        let mut i = from;
        while i <= to {
            mask |= 1 << i;
            let Some(next) = i.checked_add(step) else {
                break;
            };
            i = next;
        }
    }
    Ok(mask)
}

/// Year, month (1-12) and day (1-31) of a day counted from 1970-01-01, in
/// the proleptic Gregorian calendar (Howard Hinnant's days-to-civil
/// algorithm).
fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        // 2000-02-29 and 2026-12-03.
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_790), (2026, 12, 3));
    }

    #[test]
    fn next_minutes_of_common_schedules() {
        // 2026-12-03 08:07:30 UTC, a Thursday.
        let now = 20_790 * 86_400 + 8 * 3600 + 7 * 60 + 30;
        let at = |h: u64, m: u64| 20_790 * 86_400 + h * 3600 + m * 60;
        let every_five = Cron::parse("*/5 * * * *").unwrap();
        assert_eq!(every_five.next_after(now), Some(at(8, 10)));
        let each_minute = Cron::parse("* * * * *").unwrap();
        assert_eq!(each_minute.next_after(now), Some(at(8, 8)));
        let nine_on_weekdays = Cron::parse("0 9 * * 1-5").unwrap();
        assert_eq!(nine_on_weekdays.next_after(now), Some(at(9, 0)));
        // Saturday 2026-12-05 at 00:00 (Sunday as 7 as well).
        let weekend = Cron::parse("0 0 * * 6,7").unwrap();
        assert_eq!(weekend.next_after(now), Some(at(0, 0) + 2 * 86_400));
        // The 1st of next month, or any Monday: Monday the 7th comes first.
        let either = Cron::parse("30 6 1 * 1").unwrap();
        assert_eq!(either.next_after(now), Some(at(6, 30) + 4 * 86_400));
        let never = Cron::parse("0 0 30 2 *").unwrap();
        assert_eq!(never.next_after(now), None);
        // A step past every value takes the first one only (no overflow).
        let huge_step = Cron::parse("10/4294967295 * * * *").unwrap();
        assert_eq!(huge_step.next_after(now), Some(at(8, 10)));
    }

    #[test]
    fn bad_expressions_say_why() {
        for (expression, why) in [
            ("* * * *", "needs 5 fields"),
            ("60 * * * *", "60 is outside 0-59"),
            ("*/0 * * * *", "a step of 0"),
            ("5-1 * * * *", "backwards"),
            ("x * * * *", "bad number"),
        ] {
            let e = Cron::parse(expression).unwrap_err().to_string();
            assert!(e.contains(why), "{expression}: {e}");
        }
    }
}
