//! Where source bytes come from and variants go to.

pub mod local;
pub mod object;
pub mod s3;
