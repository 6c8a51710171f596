//! (filled in by the parser work)
