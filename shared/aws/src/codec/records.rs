//! Tracked-comment records and audit events.

use super::item::{n, s, state, time, DecodeError, Item, ItemReader, ItemWriter};
use super::{attr, item_type};
use crate::keys;
use aws_sdk_dynamodb::types::AttributeValue;
use schemabot_domain::apply::{AuditEvent, CommentKind, CommentRecord};
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::{ApplyId, CommentId};

pub fn encode_comment(record: &CommentRecord) -> Item {
    ItemWriter::default()
        .put(attr::PK, s(keys::apply_pk(&record.apply_id)))
        .put(attr::SK, s(keys::comment_sk(record.kind)))
        .put(attr::ITEM_TYPE, s(item_type::COMMENT))
        .put(attr::APPLY_ID, s(record.apply_id.as_str()))
        .put(attr::KIND, s(record.kind.as_str()))
        .put(attr::COMMENT_ID, n(record.comment_id.0))
        .put(attr::BODY_HASH, s(&record.body_hash))
        .put(attr::EDIT_COUNT, n(record.edit_count))
        .put_opt(attr::LAST_EDITED_AT, record.last_edited_at.map(time))
        .put(attr::FINALIZED, AttributeValue::Bool(record.finalized))
        .finish()
}

pub fn decode_comment(item: &Item) -> Result<CommentRecord, DecodeError> {
    let r = ItemReader::new(item, "comment record");
    let kind_raw = r.string(attr::KIND)?;
    let kind = CommentKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == kind_raw)
        .ok_or_else(|| r.invalid(attr::KIND, kind_raw, "unknown comment kind"))?;
    Ok(CommentRecord {
        apply_id: r.parsed(attr::APPLY_ID, ApplyId::parse)?,
        kind,
        comment_id: CommentId(r.u64(attr::COMMENT_ID)?),
        body_hash: r.string(attr::BODY_HASH)?.to_string(),
        edit_count: r.u64(attr::EDIT_COUNT)?,
        last_edited_at: r.opt_time(attr::LAST_EDITED_AT)?,
        finalized: r.bool(attr::FINALIZED)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Audit event

/// The event item; its sort key is generated (see [`keys::event_sk`]).
pub fn encode_event(event: &AuditEvent) -> Item {
    ItemWriter::default()
        .put(attr::PK, s(keys::events_pk(&event.apply_id)))
        .put(attr::SK, s(keys::event_sk(event.at)))
        .put(attr::ITEM_TYPE, s(item_type::EVENT))
        .put(attr::APPLY_ID, s(event.apply_id.as_str()))
        .put(attr::AT, time(event.at))
        .put(attr::EVENT, s(event.event.as_str()))
        .put(attr::ACTOR, s(&event.actor))
        .put_opt(attr::DELIVERY_ID, event.delivery_id.as_deref().map(s))
        .put_opt(attr::FROM_STATE, event.from_state.map(state))
        .put_opt(attr::TO_STATE, event.to_state.map(state))
        .put(attr::OUTCOME, s(event.outcome.as_str()))
        .put_opt(attr::MESSAGE, event.message.as_deref().map(s))
        .finish()
}

pub fn decode_event(item: &Item) -> Result<AuditEvent, DecodeError> {
    let r = ItemReader::new(item, "audit event");
    Ok(AuditEvent {
        apply_id: r.parsed(attr::APPLY_ID, ApplyId::parse)?,
        at: r.time(attr::AT)?,
        event: EventKind::parse(r.string(attr::EVENT)?),
        actor: r.string(attr::ACTOR)?.to_string(),
        delivery_id: r.opt_string(attr::DELIVERY_ID)?.map(str::to_string),
        from_state: r.opt_state(attr::FROM_STATE)?,
        to_state: r.opt_state(attr::TO_STATE)?,
        outcome: Outcome::parse(r.string(attr::OUTCOME)?),
        message: r.opt_string(attr::MESSAGE)?.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use schemabot_domain::State;

    fn at(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn comment_and_event_round_trip() {
        let apply_id = ApplyId::parse("apply-01").unwrap();
        let comment = CommentRecord {
            apply_id: apply_id.clone(),
            kind: CommentKind::Progress,
            comment_id: CommentId(123),
            body_hash: "abc".into(),
            edit_count: 2,
            last_edited_at: Some(at("2024-05-01T10:00:00Z")),
            finalized: false,
        };
        let item = encode_comment(&comment);
        assert_eq!(item[attr::SK], s("COMMENT#progress"));
        assert_eq!(decode_comment(&item).unwrap(), comment);

        let event = AuditEvent {
            apply_id,
            at: at("2024-05-01T10:00:00Z"),
            event: EventKind::StateTransition,
            actor: "worker".into(),
            delivery_id: Some("d-1".into()),
            from_state: Some(State::Running),
            to_state: Some(State::WaitingForCutover),
            outcome: Outcome::EngineReported,
            message: None,
        };
        let item = encode_event(&event);
        assert_eq!(item[attr::EVENT], s("state_transition"));
        assert_eq!(item[attr::OUTCOME], s("engine_reported"));
        assert_eq!(decode_event(&item).unwrap(), event);

        // Text another version wrote reads back, and is written back, unchanged.
        let later = AuditEvent {
            event: EventKind::parse("a_later_event"),
            outcome: Outcome::parse("a_later_outcome"),
            ..event
        };
        let item = encode_event(&later);
        assert_eq!(item[attr::OUTCOME], s("a_later_outcome"));
        assert_eq!(decode_event(&item).unwrap(), later);
    }
}
