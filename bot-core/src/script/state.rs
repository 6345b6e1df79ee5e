//! A run of a script as a pure state machine over plain data, as the
//! talking stick's is: the store loads and saves it, the tests drive it.
//! Times are Unix seconds.

/// Where a run is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The current step's position.
    pub step: usize,
    pub step_started_at: i64,
    /// Time added to the current step (+2 min).
    pub extra_secs: i64,
    /// Seconds each step has taken so far (visits add up), by position.
    pub used: Vec<i64>,
    pub skipped: Vec<bool>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

/// What the chair pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Press {
    Next,
    Back,
    Skip,
    Extend,
    End,
}

/// What a press did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    /// To this step.
    To(usize),
    /// The same step, with more time.
    Extended,
    /// The last step is done, or the chair ended it: the run is over.
    Ended,
}

/// Why a press does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    AtTheStart,
    Over,
}

/// What the +2 min button adds.
pub const EXTEND_SECS: i64 = 120;

impl Run {
    pub fn new(steps: usize, now: i64) -> Self {
        Self {
            step: 0,
            step_started_at: now,
            extra_secs: 0,
            used: vec![0; steps],
            skipped: vec![false; steps],
            started_at: now,
            ended_at: None,
        }
    }

    /// Seconds the current step has run on this visit.
    pub fn elapsed(&self, now: i64) -> i64 {
        (now - self.step_started_at).max(0)
    }

    /// The current step's time so far, earlier visits included.
    pub fn used_now(&self, now: i64) -> i64 {
        self.used.get(self.step).copied().unwrap_or(0) + self.elapsed(now)
    }

    fn close_step(&mut self, now: i64) {
        let elapsed = self.elapsed(now);
        if let Some(used) = self.used.get_mut(self.step) {
            *used += elapsed;
        }
    }

    fn enter(&mut self, step: usize, now: i64) {
        self.step = step;
        self.step_started_at = now;
        self.extra_secs = 0;
    }

    /// Applies a press at `now`.
    pub fn press(&mut self, press: Press, now: i64) -> Result<Moved, Refusal> {
        if self.ended_at.is_some() {
            return Err(Refusal::Over);
        }
        let last = self.used.len().saturating_sub(1);
        match press {
            Press::Extend => {
                self.extra_secs += EXTEND_SECS;
                return Ok(Moved::Extended);
            }
            Press::Back if self.step == 0 => return Err(Refusal::AtTheStart),
            _ => {}
        }
        self.close_step(now);
        if press == Press::Skip
            && let Some(skipped) = self.skipped.get_mut(self.step)
        {
            *skipped = true;
        }
        match press {
            Press::Back => {
                let to = self.step - 1;
                if let Some(skipped) = self.skipped.get_mut(to) {
                    *skipped = false;
                }
                self.enter(to, now);
                Ok(Moved::To(to))
            }
            Press::Next | Press::Skip if self.step < last => {
                self.enter(self.step + 1, now);
                Ok(Moved::To(self.step))
            }
            _ => {
                self.ended_at = Some(now);
                Ok(Moved::Ended)
            }
        }
    }

    /// Seconds the meeting runs over its plan at `now` (negative: ahead),
    /// `planned` being each step's planned seconds. The plan up to now is
    /// every step before this one and this one with its added time; a step
    /// still within its time costs nothing yet.
    pub fn over(&self, planned: &[i64], now: i64) -> i64 {
        let before: i64 = planned.iter().take(self.step).sum();
        let this = planned.get(self.step).copied().unwrap_or(0) + self.extra_secs;
        let spent = now - self.started_at;
        let this_spent = self.used_now(now);
        // Over the plan of the steps done, plus this step's overrun, if any.
        (spent - this_spent - before) + (this_spent - this).max(0)
    }

    /// Seconds the current step runs over its planned time and what was added.
    pub fn step_over(&self, planned: &[i64], now: i64) -> i64 {
        self.used_now(now) - planned.get(self.step).copied().unwrap_or(0) - self.extra_secs
    }
}
