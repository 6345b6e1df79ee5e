//! Against the real Synapse: a ban in the community's room takes the person
//! out of its groups, as if they had left each one.

mod common;

use std::time::{Duration, Instant};

use bot_core::store::query_scalar;
use common::{Bot, Member, bot_config, bot_said, hearth, room_with_bot, synapse};

#[tokio::test]
async fn a_member_banned_from_the_communitys_room_is_out_of_its_groups() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let core = hearth().await;
    let bot = Bot::start(core.clone(), bot_config(&synapse, dir.path()).await).await;
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    let room = room_with_bot(&alice, &bot.user_id, false, &[&bob]).await;
    let said = bot_said(&bot);
    alice
        .say(&room, r#"!group create name:"Grief circle" topic:grief led_by:peer"#)
        .await;
    alice
        .wait_for("the group's card", |s| said(s) && s.body().starts_with("Grief circle"))
        .await;
    bob.say(&bob.room(room.room_id()), r#"!group join group:"Grief circle""#)
        .await;
    bob.wait_for("the welcome", |s| {
        said(s) && s.body().contains("You've joined Grief circle")
    })
    .await;
    let in_groups = || async {
        query_scalar::<i64>(
            "SELECT COUNT(*) FROM group_members gm JOIN members m ON m.id = gm.member_id WHERE m.external_id = ?",
        )
        .bind(bob.user_id.to_string())
        .fetch_one(core.store())
        .await
        .unwrap()
    };
    assert_eq!(in_groups().await, 1);

    room.ban_user(&bob.user_id, None).await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    while in_groups().await > 0 {
        assert!(Instant::now() < deadline, "bob is still in the group after the ban");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bot.stop().await;
}
