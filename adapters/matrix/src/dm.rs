//! Choosing, and opening when needed, the DM room a private answer goes to.

use matrix_sdk::ruma::UserId;
use matrix_sdk::{Room, RoomState};

use crate::outbox::Sender;

impl Sender {
    /// The DM room with `user`: the one used before, else one the store knows
    /// (marked direct), else a new encrypted one created with `is_direct`.
    pub(crate) async fn dm_room(&self, user: &UserId) -> matrix_sdk::Result<Room> {
        let mut dms = self.dms.lock().await;
        if let Some(room) = dms.get(user).and_then(|id| self.client.get_room(id))
            && dm_usable(&room, user).await
        {
            return Ok(room);
        }
        for room in self.client.get_dm_rooms(user) {
            if dm_usable(&room, user).await {
                dms.insert(user.to_owned(), room.room_id().to_owned());
                return Ok(room);
            }
        }
        let room = self.client.create_dm(user).await?;
        tracing::info!(room = %room.room_id(), user = %user, kind = "dm created", "dm");
        dms.insert(user.to_owned(), room.room_id().to_owned());
        Ok(room)
    }
}

/// A DM room still works while we are in it and the member has not left it.
/// A room just created may not know its members yet: that still counts.
async fn dm_usable(room: &Room, user: &UserId) -> bool {
    use matrix_sdk::ruma::events::room::member::MembershipState;
    if room.state() != RoomState::Joined {
        return false;
    }
    match room.get_member_no_sync(user).await {
        Ok(Some(member)) => !matches!(member.membership(), MembershipState::Leave | MembershipState::Ban),
        Ok(None) => true,
        Err(_) => false,
    }
}
