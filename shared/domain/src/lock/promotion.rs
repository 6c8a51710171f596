//! Promotion order: which environments must have applied the same schema first, and the
//! schema digest that says "the same schema".

use crate::ids::Environment;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The environments that must have applied this schema before `target`, in promotion order
/// (`staging,production` → production needs staging). Empty when `target` is not ordered.
pub fn prerequisites<'a>(order: &'a [Environment], target: &Environment) -> &'a [Environment] {
    match order.iter().position(|e| e == target) {
        Some(index) => &order[..index],
        None => &[],
    }
}

/// The first environment of `order` before `target` that has not applied the schema with
/// `digest`, given what was applied (environment → digest).
pub fn unmet_prerequisite(
    order: &[Environment],
    target: &Environment,
    digest: &str,
    applied: &BTreeMap<Environment, String>,
) -> Option<Environment> {
    prerequisites(order, target)
        .iter()
        .find(|env| applied.get(*env).map(String::as_str) != Some(digest))
        .cloned()
}

/// A stable digest of a schema directory's files: what "the same schema change" means when
/// production asks whether staging applied it.
pub fn schema_digest(files: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (name, content) in files {
        // Lengths first, so no two different file sets hash the same byte stream.
        hasher.update((name.len() as u64).to_be_bytes());
        hasher.update(name.as_bytes());
        hasher.update((content.len() as u64).to_be_bytes());
        hasher.update(content.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Environment {
        Environment::parse(name).unwrap()
    }

    #[test]
    fn production_waits_for_staging_to_apply_the_same_schema() {
        let order = vec![env("staging"), env("production")];
        let digest = "d1";
        let mut applied = BTreeMap::new();
        assert_eq!(
            unmet_prerequisite(&order, &env("staging"), digest, &applied),
            None
        );
        assert_eq!(
            unmet_prerequisite(&order, &env("production"), digest, &applied),
            Some(env("staging"))
        );
        applied.insert(env("staging"), "older".to_string());
        assert_eq!(
            unmet_prerequisite(&order, &env("production"), digest, &applied),
            Some(env("staging")),
            "staging applied a different schema"
        );
        applied.insert(env("staging"), digest.to_string());
        assert_eq!(
            unmet_prerequisite(&order, &env("production"), digest, &applied),
            None
        );
        assert_eq!(
            unmet_prerequisite(&[], &env("production"), digest, &BTreeMap::new()),
            None,
            "no order configured"
        );
        assert_eq!(
            unmet_prerequisite(&order, &env("sandbox"), digest, &BTreeMap::new()),
            None,
            "an environment outside the order"
        );
    }

    #[test]
    fn the_schema_digest_depends_on_every_name_and_byte() {
        let a = BTreeMap::from([("a.sql".to_string(), "x".to_string())]);
        let b = BTreeMap::from([("a.sq".to_string(), "lx".to_string())]);
        let c = BTreeMap::from([("a.sql".to_string(), "y".to_string())]);
        assert_ne!(schema_digest(&a), schema_digest(&b));
        assert_ne!(schema_digest(&a), schema_digest(&c));
        assert_eq!(schema_digest(&a), schema_digest(&a.clone()));
        assert_eq!(schema_digest(&a).len(), 64);
    }
}
