//! `kafkit topics`, `kafkit groups` and `kafkit metadata`, on the admin
//! client.

use clap::{Args, Subcommand};
use futures::executor::block_on;
use kafkit::{
    AdminClient, AlterConfigOp, ConfigResource, ConsumerGroupState, ErrorCode, GroupOffset,
    IsolationLevel, NewTopic, OffsetSpec, TopicPartition,
};

use crate::conn::Conn;
use crate::fail::{Fail, Outcome};
use crate::mockd;

/// `topics` commands.
#[derive(Subcommand, Debug)]
pub enum TopicsCmd {
    /// Topic names and partition counts.
    List {
        /// Also list internal topics (names starting with `__`).
        #[arg(long)]
        internal: bool,
    },
    /// Partitions (leader, replicas, in-sync replicas) and, with
    /// --configs, the settings that differ from the defaults.
    Describe {
        /// Topics to describe.
        #[arg(required = true)]
        topics: Vec<String>,
        /// Show the topic's non-default configuration too.
        #[arg(long)]
        configs: bool,
    },
    /// Creates a topic.
    Create {
        /// The topic's name.
        topic: String,
        /// Partitions (the broker's num.partitions by default).
        #[arg(short = 'p', long, default_value_t = -1, allow_negative_numbers = true)]
        partitions: i32,
        /// Replicas of each partition (the broker's default by default).
        #[arg(short = 'r', long = "replication-factor", default_value_t = -1, allow_negative_numbers = true)]
        replication_factor: i32,
        /// A topic setting, `name=value` (repeatable).
        #[arg(short = 'c', long = "config", value_name = "NAME=VALUE")]
        configs: Vec<String>,
    },
    /// Deletes topics.
    Delete {
        /// Topics to delete.
        #[arg(required = true)]
        topics: Vec<String>,
    },
    /// Changes a topic's settings.
    AlterConfig {
        /// The topic.
        topic: String,
        /// Set a setting, `name=value` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Return a setting to its default (repeatable).
        #[arg(long = "delete", value_name = "NAME")]
        delete: Vec<String>,
    },
}

