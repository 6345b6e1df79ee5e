//! Choosing, and opening when needed, the DM room a private answer goes to.

use matrix_sdk::ruma::{RoomId, UserId};
use matrix_sdk::{EncryptionState, Room, RoomMemberships, RoomState};

use crate::outbox::Sender;

impl Sender {
    /// The DM room with `user`: the one used before, else one the store knows
    /// (marked direct), else a new encrypted one created with `is_direct`.
    /// Each is used only while it is still private (see [`dm_private`]).
    pub(crate) async fn dm_room(&self, user: &UserId) -> matrix_sdk::Result<Room> {
        let mut dms = self.dms.lock().await;
        if let Some(room) = dms.get(user).and_then(|id| self.client.get_room(id)) {
            if dm_private(&room, &self.user_id, user).await {
                return Ok(room);
            }
            tracing::warn!(room = %room.room_id(), kind = "dm no longer private", "dm");
            dms.remove(user);
        }
        for room in self.client.get_dm_rooms(user) {
            if dm_private(&room, &self.user_id, user).await {
                dms.insert(user.to_owned(), room.room_id().to_owned());
                return Ok(room);
            }
        }
        let room = self.client.create_dm(user).await?;
        // No user id: the line comes as someone first asks for something
        // private (a crisis line, their data), and must not say who.
        tracing::info!(room = %room.room_id(), kind = "dm created", "dm");
        dms.insert(user.to_owned(), room.room_id().to_owned());
        Ok(room)
    }

    /// Forgets `room` as a DM when someone other than the bot and its member
    /// joins or is invited: the next private answer opens a new one.
    pub(crate) async fn dm_gained_member(&self, room: &RoomId, newcomer: &UserId) {
        let mut dms = self.dms.lock().await;
        let Some(member) = dms.iter().find_map(|(m, r)| (r == room).then(|| m.clone())) else {
            return;
        };
        if newcomer != member && newcomer != self.user_id {
            tracing::warn!(room = %room, kind = "dm no longer private", "dm");
            dms.remove(&member);
        }
    }
}

/// Whether `room` is still a private room of the bot (`me`) and `user`
/// alone: joined by the bot, encrypted, and its joined and invited members
/// exactly the two of them. Both hold power level 100 in a DM room, so the
/// member can invite someone else at any time; then private answers must go
/// elsewhere. A member who left or declined also ends it.
async fn dm_private(room: &Room, me: &UserId, user: &UserId) -> bool {
    if room.state() != RoomState::Joined {
        return false;
    }
    let encrypted = match room.encryption_state() {
        EncryptionState::Unknown => room
            .latest_encryption_state()
            .await
            .is_ok_and(|state| state.is_encrypted()),
        state => state.is_encrypted(),
    };
    if !encrypted {
        return false;
    }
    // Fetches the member list once if the sync has not given it yet (a room
    // just created); the sync keeps it current after that.
    let Ok(members) = room.members(RoomMemberships::ACTIVE).await else {
        return false;
    };
    let mut ids: Vec<&UserId> = members.iter().map(|m| m.user_id()).collect();
    ids.sort();
    let mut want = vec![me, user];
    want.sort();
    ids == want
}
