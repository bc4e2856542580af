//! SCRAM credentials of users, and changing a client's SASL credentials.

use super::{AdminClient, AdminFuture, AdminOptions, EntityResult};
use crate::native::{AdminOp, ScramChange};
use crate::{Consumer, Error, Producer};

/// A SCRAM mechanism.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramMechanism {
    /// SCRAM-SHA-256.
    Sha256,
    /// SCRAM-SHA-512.
    Sha512,
    /// A mechanism this version of kafkit does not know (librdkafka's code).
    Unknown(i32),
}

impl ScramMechanism {
    fn raw(self) -> i32 {
        match self {
            ScramMechanism::Sha256 => 1,
            ScramMechanism::Sha512 => 2,
            ScramMechanism::Unknown(n) => n,
        }
    }

    fn from_raw(n: i32) -> Self {
        match n {
            1 => ScramMechanism::Sha256,
            2 => ScramMechanism::Sha512,
            n => ScramMechanism::Unknown(n),
        }
    }
}

/// One SCRAM credential of a user: its mechanism and iteration count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScramCredentialInfo {
    /// The mechanism.
    pub mechanism: ScramMechanism,
    /// The iteration count of the salted password.
    pub iterations: i32,
}

/// A change to a user's SCRAM credential.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ScramCredentialAlteration {
    /// Creates or replaces the user's credential for `mechanism`. librdkafka
    /// computes the salted password from `password` and `salt` (random
    /// when None).
    Upsert {
        /// The user.
        user: String,
        /// The mechanism.
        mechanism: ScramMechanism,
        /// The iteration count (at least 4096 for Kafka).
        iterations: i32,
        /// The password.
        password: Vec<u8>,
        /// The salt; None: a random one.
        salt: Option<Vec<u8>>,
    },
    /// Deletes the user's credential for `mechanism`.
    Delete {
        /// The user.
        user: String,
        /// The mechanism.
        mechanism: ScramMechanism,
    },
}

impl ScramCredentialAlteration {
    /// An upsert with a random salt.
    pub fn upsert(user: &str, mechanism: ScramMechanism, iterations: i32, password: &str) -> Self {
        ScramCredentialAlteration::Upsert {
            user: user.into(),
            mechanism,
            iterations,
            password: password.as_bytes().to_vec(),
            salt: None,
        }
    }

    /// A deletion.
    pub fn delete(user: &str, mechanism: ScramMechanism) -> Self {
        ScramCredentialAlteration::Delete {
            user: user.into(),
            mechanism,
        }
    }
}

impl AdminClient {
    /// Describes the SCRAM credentials of `users` (every user with one
    /// when empty): per user, its mechanisms and iteration counts, or its
    /// error (an unknown user is
    /// [`ResourceNotFound`](crate::ErrorCode::ResourceNotFound)).
    pub fn describe_user_scram_credentials(
        &self,
        users: &[&str],
        options: &AdminOptions,
    ) -> AdminFuture<Vec<EntityResult<Vec<ScramCredentialInfo>>>> {
        let users: Vec<String> = users.iter().map(|u| u.to_string()).collect();
        self.request(
            AdminOp::DescribeUserScramCredentials,
            "describe user SCRAM credentials",
            options,
            move |native, opts, queue| native.describe_user_scram_credentials(&users, opts, queue),
            |event| {
                let out = event
                    .describe_scram_result()
                    .map_err(|e| Error::kafka("describe user SCRAM credentials", e))?;
                Ok(out
                    .into_iter()
                    .map(|(name, res)| EntityResult {
                        name,
                        result: res
                            .map(|infos| {
                                infos
                                    .into_iter()
                                    .map(|(m, iterations)| ScramCredentialInfo {
                                        mechanism: ScramMechanism::from_raw(m),
                                        iterations,
                                    })
                                    .collect()
                            })
                            .map_err(|e| Error::kafka("describe user SCRAM credentials", e)),
                    })
                    .collect())
            },
        )
    }

    /// Creates, replaces or deletes users' SCRAM credentials; one result
    /// per user.
    pub fn alter_user_scram_credentials(
        &self,
        alterations: &[ScramCredentialAlteration],
        options: &AdminOptions,
    ) -> AdminFuture<Vec<EntityResult>> {
        let changes: Vec<ScramChange> = alterations
            .iter()
            .map(|a| match a {
                ScramCredentialAlteration::Upsert {
                    user,
                    mechanism,
                    iterations,
                    password,
                    salt,
                } => ScramChange::Upsert {
                    user: user.clone(),
                    mechanism: mechanism.raw(),
                    iterations: *iterations,
                    password: password.clone(),
                    salt: salt.clone(),
                },
                ScramCredentialAlteration::Delete { user, mechanism } => ScramChange::Delete {
                    user: user.clone(),
                    mechanism: mechanism.raw(),
                },
            })
            .collect();
        self.request(
            AdminOp::AlterUserScramCredentials,
            "alter user SCRAM credentials",
            options,
            move |native, opts, queue| native.alter_user_scram_credentials(&changes, opts, queue),
            |event| {
                let out = event
                    .alter_scram_result()
                    .map_err(|e| Error::kafka("alter user SCRAM credentials", e))?;
                Ok(out
                    .into_iter()
                    .map(|(name, err)| EntityResult {
                        name,
                        result: err.map_or(Ok(()), |e| {
                            Err(Error::kafka("alter user SCRAM credentials", e))
                        }),
                    })
                    .collect())
            },
        )
    }

    /// Changes the SASL username and password this client authenticates
    /// with (PLAIN and SCRAM); they apply from its next authentication, such
    /// as a reconnection (`rd_kafka_sasl_set_credentials`).
    pub fn set_sasl_credentials(&self, username: &str, password: &str) -> Result<(), Error> {
        self.inner
            .native()
            .sasl_set_credentials(username, password)
            .map_err(|e| Error::kafka("set SASL credentials", e))
    }
}

impl Producer {
    /// Changes the SASL username and password this producer authenticates
    /// with (PLAIN and SCRAM); they apply from its next authentication, such
    /// as a reconnection (`rd_kafka_sasl_set_credentials`).
    pub fn set_sasl_credentials(&self, username: &str, password: &str) -> Result<(), Error> {
        self.native_client()
            .sasl_set_credentials(username, password)
            .map_err(|e| Error::kafka("set SASL credentials", e))
    }
}

impl Consumer {
    /// Changes the SASL username and password this consumer authenticates
    /// with (PLAIN and SCRAM); they apply from its next authentication, such
    /// as a reconnection (`rd_kafka_sasl_set_credentials`).
    pub fn set_sasl_credentials(&self, username: &str, password: &str) -> Result<(), Error> {
        self.native_client()
            .sasl_set_credentials(username, password)
            .map_err(|e| Error::kafka("set SASL credentials", e))
    }
}
