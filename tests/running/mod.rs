//! The `hearth` binary as a child process of a test, ended however the test ends.

use std::process::Child;

pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
