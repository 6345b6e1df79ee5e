//! Matrix's facts, for the core to map to roles. Community-wide roles come
//! from the community's root: the space, when the room is one of its listed
//! children, else the room itself. A child room's power levels never grant
//! more than the space's: whoever created a room that a space later listed
//! holds 100 there, and nothing in the space. Nothing here decides what
//! anyone may do; the core does.

use bot_core::Actor;

/// The power level that counts for community-wide roles: the space's, when
/// the room is a listed child of one (`space`), whatever the room's own;
/// else the room's.
pub fn root_level(space: Option<i64>, room: i64) -> i64 {
    space.unwrap_or(room)
}

/// The actor for `user`, whose power level in the community's root is
/// `level`: 100 makes an admin, `facilitator_level` a facilitator of every
/// group. Facilitators appointed with `/group facilitator` are the core's
/// own record and need no level anywhere.
pub fn actor(user: &str, name: &str, level: i64, facilitator_level: i64) -> Actor {
    Actor {
        platform_admin: level >= 100,
        platform_facilitator: level >= facilitator_level,
        ..Actor::member(user, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_admin_and_facilitator_and_no_mute_power() {
        let admin = actor("@a:hs", "a", 100, 50);
        let facilitator = actor("@f:hs", "f", 50, 50);
        let member = actor("@m:hs", "m", 0, 50);

        assert!(admin.platform_admin && admin.platform_facilitator);
        assert!(!facilitator.platform_admin && facilitator.platform_facilitator);
        assert!(!member.platform_admin && !member.platform_facilitator);
        assert!(!admin.may_mute, "Matrix calls have no server mute");
    }

    #[test]
    fn in_a_space_the_spaces_level_counts_and_the_rooms_grants_nothing_more() {
        assert_eq!(root_level(Some(0), 100), 0, "a child room's creator");
        assert_eq!(root_level(Some(100), 0), 100, "the space's admin in any child room");
        assert_eq!(root_level(None, 100), 100, "a room of its own");
    }
}
