pub(crate) mod realistic;
