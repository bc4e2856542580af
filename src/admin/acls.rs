//! Creating, describing and deleting ACL bindings.

use super::{AdminClient, AdminFuture, AdminOptions, ResourceType};
use crate::native::{AclSpec, AdminOp};
use crate::Error;

macro_rules! c_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $v:ident = $n:expr,)* }) => {
        $(#[$doc])*
        #[non_exhaustive]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $v,)*
            /// A value this version of kafkit does not know (librdkafka's code).
            Unknown(i32),
        }

        impl $name {
            pub(crate) fn raw(self) -> i32 {
                match self {
                    $($name::$v => $n,)*
                    $name::Unknown(n) => n,
                }
            }

            pub(crate) fn from_raw(n: i32) -> Self {
                match n {
                    $($n => $name::$v,)*
                    n => $name::Unknown(n),
                }
            }
        }
    };
}

c_enum!(
    /// How an ACL's resource name is matched.
    PatternType {
        /// Any pattern type (filters only).
        Any = 1,
        /// Literal, prefixed or wildcard bindings that match the name
        /// (filters only).
        Match = 2,
        /// The name exactly (or `*`, every resource).
        Literal = 3,
        /// Names that start with the name.
        Prefixed = 4,
    }
);

c_enum!(
    /// The operation an ACL allows or denies.
    AclOperation {
        /// Any operation (filters only).
        Any = 1,
        /// Every operation.
        All = 2,
        /// Read (fetch, offsets).
        Read = 3,
        /// Write (produce).
        Write = 4,
        /// Create.
        Create = 5,
        /// Delete.
        Delete = 6,
        /// Alter.
        Alter = 7,
        /// Describe (metadata).
        Describe = 8,
        /// Inter-broker actions.
        ClusterAction = 9,
        /// Describe configs.
        DescribeConfigs = 10,
        /// Alter configs.
        AlterConfigs = 11,
        /// Idempotent produce.
        IdempotentWrite = 12,
    }
);

c_enum!(
    /// Whether an ACL allows or denies.
    AclPermissionType {
        /// Either (filters only).
        Any = 1,
        /// Denies the operation.
        Deny = 2,
        /// Allows the operation.
        Allow = 3,
    }
);

/// An ACL: who (principal, host) may or may not do what (operation) on
/// which resources.
///
/// ```
/// use kafkit::{AclBinding, AclOperation, AclPermissionType, PatternType, ResourceType};
/// let acl = AclBinding {
///     resource_type: ResourceType::Topic,
///     name: "events".into(),
///     pattern_type: PatternType::Literal,
///     principal: "User:alice".into(),
///     host: "*".into(),
///     operation: AclOperation::Write,
///     permission_type: AclPermissionType::Allow,
/// };
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AclBinding {
    /// The kind of resource.
    pub resource_type: ResourceType,
    /// The resource's name (`*`: every resource of the type).
    pub name: String,
    /// How `name` matches.
    pub pattern_type: PatternType,
    /// Who, as `User:name`.
    pub principal: String,
    /// From where (`*`: any host).
    pub host: String,
    /// What.
    pub operation: AclOperation,
    /// Allowed or denied.
    pub permission_type: AclPermissionType,
}

/// A filter that selects ACL bindings; `None` matches anything. Use the
/// `Any` variants for the enums.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AclBindingFilter {
    /// The kind of resource.
    pub resource_type: ResourceType,
    /// The resource's name.
    pub name: Option<String>,
    /// How the name matches.
    pub pattern_type: PatternType,
    /// Who.
    pub principal: Option<String>,
    /// From where.
    pub host: Option<String>,
    /// What.
    pub operation: AclOperation,
    /// Allowed or denied.
    pub permission_type: AclPermissionType,
}

impl AclBindingFilter {
    /// A filter matching every binding.
    pub fn any() -> Self {
        AclBindingFilter {
            resource_type: ResourceType::Any,
            name: None,
            pattern_type: PatternType::Any,
            principal: None,
            host: None,
            operation: AclOperation::Any,
            permission_type: AclPermissionType::Any,
        }
    }
}

