//! Webhooks (Logto's `/api/hooks`): their configuration and their delivery logs, as the
//! store keeps them. The deliveries themselves are the event deliverer's (`events/`).

/// A webhook and a line of its delivery log; epoch milliseconds now (a hook's times).
pub use crate::store::events::{now_ms, Hook, HookLog};

pub use crate::store::events::{
    delete_hook as delete, hook as get, hook_stats as stats, hooks as list, insert_hook as insert,
    logs, set_signing_key, update_hook as update,
};
