//! The talking stick as a pure state machine: functions over [`State`] that
//! the store loads and saves, so property tests can drive any interleaving.
//! Members are the store's member ids; times are unix seconds.

/// How long a turn must be held to count as a share, whichever button
/// ends it: a holder who speaks and then presses pass shared; one who
/// passes at once passed.
pub const SHARE_AFTER_SECS: i64 = 5;

/// How the next holder is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Around the circle in join order; everyone present gets a turn
    /// (a pass counts as one), newcomers at the end of the round.
    Round,
    /// Raised hands, first raised first.
    Queue,
    /// Raised hands, least speaking time in this circle first; ties by raise time.
    Balanced,
}

impl Mode {
    pub const NAMES: &'static [&'static str] = crate::spec::CIRCLE_MODES;

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Round => "round",
            Mode::Queue => "queue",
            Mode::Balanced => "balanced",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "round" => Some(Mode::Round),
            "queue" => Some(Mode::Queue),
            "balanced" => Some(Mode::Balanced),
            _ => None,
        }
    }
}

/// A raised hand: when, and its place in the order of raises (ties in time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hand {
    pub at: i64,
    pub seq: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub member: i64,
    /// Join order.
    pub seq: i64,
    pub present: bool,
    pub hand: Option<Hand>,
    pub spoken_secs: i64,
    pub shares: i64,
    pub passes: i64,
    /// Had a turn (or passed) in the current round.
    pub had_turn: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub mode: Mode,
    /// In join order.
    pub participants: Vec<Participant>,
    pub holder: Option<i64>,
    pub turn_started_at: Option<i64>,
    /// Turns given so far.
    pub turn: i64,
    pub next_seq: i64,
}

/// How a turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEnd {
    Shared,
    Passed,
    Left,
}

/// What happened, in order, for the announcements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The holder's turn ended.
    Ended {
        member: i64,
        how: TurnEnd,
        secs: i64,
    },
    /// The one next in line passed before their turn.
    PassedAhead {
        member: i64,
    },
    /// The stick was given.
    Given {
        member: i64,
    },
    Joined {
        member: i64,
    },
    Left {
        member: i64,
    },
    HandRaised {
        member: i64,
    },
    HandLowered {
        member: i64,
    },
    ModeChanged {
        mode: Mode,
    },
}

/// Why the machine refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotInCircle,
    NotYourTurn,
    HandAlreadyRaised,
    NoHandRaised,
    NoCircleHere,
    AlreadyRunning,
    NotHolder,
    /// A `circle:` number that names no running circle of this community.
    NoSuchCircle,
    /// `/circle join` from outside the voice channel or call the circle runs in.
    InVoiceOnly,
}

pub type Outcome = Result<Vec<Event>, Refusal>;

