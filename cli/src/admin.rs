//! `kafkit topics`, `kafkit groups` and `kafkit metadata`, on the admin
//! client.

use clap::{Args, Subcommand};
use futures::executor::block_on;
use kafkit::{AdminClient, AlterConfigOp, ConfigResource, ErrorCode, NewTopic, TopicPartition};

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

pub(crate) fn out(text: String) -> Outcome {
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
        GroupsCmd::ResetOffsets(args) => crate::reset::reset_offsets(conn, &admin, args),
    }
}

/// The partitions `topic` / `topic:0,1` specs name, each checked against
/// the topic's metadata.
pub(crate) fn named_partitions(
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