/// `groups` commands.
#[derive(Subcommand, Debug)]
pub enum GroupsCmd {
    /// Consumer groups, with state and type.
    List,
    /// A group's state, coordinator, members and their partitions.
    Describe {
        /// Groups to describe.
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// Per partition: committed offset, end offset and lag.
    Lag {
        /// The group.
        group: String,
        /// Only these partitions: a topic, or `topic:0,1` (repeatable);
        /// by default every partition the group has committed offsets for.
        #[arg(short = 't', long = "topic")]
        topics: Vec<String>,
    },
    /// Deletes groups (they must have no members).
    Delete {
        /// Groups to delete.
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// Sets a group's committed offsets (the group must have no members).
    ResetOffsets(ResetArgs),
}

/// `groups reset-offsets` flags.
#[derive(Args, Debug)]
pub struct ResetArgs {
    /// The group.
    pub group: String,
    /// A topic, or `topic:0,1` for some of its partitions (repeatable).
    #[arg(short = 't', long = "topic", required_unless_present = "all_topics")]
    pub topics: Vec<String>,
    /// Every partition the group has committed offsets for.
    #[arg(long, conflicts_with = "topics")]
    pub all_topics: bool,
    /// To the first offset of each partition.
    #[arg(long, group = "target")]
    pub to_earliest: bool,
    /// To the end of each partition.
    #[arg(long, group = "target")]
    pub to_latest: bool,
    /// To this offset (kept within each partition's first and end offsets).
    #[arg(long, group = "target", value_name = "OFFSET")]
    pub to_offset: Option<i64>,
    /// To the first message at or after this time, in milliseconds since
    /// the epoch.
    #[arg(long, group = "target", value_name = "MS")]
    pub to_timestamp: Option<i64>,
    /// To the first message at or after this UTC time,
    /// `YYYY-MM-DDTHH:MM:SS[.mmm][Z]`.
    #[arg(long, group = "target", value_name = "TIME")]
    pub to_datetime: Option<String>,
    /// Show the new offsets without setting them.
    #[arg(long)]
    pub dry_run: bool,
}

/// `metadata` flags.
#[derive(Args, Debug)]
pub struct MetadataArgs {
    /// Only this topic.
    pub topic: Option<String>,
}

fn out(text: String) -> Outcome {
    crate::fail::print(text)
}

/// Fails at once for what librdkafka's mock cluster does not answer,
/// instead of waiting for a request timeout.
fn not_on_mock(conn: &Conn, what: &str) -> Outcome {
    if conn.mock.is_some() {
        return Err(Fail::kafka(format!(
            "the mock cluster does not support {what}; use a real broker (-b)"
        )));
    }
    Ok(())
}

/// Runs a `topics` command.
pub fn topics(conn: &Conn, cmd: &TopicsCmd) -> Outcome {
    match cmd {
        TopicsCmd::List { internal } => {
            let admin = conn.admin()?;
            let metadata = admin.metadata(None, conn.timeout)?;
            let mut topics: Vec<_> = metadata
                .topics
                .iter()
                .filter(|t| *internal || !t.name.starts_with("__"))
                .collect();
            topics.sort_by(|a, b| a.name.cmp(&b.name));
            let mut text = String::new();
            for t in topics {
                text += &format!("{}\t{} partitions\n", t.name, t.partitions.len());
            }
            out(text)
        }
        TopicsCmd::Describe { topics, configs } => {
            if *configs {
                not_on_mock(conn, "DescribeConfigs")?;
            }
            let admin = conn.admin()?;
            let mut text = String::new();
            let mut missing = Vec::new();
            for name in topics {
                let metadata = admin.metadata(Some(name), conn.timeout)?;
                let t = match metadata.topic(name) {
                    Some(t) if t.error.is_none() => t,
                    Some(t) if !is_unknown(t.error) => {
                        let code = t.error.map(|e| e.to_string()).unwrap_or_default();
                        missing.push(format!("{name}: {code}"));
                        continue;
                    }
                    _ => {
                        missing.push(format!("{name}: no such topic"));
                        continue;
                    }
                };
                text += &format!("topic {}: {} partitions\n", t.name, t.partitions.len());
                for p in &t.partitions {
                    text += &format!(
                        "  partition {}\tleader {}\treplicas {}\tisr {}{}\n",
                        p.id,
                        p.leader.map_or("none".to_string(), |l| l.to_string()),
                        ids(&p.replicas),
                        ids(&p.isr),
                        p.error.map_or(String::new(), |e| format!("\terror {e}")),
                    );
                }
                if *configs {
                    text += &topic_configs(conn, &admin, name)?;
                }
            }
            out(text)?;
            if missing.is_empty() {
                Ok(())
            } else {
                Err(Fail::kafka(missing.join("; ")))
            }
        }
        TopicsCmd::Create {
            topic,
            partitions,
            replication_factor,
            configs,
        } => {
            if let Some(session) = &conn.mock {
                if !configs.is_empty() {
                    return Err(Fail::kafka("the mock cluster takes no topic settings (-c)"));
                }
                let p = if *partitions < 0 { 4 } else { *partitions };
                let r = if *replication_factor < 0 {
                    1
                } else {
                    *replication_factor
                };
                mockd::check_topic(topic, p, r).map_err(Fail::usage)?;
                mockd::request(&session.dir, &format!("create-topic {topic} {p} {r}"))?;
                return out(format!("created topic {topic}\n"));
            }
            let mut new = NewTopic::new(topic, *partitions, *replication_factor);
            for c in configs {
                let (k, v) = pair(c, "-c")?;
                new = new.config(k, v);
            }
            let admin = conn.admin()?;
            let results = block_on(admin.create_topics(&[new], &conn.controller_options()))?;
            entity_results("created topic", results)
        }
        TopicsCmd::Delete { topics } => {
            not_on_mock(conn, "DeleteTopics")?;
            let admin = conn.admin()?;
            let names: Vec<&str> = topics.iter().map(String::as_str).collect();
            let results = block_on(admin.delete_topics(&names, &conn.controller_options()))?;
            entity_results("deleted topic", results)
        }
        TopicsCmd::AlterConfig { topic, set, delete } => {
            not_on_mock(conn, "IncrementalAlterConfigs")?;
            if set.is_empty() && delete.is_empty() {
                return Err(Fail::usage(
                    "alter-config needs --set NAME=VALUE or --delete NAME",
                ));
            }
            let mut entries = Vec::new();
            for s in set {
                let (k, v) = pair(s, "--set")?;
                entries.push((k, AlterConfigOp::Set(v.to_string())));
            }
            for d in delete {
                entries.push((d.as_str(), AlterConfigOp::Delete));
            }
            let admin = conn.admin()?;
            let changes = [(ConfigResource::topic(topic), entries)];
            let results =
                block_on(admin.incremental_alter_configs(&changes, &conn.admin_options()))?;
            for r in results {
                r.result
                    .map_err(|e| Fail::kafka(format!("topic {topic}: {e}")))?;
            }
            out(format!("altered topic {topic}\n"))
        }
    }
}

fn topic_configs(conn: &Conn, admin: &AdminClient, topic: &str) -> Outcome<String> {
    let results =
        block_on(admin.describe_configs(&[ConfigResource::topic(topic)], &conn.admin_options()))?;
    let mut text = String::from("  configs (not default):\n");
    for r in results {
        let mut entries = r
            .result
            .map_err(|e| Fail::kafka(format!("topic {topic}: {e}")))?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        for e in entries.iter().filter(|e| !e.default) {
            let value = if e.sensitive {
                "(sensitive)".to_string()
            } else {
                e.value.clone().unwrap_or_else(|| "(null)".into())
            };
            text += &format!("    {}={}\t({:?})\n", e.name, value, e.source);
        }
    }
    Ok(text)
}

fn ids(list: &[i32]) -> String {
    let v: Vec<String> = list.iter().map(|i| i.to_string()).collect();
    format!("[{}]", v.join(","))
}

fn pair<'a>(text: &'a str, flag: &str) -> Outcome<(&'a str, &'a str)> {
    text.split_once('=')
        .ok_or_else(|| Fail::usage(format!("{flag} {text}: expected name=value")))
}

/// Prints each entity's success; fails naming every entity that failed.
fn entity_results(done: &str, results: Vec<kafkit::EntityResult>) -> Outcome {
    let mut text = String::new();
    let mut failures = Vec::new();
    for r in results {
        match r.result {
            Ok(()) => text += &format!("{done} {}\n", r.name),
            Err(e) => failures.push(format!("{}: {e}", r.name)),
        }
    }
    out(text)?;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Fail::kafka(failures.join("; ")))
    }
}

