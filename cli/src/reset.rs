//! `kafkit groups reset-offsets`: each partition's new offset for the group,
//! from earliest, latest, a time or an offset.

use futures::executor::block_on;
use kafkit::{
    AdminClient, ConsumerGroupState, ErrorCode, GroupOffset, IsolationLevel, OffsetSpec,
    TopicPartition,
};

use crate::admin::{named_partitions, out, ResetArgs};
use crate::conn::Conn;
use crate::fail::{Fail, Outcome};

pub(crate) fn reset_offsets(conn: &Conn, admin: &AdminClient, args: &ResetArgs) -> Outcome {
    let options = conn.admin_options();
    let spec = if args.to_earliest {
        Target::Spec(OffsetSpec::Earliest)
    } else if args.to_latest {
        Target::Spec(OffsetSpec::Latest)
    } else if let Some(o) = args.to_offset {
        if o < 0 {
            return Err(Fail::usage(format!(
                "--to-offset {o}: an offset is 0 or more"
            )));
        }
        Target::Offset(o)
    } else if let Some(ms) = args.to_timestamp {
        if ms < 0 {
            return Err(Fail::usage(format!(
                "--to-timestamp {ms}: milliseconds since 1970 are 0 or more"
            )));
        }
        Target::Spec(OffsetSpec::Timestamp(ms))
    } else if let Some(text) = &args.to_datetime {
        Target::Spec(OffsetSpec::Timestamp(
            parse_datetime(text).map_err(Fail::usage)?,
        ))
    } else {
        return Err(Fail::usage(
            "reset-offsets needs one of --to-earliest, --to-latest, --to-offset, \
             --to-timestamp, --to-datetime",
        ));
    };
    // Kafka refuses offsets for a group with members; say so before asking.
    if conn.mock.is_none() {
        let described = block_on(admin.describe_consumer_groups(&[args.group.as_str()], &options))?;
        if let Some(Ok(d)) = described.into_iter().next().map(|r| r.result) {
            if !matches!(
                d.state,
                ConsumerGroupState::Empty | ConsumerGroupState::Dead
            ) {
                return Err(Fail::kafka(format!(
                    "group {} has {} active member(s) ({:?}): stop them before resetting its offsets",
                    args.group,
                    d.members.len(),
                    d.state
                )));
            }
        }
    }
    let partitions = reset_partitions(conn, admin, args)?;
    if partitions.is_empty() {
        return Err(Fail::kafka(format!(
            "group {} has no committed offsets",
            args.group
        )));
    }
    let current =
        block_on(admin.list_consumer_group_offsets(&args.group, Some(&partitions), &options))?;
    // Each partition's offset for `spec`; None where the broker has none
    // (no message at or after a time).
    let listed = |spec: OffsetSpec| -> Outcome<Vec<Option<i64>>> {
        let request: Vec<(&str, i32, OffsetSpec)> = partitions
            .iter()
            .map(|tp| (tp.topic.as_str(), tp.partition, spec))
            .collect();
        let results =
            block_on(admin.list_offsets(&request, IsolationLevel::ReadUncommitted, &options))?;
        partitions
            .iter()
            .map(|tp| {
                let r = results
                    .iter()
                    .find(|r| r.topic == tp.topic && r.partition == tp.partition)
                    .ok_or_else(|| {
                        Fail::kafka(format!("{}:{}: no offset listed", tp.topic, tp.partition))
                    })?;
                match &r.result {
                    Ok(o) => Ok(o.offset),
                    Err(e) => Err(Fail::kafka(format!("{}:{}: {e}", tp.topic, tp.partition))),
                }
            })
            .collect()
    };
    let known = |offsets: Vec<Option<i64>>, what: &str| -> Outcome<Vec<i64>> {
        partitions
            .iter()
            .zip(offsets)
            .map(|(tp, o)| {
                o.ok_or_else(|| {
                    Fail::kafka(format!(
                        "{}:{}: the broker gave no {what} offset",
                        tp.topic, tp.partition
                    ))
                })
            })
            .collect()
    };
    let latest = known(listed(OffsetSpec::Latest)?, "latest")?;
    let new: Vec<i64> = match spec {
        Target::Spec(OffsetSpec::Latest) => latest.clone(),
        Target::Spec(OffsetSpec::Timestamp(ms)) => listed(OffsetSpec::Timestamp(ms))?
            .into_iter()
            .zip(&latest)
            // No message at or after the time: the end.
            .map(|(o, end)| o.unwrap_or(*end))
            .collect(),
        Target::Spec(s) => known(listed(s)?, "earliest")?,
        // Kept within the partition's offsets; the log start may have moved
        // past the end read a moment before, and then the end wins.
        Target::Offset(o) => known(listed(OffsetSpec::Earliest)?, "earliest")?
            .into_iter()
            .zip(&latest)
            .map(|(first, end)| o.max(first).min(*end))
            .collect(),
    };
    let mut text = String::from("TOPIC\tPARTITION\tCURRENT\tNEW\n");
    for (tp, n) in partitions.iter().zip(&new) {
        let now = current
            .iter()
            .find(|c| c.topic == tp.topic && c.partition == tp.partition)
            .and_then(|c| c.result.as_ref().ok())
            .and_then(|c| c.offset)
            .map_or("-".to_string(), |o| o.to_string());
        text += &format!("{}\t{}\t{}\t{}\n", tp.topic, tp.partition, now, n);
    }
    if args.dry_run {
        text += "(dry run: nothing changed)\n";
        return out(text);
    }
    let offsets: Vec<GroupOffset> = partitions
        .iter()
        .zip(&new)
        .map(|(tp, n)| GroupOffset::new(tp.topic.clone(), tp.partition, *n))
        .collect();
    let results = block_on(admin.alter_consumer_group_offsets(&args.group, &offsets, &options))?;
    out(text)?;
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.result.as_ref().err().map(|e| (r, e)))
        .map(|(r, e)| {
            let hint = if e.code() == Some(ErrorCode::UnknownMemberId) {
                " (Kafka refuses this while the group has members)"
            } else {
                ""
            };
            format!("{}:{}: {e}{hint}", r.topic, r.partition)
        })
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Fail::kafka(failures.join("; ")))
    }
}

