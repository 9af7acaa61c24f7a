//! placeholder
#![allow(missing_docs)]
mod algo;
mod cache;
mod caps;
mod error;
mod legacy;
mod model;
pub mod xep0115;
pub mod xep0390;
mod write;
pub use algo::*;
pub use cache::*;
pub use caps::*;
pub use error::*;
pub use legacy::*;
pub use model::*;