impl From<&AclBinding> for AclBindingFilter {
    fn from(b: &AclBinding) -> Self {
        AclBindingFilter {
            resource_type: b.resource_type,
            name: Some(b.name.clone()),
            pattern_type: b.pattern_type,
            principal: Some(b.principal.clone()),
            host: Some(b.host.clone()),
            operation: b.operation,
            permission_type: b.permission_type,
        }
    }
}

fn spec_of_filter(f: &AclBindingFilter) -> AclSpec {
    AclSpec {
        restype: f.resource_type.raw(),
        name: f.name.clone(),
        pattern: f.pattern_type.raw(),
        principal: f.principal.clone(),
        host: f.host.clone(),
        operation: f.operation.raw(),
        permission: f.permission_type.raw(),
    }
}

fn binding_of(s: AclSpec) -> AclBinding {
    AclBinding {
        resource_type: ResourceType::from_raw(s.restype),
        name: s.name.unwrap_or_default(),
        pattern_type: PatternType::from_raw(s.pattern),
        principal: s.principal.unwrap_or_default(),
        host: s.host.unwrap_or_default(),
        operation: AclOperation::from_raw(s.operation),
        permission_type: AclPermissionType::from_raw(s.permission),
    }
}

impl AdminClient {
    /// Creates ACL bindings. The result has one entry per binding, in the
    /// order given: one binding's failure does not hide the others'
    /// success.
    pub fn create_acls(
        &self,
        acls: &[AclBinding],
        options: &AdminOptions,
    ) -> AdminFuture<Vec<Result<(), Error>>> {
        let specs: Vec<AclSpec> = acls
            .iter()
            .map(|a| spec_of_filter(&AclBindingFilter::from(a)))
            .collect();
        self.request(
            AdminOp::CreateAcls,
            "create ACLs",
            options,
            move |native, opts, queue| native.create_acls(&specs, opts, queue),
            |event| {
                let out = event
                    .create_acls_result()
                    .map_err(|e| Error::kafka("create ACLs", e))?;
                Ok(out
                    .into_iter()
                    .map(|err| err.map_or(Ok(()), |e| Err(Error::kafka("create ACL", e))))
                    .collect())
            },
        )
    }

    /// The ACL bindings that match `filter`.
    pub fn describe_acls(
        &self,
        filter: &AclBindingFilter,
        options: &AdminOptions,
    ) -> AdminFuture<Vec<AclBinding>> {
        let spec = spec_of_filter(filter);
        self.request(
            AdminOp::DescribeAcls,
            "describe ACLs",
            options,
            move |native, opts, queue| native.describe_acls(&spec, opts, queue),
            |event| {
                event
                    .describe_acls_result()
                    .map(|list| list.into_iter().map(binding_of).collect())
                    .map_err(|e| Error::kafka("describe ACLs", e))
            },
        )
    }

    /// Deletes the ACL bindings that match each filter. The result has one
    /// entry per filter, in the order given: the bindings it deleted, or
    /// its error.
    pub fn delete_acls(
        &self,
        filters: &[AclBindingFilter],
        options: &AdminOptions,
    ) -> AdminFuture<Vec<Result<Vec<AclBinding>, Error>>> {
        let specs: Vec<AclSpec> = filters.iter().map(spec_of_filter).collect();
        self.request(
            AdminOp::DeleteAcls,
            "delete ACLs",
            options,
            move |native, opts, queue| native.delete_acls(&specs, opts, queue),
            |event| {
                let out = event
                    .delete_acls_result()
                    .map_err(|e| Error::kafka("delete ACLs", e))?;
                Ok(out
                    .into_iter()
                    .map(|res| {
                        res.map(|list| list.into_iter().map(binding_of).collect())
                            .map_err(|e| Error::kafka("delete ACLs", e))
                    })
                    .collect())
            },
        )
    }
}
