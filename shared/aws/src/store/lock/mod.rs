//! Locks on (database, environment), their per-PR index, what each PR applied (for promotion
//! order) and the locks' audit trail.
//!
//! | item            | pk                          | sk                            |
//! |-----------------|-----------------------------|-------------------------------|
//! | lock            | `LOCK#<database>#<env>`     | `LOCK`                        |
//! | PR's lock index | `PRLOCKS#<repo>#<pr>`       | `LOCK#<database>#<env>`       |
//! | applied schema  | `PRAPPLIED#<repo>#<pr>`     | `APPLIED#<database>#<env>`    |
//! | lock event      | `LOCKEVENTS#<database>#<env>` | `EVENT#<time>#<seq>`        |
//! | force unlock    | `FORCEUNLOCK#<job id>`      | `FORCEUNLOCK`                 |
//!
//! A `confirming`/`applying` lock also sits in the `active` index under `LOCKSETTLE`, keyed by
//! when its lease ends, until its apply is tracked: the sweep finds and settles the ones whose
//! confirm died.
//!
//! Every change of a lock is one conditional write (or a transaction whose first action is
//! one), so two PRs can never both hold a lock and a confirm can only act on the plan it read.

mod force;
mod history;
mod items;
mod lifecycle;
mod settle;

pub use force::ForceRelease;
pub use lifecycle::Released;
pub use settle::LockToSettle;