enum Target {
    Spec(OffsetSpec),
    Offset(i64),
}

/// The partitions `--topic` / `--all-topics` name.
fn reset_partitions(
    conn: &Conn,
    admin: &AdminClient,
    args: &ResetArgs,
) -> Outcome<Vec<TopicPartition>> {
    if args.all_topics {
        if conn.mock.is_some() {
            // librdkafka's mock answers a request for all of a group's
            // offsets with none.
            return Err(Fail::usage(
                "on the mock cluster, name the partitions with -t instead of --all-topics",
            ));
        }
        let committed =
            block_on(admin.list_consumer_group_offsets(&args.group, None, &conn.admin_options()))?;
        let mut list: Vec<TopicPartition> = committed
            .into_iter()
            .map(|c| TopicPartition::new(c.topic, c.partition))
            .collect();
        list.sort();
        return Ok(list);
    }

    named_partitions(conn, admin, &args.topics)
}

/// Milliseconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.mmm][Z]` (UTC,
/// years 1970 to 9999).
pub fn parse_datetime(text: &str) -> Result<i64, String> {
    let bad =
        || format!("--to-datetime {text}: expected YYYY-MM-DDTHH:MM:SS[.mmm][Z] in UTC, from 1970");
    let t = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = t.split_once(['T', ' ']).ok_or_else(bad)?;
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (time, None),
    };
    // Fixed-width fields of digits only: no signs, no spaces.
    let field = |s: &str, width: usize| -> Result<i64, String> {
        if s.len() == width && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<i64>().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    let d: Vec<&str> = date.split('-').collect();
    let h: Vec<&str> = hms.split(':').collect();
    let ([y, mo, da], [hh, mi, se]) = (d.as_slice(), h.as_slice()) else {
        return Err(bad());
    };
    let (year, month, day) = (field(y, 4)?, field(mo, 2)?, field(da, 2)?);
    let (hour, minute, second) = (field(hh, 2)?, field(mi, 2)?, field(se, 2)?);
    let millis = match frac {
        Some(f) if (1..=3).contains(&f.len()) => field(f, f.len())? * 10i64.pow(3 - f.len() as u32),
        Some(_) => return Err(bad()),
        None => 0,
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if year < 1970 || !(1..=days_in_month).contains(&day) || hour > 23 || minute > 59 || second > 59
    {
        return Err(bad());
    }
    // Days from 1970-01-01 to the date (proleptic Gregorian calendar).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::parse_datetime;

    #[test]
    fn datetimes_are_utc_milliseconds() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            parse_datetime("2026-12-03T10:00:00.5Z"),
            Ok(1_796_292_000_500)
        );
        assert_eq!(parse_datetime("2000-02-29 12:30:15"), Ok(951_827_415_000));
        assert_eq!(
            parse_datetime("2024-02-29T00:00:00Z"),
            Ok(1_709_164_800_000)
        );
        for bad in [
            "2026-13-01T00:00:00",
            "2026-02-29T00:00:00",
            "2026-04-31T00:00:00",
            "1969-12-31T23:59:59Z",
            "2026-01-01T-1:00:00",
            "2026-01-01T+1:00:00",
            "99999999999-01-01T00:00:00",
            "2026-01-01T00:00:00.1234",
            "yesterday",
        ] {
            assert!(parse_datetime(bad).is_err(), "{bad}");
        }
    }
}
