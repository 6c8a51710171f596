//! GitHub REST stand-in (filled in by the GitHub work).
