//! Element Call's presence: one `org.matrix.msc3401.call.member` state event
//! per user and device, keyed `_@user:server_DEVICE_m.call` (older clients:
//! `@user:server_DEVICE` or the user id itself). Content `{}`, or a
//! membership past its expiry, means that device left. Synapse does not check
//! that a key names its sender, so a membership counts only when the user in
//! its key is the one who sent it.

use serde_json::Value;

/// The state event type of a call membership.
pub const CALL_MEMBER: &str = "org.matrix.msc3401.call.member";
/// Element Call's default lifetime of a membership: four hours.
const DEFAULT_EXPIRES_MS: i64 = 4 * 60 * 60 * 1000;

/// Whether `key` names `sender`: only then is the membership theirs to claim.
pub fn key_names_sender(key: &str, sender: &str) -> bool {
    let key = key.strip_prefix('_').unwrap_or(key);
    key == sender || key.strip_prefix(sender).is_some_and(|rest| rest.starts_with('_'))
}

/// When one membership event's device leaves the call by itself (unix ms),
/// if it is still in at `now_ms`: the latest end of its live memberships.
fn end(event: &Value, now_ms: i64) -> Option<i64> {
    let content = &event["content"];
    let fields = content.as_object()?;
    if fields.is_empty() {
        return None;
    }
    let sent = event["origin_server_ts"].as_i64().unwrap_or(now_ms);
    let ends = |m: &Value| {
        let from = m["created_ts"].as_i64().unwrap_or(sent);
        let expires = m["expires"].as_i64().unwrap_or(DEFAULT_EXPIRES_MS);
        Some(from.saturating_add(expires)).filter(|end| *end > now_ms)
    };
    match fields.get("memberships").and_then(Value::as_array) {
        // The legacy shape: a list of memberships in one event per user.
        Some(list) => list.iter().filter_map(ends).max(),
        None => fields.get("device_id").and_then(|_| ends(content)),
    }
}

/// Until when `user` is in the room's call (unix ms), from the room's
/// membership events (each a whole event: `sender`, `state_key`, `content`,
/// `origin_server_ts`): the latest end among their devices' live
/// memberships, or `None` when they are not in it.
pub fn in_call_until(events: &[Value], user: &str, now_ms: i64) -> Option<i64> {
    events
        .iter()
        .filter(|e| {
            e["sender"].as_str() == Some(user) && e["state_key"].as_str().is_some_and(|k| key_names_sender(k, user))
        })
        .filter_map(|e| end(e, now_ms))
        .max()
}

/// Whether `user` is in the room's call now.
pub fn in_call(events: &[Value], user: &str, now_ms: i64) -> bool {
    in_call_until(events, user, now_ms).is_some()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn member(sender: &str, key: &str, content: Value) -> Value {
        json!({ "sender": sender, "state_key": key, "content": content, "origin_server_ts": 1_000 })
    }

    fn session(device: &str) -> Value {
        json!({
            "application": "m.call", "call_id": "", "scope": "m.room", "device_id": device,
            "expires": 14_400_000, "focus_active": { "type": "livekit", "focus_selection": "oldest_membership" },
            "foci_preferred": [], "m.call.intent": "audio"
        })
    }

    #[test]
    fn a_membership_counts_only_for_the_user_its_key_names_and_sends_it() {
        let own = member("@bob:hs", "_@bob:hs_DEV_m.call", session("DEV"));
        let spoof = member("@bob:hs", "_@carol:hs_DEV_m.call", session("DEV"));
        let prefix_trick = member("@bo:hs", "_@bob:hs_DEV_m.call", session("DEV"));

        assert!(in_call(&[own], "@bob:hs", 2_000));
        assert!(!in_call(std::slice::from_ref(&spoof), "@carol:hs", 2_000));
        assert!(!in_call(&[spoof], "@bob:hs", 2_000));
        assert!(!in_call(&[prefix_trick], "@bo:hs", 2_000));
    }

    #[test]
    fn empty_content_or_an_expired_membership_is_a_device_that_left() {
        let left = member("@bob:hs", "_@bob:hs_DEV_m.call", json!({}));
        let expired = member("@bob:hs", "_@bob:hs_DEV_m.call", session("DEV"));
        let other_device = member("@bob:hs", "_@bob:hs_PHONE_m.call", session("PHONE"));

        assert!(!in_call(std::slice::from_ref(&left), "@bob:hs", 2_000));
        assert!(!in_call(std::slice::from_ref(&expired), "@bob:hs", 1_000 + 14_400_000));
        assert!(
            in_call(&[left, other_device], "@bob:hs", 2_000),
            "another device is still in"
        );
    }

    #[test]
    fn a_user_is_in_the_call_until_the_latest_end_of_their_devices() {
        let mut short = session("DEV");
        short["expires"] = json!(5_000);
        let mut renewed = session("PHONE");
        renewed["created_ts"] = json!(3_000);
        renewed["expires"] = json!(10_000);
        let events = [
            member("@bob:hs", "_@bob:hs_DEV_m.call", short),
            member("@bob:hs", "_@bob:hs_PHONE_m.call", renewed),
        ];

        assert_eq!(in_call_until(&events, "@bob:hs", 2_000), Some(13_000));
        assert_eq!(in_call_until(&events[..1], "@bob:hs", 2_000), Some(6_000));
        assert_eq!(in_call_until(&events[..1], "@bob:hs", 6_000), None, "lapsed");
    }
}
