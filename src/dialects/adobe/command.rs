//! The model of a `POST /action/{orgId}` request: command entries (one user or one user
//! group each), their steps in Adobe's terms, and a step's error. `parse.rs` builds them from
//! the JSON body, `action.rs` runs them.

pub const MAX_ENTRIES: usize = 10;
pub const MAX_NAMES: usize = 10;
pub const MAX_EMAIL: usize = 60;
pub const MAX_NAME: usize = 250;
pub const MAX_USERNAME: usize = 255;
pub const MAX_GROUP_NAME: usize = 255;
pub const MAX_DESCRIPTION: usize = 255;
/// Groups no action may give or take.
pub const RESERVED_GROUPS: [&str; 3] = ["_org_admin", "_compartment_admin", "_compartment_viewer"];

/// A step that failed (or would not be attempted), as an entry of the response's `errors`.
#[derive(Debug, Clone)]
pub struct StepError {
    pub step: usize,
    pub code: &'static str,
    pub message: String,
}

pub fn fail(step: usize, code: &'static str, message: impl Into<String>) -> StepError {
    StepError {
        step,
        code,
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    Error,
    Ignore,
    Update,
}

#[derive(Debug, Clone)]
pub enum Groups {
    Named(Vec<String>),
    All,
}

#[derive(Debug, Clone)]
pub enum UserStep {
    Create {
        id_type: &'static str,
        email: String,
        firstname: Option<String>,
        lastname: Option<String>,
        country: Option<String>,
        option: OnConflict,
    },
    Update {
        email: Option<String>,
        firstname: Option<String>,
        lastname: Option<String>,
        username: Option<String>,
    },
    Remove(Groups),
    Add(Vec<String>),
    RemoveFromOrg,
}

impl UserStep {
    /// Adobe's execution order within an entry.
    pub fn rank(&self) -> u8 {
        match self {
            UserStep::Create { .. } => 0,
            UserStep::Update { .. } => 1,
            UserStep::Remove(_) => 2,
            UserStep::Add(_) => 3,
            UserStep::RemoveFromOrg => 4,
        }
    }
}

#[derive(Debug, Clone)]
pub enum GroupStep {
    Create {
        name: Option<String>,
        description: Option<String>,
        option: OnConflict,
    },
    Update {
        name: Option<String>,
        description: Option<String>,
    },
    Remove {
        users: Vec<String>,
        profiles: Vec<String>,
    },
    Add {
        users: Vec<String>,
        profiles: Vec<String>,
    },
    Delete,
}

impl GroupStep {
    pub fn rank(&self) -> u8 {
        match self {
            GroupStep::Create { .. } => 0,
            GroupStep::Update { .. } => 1,
            GroupStep::Remove { .. } => 2,
            GroupStep::Add { .. } => 3,
            GroupStep::Delete => 4,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Target {
    User {
        key: String,
        domain: Option<String>,
        steps: Vec<(usize, UserStep)>,
    },
    Group {
        name: String,
        steps: Vec<(usize, GroupStep)>,
    },
}

/// One command entry: what it is about, its `requestID`, and its steps or why it cannot run.
#[derive(Debug, Clone)]
pub struct Entry {
    pub request_id: Option<String>,
    /// The frame's `user` or `usergroup`, echoed in errors.
    pub subject: Option<(&'static str, String)>,
    pub parsed: Result<Target, Vec<StepError>>,
}
