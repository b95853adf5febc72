//! The scim dialect. Its resources arrive with their own issues; its error shape is here.
pub mod error;