impl State {
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            participants: Vec::new(),
            holder: None,
            turn_started_at: None,
            turn: 0,
            next_seq: 0,
        }
    }

    pub fn participant(&self, member: i64) -> Option<&Participant> {
        self.participants.iter().find(|p| p.member == member)
    }

    fn participant_mut(&mut self, member: i64) -> Option<&mut Participant> {
        self.participants.iter_mut().find(|p| p.member == member)
    }

    pub fn is_present(&self, member: i64) -> bool {
        self.participant(member).is_some_and(|p| p.present)
    }

    fn seq(&mut self) -> i64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// Present participants, in join order.
    pub fn present(&self) -> impl Iterator<Item = &Participant> {
        self.participants.iter().filter(|p| p.present)
    }

    /// Present raised hands, in the order the mode takes them.
    pub fn queue(&self) -> Vec<&Participant> {
        let mut hands: Vec<&Participant> = self.present().filter(|p| p.hand.is_some()).collect();
        let raise = |p: &Participant| p.hand.map_or((i64::MAX, i64::MAX), |h| (h.at, h.seq));
        match self.mode {
            Mode::Balanced => hands.sort_by_key(|p| (p.spoken_secs, raise(p))),
            Mode::Round | Mode::Queue => hands.sort_by_key(|p| raise(p)),
        }
        hands
    }

    /// Who would get the stick next, and whether that starts a new round;
    /// `last` (who just held it) only when no one else can.
    fn choice(&self, last: Option<i64>) -> Option<(i64, bool)> {
        match self.mode {
            Mode::Queue | Mode::Balanced => self.queue().first().map(|p| (p.member, false)),
            Mode::Round => {
                let present: Vec<&Participant> = self.present().collect();
                let waiting: Vec<&&Participant> = present.iter().filter(|p| !p.had_turn).collect();
                // Anyone still waiting in this round; the last holder only when
                // their turn in this round is still to come and no one else waits.
                if let Some(p) = waiting
                    .iter()
                    .find(|p| Some(p.member) != last)
                    .or_else(|| waiting.first())
                {
                    return Some((p.member, false));
                }
                // Everyone present has had a turn: a new round, not starting
                // with the one who just spoke when anyone else is here.
                present
                    .iter()
                    .find(|p| Some(p.member) != last)
                    .or_else(|| present.first())
                    .map(|p| (p.member, true))
            }
        }
    }

    /// Who is next in line (not the holder), for the status and for passing ahead.
    pub fn next_up(&self) -> Option<i64> {
        self.choice(self.holder)
            .map(|(m, _)| m)
            .filter(|m| Some(*m) != self.holder)
    }

    fn new_round(&mut self) {
        for p in &mut self.participants {
            p.had_turn = false;
        }
    }

    fn give(&mut self, member: i64, new_round: bool, now: i64, events: &mut Vec<Event>) {
        if new_round {
            self.new_round();
        }
        self.turn += 1;
        self.holder = Some(member);
        self.turn_started_at = Some(now);
        if let Some(p) = self.participant_mut(member) {
            p.had_turn = true;
            p.hand = None;
        }
        events.push(Event::Given { member });
    }

    /// Ends the holder's turn, if any, counting its time. A turn counts as
    /// it was lived, whichever button ended it: held longer than
    /// [`SHARE_AFTER_SECS`], a share; handed on at once, a pass; left at
    /// once, or cut off by the circle's end at once, neither.
    fn end_turn(&mut self, how: TurnEnd, now: i64, events: &mut Vec<Event>) {
        let Some(member) = self.holder.take() else { return };
        let secs = (now - self.turn_started_at.take().unwrap_or(now)).max(0);
        let lived = secs > SHARE_AFTER_SECS;
        let how = match how {
            TurnEnd::Left => TurnEnd::Left,
            _ if lived => TurnEnd::Shared,
            _ => TurnEnd::Passed,
        };
        if let Some(p) = self.participant_mut(member) {
            p.spoken_secs += secs;
            match how {
                _ if lived => p.shares += 1,
                TurnEnd::Passed => p.passes += 1,
                TurnEnd::Shared | TurnEnd::Left => {}
            }
        }
        events.push(Event::Ended { member, how, secs });
    }

    /// With nobody holding the stick, gives it to whoever the mode picks.
    fn settle(&mut self, last: Option<i64>, now: i64, events: &mut Vec<Event>) {
        if self.holder.is_none()
            && let Some((member, new_round)) = self.choice(last)
        {
            self.give(member, new_round, now, events);
        }
    }

    /// Someone joins (or comes back). Joining twice changes nothing.
    pub fn join(&mut self, member: i64, now: i64) -> Vec<Event> {
        let mut events = Vec::new();
        match self.participant(member).map(|p| p.present) {
            Some(true) => return events,
            Some(false) => {
                if let Some(p) = self.participant_mut(member) {
                    p.present = true;
                }
            }
            None => {
                let seq = self.seq();
                self.participants.push(Participant {
                    member,
                    seq,
                    present: true,
                    hand: None,
                    spoken_secs: 0,
                    shares: 0,
                    passes: 0,
                    had_turn: false,
                });
            }
        }
        events.push(Event::Joined { member });
        self.settle(None, now, &mut events);
        events
    }

    /// Someone leaves: their hand goes down, and if they held the stick it moves on.
    pub fn leave(&mut self, member: i64, now: i64) -> Vec<Event> {
        let mut events = Vec::new();
        let Some(p) = self.participant_mut(member).filter(|p| p.present) else {
            return events;
        };
        p.present = false;
        p.hand = None;
        events.push(Event::Left { member });
        if self.holder == Some(member) {
            self.end_turn(TurnEnd::Left, now, &mut events);
        }
        self.settle(None, now, &mut events);
        events
    }

    pub fn raise(&mut self, member: i64, now: i64) -> Outcome {
        let seq = self.next_seq + 1;
        let p = self
            .participant_mut(member)
            .filter(|p| p.present)
            .ok_or(Refusal::NotInCircle)?;
        if p.hand.is_some() {
            return Err(Refusal::HandAlreadyRaised);
        }
        p.hand = Some(Hand { at: now, seq });
        self.next_seq = seq;
        let mut events = vec![Event::HandRaised { member }];
        self.settle(None, now, &mut events);
        Ok(events)
    }

    pub fn lower(&mut self, member: i64) -> Outcome {
        let p = self
            .participant_mut(member)
            .filter(|p| p.present)
            .ok_or(Refusal::NotInCircle)?;
        if p.hand.take().is_none() {
            return Err(Refusal::NoHandRaised);
        }
        Ok(vec![Event::HandLowered { member }])
    }

    /// The holder passes (their turn ends as a pass), or the one next in line
    /// passes ahead of their turn. No one else has a turn to pass.
    pub fn pass(&mut self, member: i64, now: i64) -> Outcome {
        if !self.is_present(member) {
            return Err(Refusal::NotInCircle);
        }
        let mut events = Vec::new();
        if self.holder == Some(member) {
            self.end_turn(TurnEnd::Passed, now, &mut events);
            self.settle(Some(member), now, &mut events);
            return Ok(events);
        }
        match self.choice(self.holder).filter(|(next, _)| Some(*next) != self.holder) {
            Some((next, new_round)) if next == member => {
                if new_round {
                    self.new_round();
                }
                if let Some(p) = self.participant_mut(member) {
                    p.had_turn = true;
                    p.hand = None;
                    p.passes += 1;
                }
                events.push(Event::PassedAhead { member });
                self.settle(None, now, &mut events);
                Ok(events)
            }
            _ => Err(Refusal::NotYourTurn),
        }
    }

    /// Hands the stick on: the holder's turn ends as a share.
    pub fn next(&mut self, now: i64) -> Vec<Event> {
        let mut events = Vec::new();
        let last = self.holder;
        self.end_turn(TurnEnd::Shared, now, &mut events);
        self.settle(last, now, &mut events);
        events
    }

    pub fn set_mode(&mut self, mode: Mode, now: i64) -> Vec<Event> {
        self.mode = mode;
        let mut events = vec![Event::ModeChanged { mode }];
        self.settle(None, now, &mut events);
        events
    }

    /// Ends the circle: the holder's turn is counted, as a share if it was
    /// one (a turn the end cut off at once is no pass).
    pub fn end(&mut self, now: i64) -> Vec<Event> {
        let mut events = Vec::new();
        let at_once = self.elapsed(now).is_some_and(|s| s <= SHARE_AFTER_SECS);
        self.end_turn(if at_once { TurnEnd::Left } else { TurnEnd::Shared }, now, &mut events);
        events
    }

    /// Seconds the holder has been speaking.
    pub fn elapsed(&self, now: i64) -> Option<i64> {
        self.turn_started_at.map(|t| (now - t).max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: i64 = 1;
    const B: i64 = 2;
    const C: i64 = 3;

    fn given(events: &[Event]) -> Option<i64> {
        events.iter().rev().find_map(|e| match e {
            Event::Given { member } => Some(*member),
            _ => None,
        })
    }

    #[test]
    fn a_round_goes_around_in_join_order_and_a_pass_counts_as_a_turn() {
        let mut s = State::new(Mode::Round);
        s.join(A, 0);
        s.join(B, 1);
        s.join(C, 2);
        assert_eq!(s.holder, Some(A));

        let to_b = s.next(60);
        let c_passes = s.pass(C, 70).unwrap();
        let back_to_a = s.next(120);

        assert_eq!(given(&to_b), Some(B));
        assert!(c_passes.contains(&Event::PassedAhead { member: C }));
        assert_eq!(given(&back_to_a), Some(A), "C passed, so the round starts again with A");
        assert_eq!(s.participant(A).map(|p| (p.shares, p.spoken_secs)), Some((1, 60)));
        assert_eq!(s.participant(C).map(|p| (p.shares, p.passes)), Some((0, 1)));
    }

    #[test]
    fn balanced_gives_the_stick_to_the_raised_hand_that_spoke_least() {
        let mut s = State::new(Mode::Balanced);
        for m in [A, B, C] {
            s.join(m, 0);
        }
        s.raise(A, 0).unwrap();
        assert_eq!(s.holder, Some(A));
        s.raise(B, 10).unwrap();
        let to_b = s.next(300);
        s.raise(A, 301).unwrap();
        s.raise(C, 302).unwrap();

        let to_c = s.next(310);

        assert_eq!(given(&to_b), Some(B));
        assert_eq!(given(&to_c), Some(C), "C has not spoken; A spoke 300 s");
    }

    #[test]
    fn when_the_holder_leaves_the_stick_moves_on() {
        let mut s = State::new(Mode::Round);
        s.join(A, 0);
        s.join(B, 0);

        let events = s.leave(A, 30);

        assert_eq!(given(&events), Some(B));
        assert!(!s.is_present(A));
    }

    #[test]
    fn only_the_holder_or_the_next_in_line_can_pass() {
        let mut s = State::new(Mode::Round);
        for m in [A, B, C] {
            s.join(m, 0);
        }

        assert_eq!(s.pass(C, 1), Err(Refusal::NotYourTurn));
        assert!(s.pass(B, 1).is_ok());
        assert!(s.pass(A, 2).is_ok());
        assert_eq!(s.holder, Some(C));
    }
}
