//! One module per wire dialect. Each holds its request/response types (serde names exactly as
//! the vendor spells them), its error shape, and handlers that translate to and from domain
//! types and call store functions. A dialect never talks to another dialect.

pub mod admin;
pub mod adobe;
pub mod domo;
pub mod logto;
pub mod oauth;
pub mod scim;
pub mod sumo;
