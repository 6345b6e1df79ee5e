//! The bot's store on disk, against the real test Synapse: a directory only
//! its owner can read, holding the session and the keys but not the rooms,
//! encrypted with the configured passphrase, and a clear refusal to start
//! with another one.

#![recursion_limit = "256"]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure should fail loudly"
)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Bot, bot_config, bot_on, hearth, synapse};
use hearth_matrix::Matrix;
use matrix_sdk::SqliteCryptoStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_is_private_and_needs_its_passphrase() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = bot_config(&synapse, dir.path()).await;
    let passphrase_file = dir.path().join("store-passphrase");
    std::fs::write(&passphrase_file, "a long store passphrase\n").unwrap();
    config.store_passphrase_file = Some(passphrase_file.clone());
    // A room-state store an earlier version left there.
    std::fs::create_dir_all(&config.store_dir).unwrap();
    for old in ["matrix-sdk-state.sqlite3", "matrix-sdk-state.sqlite3-wal"] {
        std::fs::write(config.store_dir.join(old), "rooms and members").unwrap();
    }

    // The bot logs in once, creating its stores.
    let bot = Bot::start(hearth().await, config.clone()).await;
    let device = bot.device_id.clone();
    bot.stop().await;

    // store_dir is its owner's alone.
    let mode = std::fs::metadata(&config.store_dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "store_dir mode {mode:o}");

    // It holds the session, the keys and the lock that keeps a second
    // client off them, and nothing about the rooms: their state is kept in
    // memory, and the old store is gone.
    let mut files: Vec<String> = std::fs::read_dir(&config.store_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with("-wal") && !name.ends_with("-shm"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "hearth.lock",
            "matrix-sdk-crypto.sqlite3",
            "session.json",
            "store-encryption"
        ],
        "store_dir holds {files:?}"
    );
    assert!(!config.store_dir.join("matrix-sdk-state.sqlite3-wal").exists());

    // The crypto store opens with the passphrase, and with no other.
    assert!(
        SqliteCryptoStore::open(&config.store_dir, Some("a long store passphrase"))
            .await
            .is_ok()
    );
    assert!(
        SqliteCryptoStore::open(&config.store_dir, Some("another passphrase"))
            .await
            .is_err(),
        "a wrong passphrase opened the crypto store"
    );

    // The bot refuses to start with another passphrase, or with none, and says why.
    std::fs::write(&passphrase_file, "another passphrase\n").unwrap();
    let wrong = Matrix::connect(config.clone())
        .await
        .err()
        .expect("started with a wrong passphrase");
    assert!(
        format!("{wrong:#}").contains("cannot be opened with this passphrase"),
        "{wrong:#}"
    );
    config.store_passphrase_file = None;
    let none = Matrix::connect(config.clone())
        .await
        .err()
        .expect("started with no passphrase");
    assert!(
        format!("{none:#}").contains("was created with a passphrase"),
        "{none:#}"
    );

    // With the right one again, it restores its session.
    std::fs::write(&passphrase_file, "a long store passphrase\n").unwrap();
    config.store_passphrase_file = Some(passphrase_file);
    let again = Bot::start(hearth().await, config).await;
    assert_eq!(again.device_id, device, "the same device");
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_login_sets_up_cross_signing_and_signs_the_bots_device() {
    let synapse = synapse().await;
    let bot = bot_on(&synapse).await;
    let alice = common::Member::new(&synapse, "alice").await;
    common::room_with_bot(&alice, &bot.user_id, true, &[]).await;

    // As another member's client sees it: the bot has a cross-signing
    // identity, and its device is signed by it.
    let encryption = alice.client.encryption();
    encryption.request_user_identity(&bot.user_id).await.unwrap();
    let identity = encryption.get_user_identity(&bot.user_id).await.unwrap();
    assert!(identity.is_some(), "the bot has no cross-signing identity");
    let device_id = matrix_sdk::ruma::OwnedDeviceId::from(bot.device_id.as_str());
    let device = encryption
        .get_device(&bot.user_id, &device_id)
        .await
        .unwrap()
        .expect("alice knows the bot's device");
    assert!(
        device.is_cross_signed_by_owner(),
        "the bot's device is not cross-signed"
    );
    bot.stop().await;
}

/// Never two clients on one crypto store: a second connection waits for the
/// first client to be dropped, and is refused while it lives; once it is
/// gone (the adapter's reconnect lets it go first), the store opens again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_in_use_is_refused_to_a_second_client_until_the_first_is_dropped() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let config = bot_config(&synapse, dir.path()).await;
    let first = Matrix::connect(config.clone()).await.unwrap();

    let second = Matrix::connect(config.clone()).await;
    drop(first);
    let third = Matrix::connect(config).await;

    let Err(refused) = second else {
        panic!("a second client opened a store in use")
    };
    assert!(
        format!("{refused:#}").contains("is in use by another Hearth"),
        "{refused:#}"
    );
    assert!(third.is_ok(), "{:?}", third.err());
}
