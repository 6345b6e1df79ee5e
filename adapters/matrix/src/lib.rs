//! Hearth on Matrix, through matrix-sdk. Filled in by the Matrix adapter work;
//! until then the `hearth` binary refuses a `[matrix]` config section.
