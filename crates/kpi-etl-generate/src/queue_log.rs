//! Encoder of Asterisk `queue_log` lines: `epoch|callid|queuename|agent|event|data...`, pipe
//! separated, no quoting, trailing fields absent when unused (hazard: the number of fields
//! varies per event). Members appear as `PJSIP/201`, `Agent/201` or `201` (hazard: three
//! spellings of one extension).

use std::fmt::Display;
use std::io::Write;

use rand::Rng;

/// Appends one line (with newline) to `out`.
pub fn line(
    out: &mut Vec<u8>,
    epoch: i64,
    callid: &str,
    queue: &str,
    agent: &str,
    event: &str,
    data: &[&dyn Display],
) {
    let _ = write!(out, "{epoch}|{callid}|{queue}|{agent}|{event}");
    for d in data {
        let _ = write!(out, "|{d}");
    }
    out.push(b'\n');
}

/// How a queue names its members in queue_log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentStyle {
    /// `PJSIP/201`.
    Interface,
    /// `Agent/201`.
    Agent,
    /// `201`.
    Bare,
}

impl AgentStyle {
    /// A style drawn with weights 75/15/10.
    pub fn random<R: Rng + ?Sized>(rng: &mut R) -> AgentStyle {
        match rng.random_range(0..20u32) {
            0..15 => AgentStyle::Interface,
            15..18 => AgentStyle::Agent,
            _ => AgentStyle::Bare,
        }
    }

    /// The member name of extension `ext` in this style.
    pub fn name(self, ext: u32) -> String {
        match self {
            AgentStyle::Interface => format!("PJSIP/{ext}"),
            AgentStyle::Agent => format!("Agent/{ext}"),
            AgentStyle::Bare => ext.to_string(),
        }
    }
}
