//! Service roles: the store, the gates, the commands.