/// Runs a `groups` command.
pub fn groups(conn: &Conn, cmd: &GroupsCmd) -> Outcome {
    let admin = conn.admin()?;
    let options = conn.admin_options();
    match cmd {
        GroupsCmd::List => {
            let listed = block_on(admin.list_consumer_groups(&[], &[], &options))?;
            let mut groups = listed.groups;
            groups.sort_by(|a, b| a.id.cmp(&b.id));
            let mut text = String::new();
            for g in &groups {
                text += &format!("{}\t{:?}\t{:?}\n", g.id, g.state, g.group_type);
            }
            out(text)?;
            match listed.errors.first() {
                Some(e) => Err(Fail::kafka(format!("listing groups: {e}"))),
                None => Ok(()),
            }
        }
        GroupsCmd::Describe { groups } => {
            let names: Vec<&str> = groups.iter().map(String::as_str).collect();
            let results = block_on(admin.describe_consumer_groups(&names, &options))?;
            let mut text = String::new();
            let mut failures = Vec::new();
            for r in results {
                let d = match r.result {
                    Ok(d) => d,
                    Err(e) => {
                        failures.push(format!("{}: {e}", r.name));
                        continue;
                    }
                };
                text += &format!(
                    "group {}: {:?}, {:?} protocol, assignor {:?}, coordinator {}\n",
                    d.id,
                    d.state,
                    d.group_type,
                    d.partition_assignor,
                    d.coordinator
                        .as_ref()
                        .map_or("unknown".to_string(), |n| format!(
                            "{} ({}:{})",
                            n.id, n.host, n.port
                        )),
                );
                for m in &d.members {
                    let parts: Vec<String> = m
                        .assignment
                        .iter()
                        .map(|tp| format!("{}:{}", tp.topic, tp.partition))
                        .collect();
                    text += &format!(
                        "  member {}\tclient {}\thost {}\tpartitions [{}]\n",
                        m.member_id,
                        m.client_id,
                        m.host,
                        parts.join(",")
                    );
                }
            }
            out(text)?;
            if failures.is_empty() {
                Ok(())
            } else {
                Err(Fail::kafka(failures.join("; ")))
            }
        }
        GroupsCmd::Lag { group, topics } => {
            let lag = if topics.is_empty() {
                // librdkafka's mock answers a request for all of a group's
                // offsets with none.
                if conn.mock.is_some() {
                    return Err(Fail::usage(
                        "on the mock cluster, name the partitions: groups lag GROUP -t TOPIC",
                    ));
                }
                block_on(admin.consumer_group_lag(group, &options))?
            } else {
                let partitions = named_partitions(conn, &admin, topics)?;
                block_on(admin.consumer_group_lag_for(group, &partitions, &options))?
            };
            let mut text = String::from("TOPIC\tPARTITION\tCOMMITTED\tEND\tLAG\n");
            let mut partitions = lag.partitions;
            partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
            for p in &partitions {
                text += &format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    p.topic,
                    p.partition,
                    p.committed.map_or("-".to_string(), |o| o.to_string()),
                    p.high_watermark,
                    p.lag.map_or("-".to_string(), |l| l.to_string()),
                );
            }
            text += &format!("total lag {}\n", lag.total);
            out(text)?;
            match lag.errors.first() {
                Some((tp, e)) => Err(Fail::kafka(format!("{}:{}: {e}", tp.topic, tp.partition))),
                None => Ok(()),
            }
        }
        GroupsCmd::Delete { groups } => {
            // librdkafka 2.12.1 aborts the process when a broker without
            // DeleteGroups refuses it, which the mock cluster does.
            not_on_mock(conn, "DeleteGroups")?;
            let names: Vec<&str> = groups.iter().map(String::as_str).collect();
            let results = block_on(admin.delete_consumer_groups(&names, &options))?;
            entity_results("deleted group", results)
        }
        GroupsCmd::ResetOffsets(args) => reset_offsets(conn, &admin, args),
    }
}

