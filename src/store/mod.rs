//! Where source bytes come from and variants go to.

pub mod local;
