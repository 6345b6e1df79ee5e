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

/// Whether one membership event's content still puts its device in the call at `now_ms`.
fn active(event: &Value, now_ms: i64) -> bool {
    let content = &event["content"];
    let Some(fields) = content.as_object() else {
        return false;
    };
    if fields.is_empty() {
        return false;
    }
    let sent = event["origin_server_ts"].as_i64().unwrap_or(now_ms);
    let alive = |m: &Value| {
        let from = m["created_ts"].as_i64().unwrap_or(sent);
        let expires = m["expires"].as_i64().unwrap_or(DEFAULT_EXPIRES_MS);
        from.saturating_add(expires) > now_ms
    };
    match fields.get("memberships").and_then(Value::as_array) {
        // The legacy shape: a list of memberships in one event per user.
        Some(list) => list.iter().any(alive),
        None => fields.contains_key("device_id") && alive(content),
    }
}

/// Whether `user` is in the room's call, from the room's membership events
/// (each a whole event: `sender`, `state_key`, `content`, `origin_server_ts`).
pub fn in_call(events: &[Value], user: &str, now_ms: i64) -> bool {
    events.iter().any(|e| {
        e["sender"].as_str() == Some(user)
            && e["state_key"].as_str().is_some_and(|k| key_names_sender(k, user))
            && active(e, now_ms)
    })
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
}
