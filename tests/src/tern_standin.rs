//! Tern gRPC stand-in (filled in by the Tern work).