fn reset_offsets(conn: &Conn, admin: &AdminClient, args: &ResetArgs) -> Outcome {
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

/// The partitions `topic` / `topic:0,1` specs name, each checked against
/// the topic's metadata.
fn named_partitions(
    conn: &Conn,
    admin: &AdminClient,
    specs: &[String],
) -> Outcome<Vec<TopicPartition>> {
    let mut list = Vec::new();
    for spec in specs {
        let (topic, chosen) = match spec.split_once(':') {
            Some((t, ps)) => {
                let parsed: Result<Vec<i32>, _> =
                    ps.split(',').map(|p| p.trim().parse::<i32>()).collect();
                let parsed = parsed.map_err(|_| {
                    Fail::usage(format!("--topic {spec}: expected topic or topic:0,1,..."))
                })?;
                (t, Some(parsed))
            }
            None => (spec.as_str(), None),
        };
        let metadata = admin.metadata(Some(topic), conn.timeout)?;
        let Some(t) = metadata
            .topic(topic)
            .filter(|t| t.error.is_none() && !t.partitions.is_empty())
        else {
            return Err(Fail::kafka(format!("topic {topic} does not exist")));
        };
        let all: Vec<i32> = t.partitions.iter().map(|p| p.id).collect();
        for p in chosen.unwrap_or_else(|| all.clone()) {
            if !all.contains(&p) {
                return Err(Fail::kafka(format!("topic {topic} has no partition {p}")));
            }
            list.push(TopicPartition::new(topic, p));
        }
    }
    // A partition named twice would make the requests fail.
    list.sort();
    list.dedup();
    Ok(list)
}

fn is_unknown(error: Option<ErrorCode>) -> bool {
    matches!(
        error,
        Some(ErrorCode::UnknownTopicOrPart | ErrorCode::UnknownTopic)
    )
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

/// Runs `metadata`.
pub fn metadata(conn: &Conn, args: &MetadataArgs) -> Outcome {
    let admin = conn.admin()?;
    let metadata = admin.metadata(args.topic.as_deref(), conn.timeout)?;
    let mut text = format!(
        "cluster {}\ncontroller {}\nbrokers ({}):\n",
        metadata.cluster_id.as_deref().unwrap_or("(unknown id)"),
        metadata
            .controller_id
            .map_or("unknown".to_string(), |c| c.to_string()),
        metadata.brokers.len()
    );
    let mut brokers = metadata.brokers.clone();
    brokers.sort_by_key(|b| b.id);
    for b in &brokers {
        text += &format!("  broker {} at {}:{}\n", b.id, b.host, b.port);
    }
    let mut topics: Vec<_> = metadata.topics.iter().collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    text += &format!("topics ({}):\n", topics.len());
    let mut missing = None;
    for t in topics {
        if let Some(e) = t.error {
            text += &format!("  topic {}: error {e}\n", t.name);
            missing = Some(format!("topic {}: {e}", t.name));
            continue;
        }
        text += &format!("  topic {}: {} partitions\n", t.name, t.partitions.len());
        for p in &t.partitions {
            text += &format!(
                "    partition {}\tleader {}\treplicas {}\tisr {}\n",
                p.id,
                p.leader.map_or("none".to_string(), |l| l.to_string()),
                ids(&p.replicas),
                ids(&p.isr)
            );
        }
    }
    out(text)?;
    match missing {
        Some(m) if args.topic.is_some() => Err(Fail::kafka(m)),
        _ => Ok(()),
    }
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
