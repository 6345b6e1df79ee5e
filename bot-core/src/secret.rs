//! The one way Hearth reads a secret (a bot token, a password, a store
//! passphrase): from an environment variable, else from a file, with one
//! trimming rule for both.

use std::path::Path;

/// The secret from the environment variable `env` when it holds one, else
/// from `file`. Only the line ends at its end are cut (a file written with
/// `echo` ends in one; a password may end in a space), and a value that is
/// empty or all whitespace counts as unset: `Ok(None)`, for the caller to
/// say which setting to fix. A file that cannot be read is the error, and
/// it names the file.
pub fn read(env: Option<&str>, file: Option<&Path>) -> std::io::Result<Option<String>> {
    if let Some(value) = env.and_then(|var| std::env::var(var).ok()).and_then(trimmed) {
        return Ok(Some(value));
    }
    match file {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(value) => Ok(trimmed(value)),
            Err(e) => Err(std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        },
        None => Ok(None),
    }
}

fn trimmed(value: String) -> Option<String> {
    let value = value.trim_end_matches(['\r', '\n']);
    (!value.trim().is_empty()).then(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_loses_its_line_ends_and_keeps_its_spaces() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, " pass word \r\n").unwrap();

        let secret = read(None, Some(&file)).unwrap();

        assert_eq!(secret.as_deref(), Some(" pass word "));
    }

    #[test]
    fn a_set_variable_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "from-file\n").unwrap();

        // PATH is set wherever tests run; the edition forbids setting one here.
        let secret = read(Some("PATH"), Some(&file)).unwrap();

        assert_eq!(secret, std::env::var("PATH").ok());
    }

    #[test]
    fn an_unset_or_blank_variable_falls_back_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "from-file\n").unwrap();

        let unset = read(Some("HEARTH_TEST_SECRET_THAT_IS_NEVER_SET"), Some(&file)).unwrap();

        assert_eq!(unset.as_deref(), Some("from-file"));
    }

    #[test]
    fn a_blank_file_or_no_setting_at_all_is_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "  \n\n").unwrap();

        let blank = read(None, Some(&file)).unwrap();
        let nothing = read(None, None).unwrap();

        assert_eq!(blank, None);
        assert_eq!(nothing, None);
    }

    #[test]
    fn a_missing_file_is_an_error_not_an_empty_secret() {
        let dir = tempfile::tempdir().unwrap();

        let missing = read(None, Some(&dir.path().join("absent")));

        let error = missing.unwrap_err().to_string();
        assert!(error.contains("absent"), "{error}");
    }
}
