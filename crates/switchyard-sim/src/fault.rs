//! Faults, scenarios and the `x-sim-fault` / `[[sim:...]]` directive syntax.

use std::time::Duration;

use serde_json::Value;

/// What the simulator does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Normal behaviour.
    Ok,
    /// The dialect's real error body and headers for this status.
    Status {
        /// HTTP status code.
        code: u16,
        /// `retry-after` seconds (429/503/529).
        retry_after_secs: Option<u64>,
    },
    /// Never respond; the connection stays open until the client goes away.
    Hang,
    /// Stream: send N content chunks then abort the connection; non-stream: abort before body.
    DropAfter(usize),
    /// Send N content chunks then go silent with the connection open.
    StallAfter(usize),
    /// 200 with a body that is not valid JSON (streams: a garbage data line).
    Malformed,
    /// Extra delay before the response, then normal behaviour.
    Latency(Duration),
    /// N content chunks then the dialect's in-stream error event.
    MidStreamError(usize),
}

/// A sequence of faults applied to successive requests for one model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scenario {
    /// One step per request.
    pub steps: Vec<Fault>,
    /// Start again from the first step once exhausted (else behave normally).
    pub repeat: bool,
}

/// A scenario plus the position of its next step.
#[derive(Debug)]
pub(crate) struct ScenarioCursor {
    scenario: Scenario,
    next: usize,
}

impl ScenarioCursor {
    pub(crate) fn new(scenario: Scenario) -> Self {
        Self { scenario, next: 0 }
    }

    pub(crate) fn next_fault(&mut self) -> Option<Fault> {
        let steps = &self.scenario.steps;
        if steps.is_empty() {
            return None;
        }
        if self.next >= steps.len() {
            if !self.scenario.repeat {
                return None;
            }
            self.next = 0;
        }
        let fault = steps.get(self.next).cloned();
        self.next += 1;
        fault
    }
}

/// Per-request overrides collected from the header and from message texts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Directives {
    pub(crate) fault: Option<Fault>,
    pub(crate) latency: Option<Duration>,
    pub(crate) chunks: Option<usize>,
    pub(crate) words: Option<usize>,
}

impl Directives {
    /// Parses `status=429;retry_after=2`, `hang`, `chunks=50`, ... into `self`.
    pub(crate) fn apply(&mut self, spec: &str) {
        let mut status: Option<u16> = None;
        let mut retry_after = None;
        for item in spec.split([';', ',']) {
            let item = item.trim();
            let (key, value) = item.split_once('=').unwrap_or((item, ""));
            let number = value.trim().parse::<u64>().ok();
            let count = number.and_then(|n| usize::try_from(n).ok());
            match key.trim() {
                "status" => status = number.and_then(|n| u16::try_from(n).ok()),
                "retry_after" => retry_after = number,
                "hang" => self.fault = Some(Fault::Hang),
                "malformed" => self.fault = Some(Fault::Malformed),
                "ok" => self.fault = Some(Fault::Ok),
                "drop_after" => self.fault = count.map(Fault::DropAfter),
                "stall_after" => self.fault = count.map(Fault::StallAfter),
                "mid_stream_error" => self.fault = count.map(Fault::MidStreamError),
                "latency_ms" => self.latency = number.map(Duration::from_millis),
                "chunks" => self.chunks = count,
                "words" => self.words = count,
                _ => {}
            }
        }
        if let Some(code) = status {
            self.fault = Some(Fault::Status {
                code,
                retry_after_secs: retry_after,
            });
        }
    }

    /// Applies every `[[sim:...]]` directive found in a message text.
    pub(crate) fn scan(&mut self, text: &str) {
        const OPEN: &str = "[[sim:";
        let mut rest = text;
        while let Some(start) = rest.find(OPEN) {
            let after = &rest[start + OPEN.len()..];
            let Some(end) = after.find("]]") else { return };
            self.apply(&after[..end]);
            rest = &after[end + 2..];
        }
    }
}

/// Parses one control-API step such as `{"status":429,"retry_after":1}` or `{"hang":true}`.
pub(crate) fn step_from_json(step: &Value) -> Result<Fault, String> {
    let count = |key: &str| {
        step.get(key)
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
    };
    if let Some(code) = step.get("status").and_then(Value::as_u64) {
        let code = u16::try_from(code).map_err(|_| format!("bad status {code}"))?;
        return Ok(Fault::Status {
            code,
            retry_after_secs: step.get("retry_after").and_then(Value::as_u64),
        });
    }
    if step.get("hang").and_then(Value::as_bool) == Some(true) {
        return Ok(Fault::Hang);
    }
    if step.get("malformed").and_then(Value::as_bool) == Some(true) {
        return Ok(Fault::Malformed);
    }
    if step.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(Fault::Ok);
    }
    if let Some(n) = count("drop_after") {
        return Ok(Fault::DropAfter(n));
    }
    if let Some(n) = count("stall_after") {
        return Ok(Fault::StallAfter(n));
    }
    if let Some(n) = count("mid_stream_error") {
        return Ok(Fault::MidStreamError(n));
    }
    if let Some(ms) = step.get("latency_ms").and_then(Value::as_u64) {
        return Ok(Fault::Latency(Duration::from_millis(ms)));
    }
    Err(format!("unknown scenario step: {step}"))
}

/// Parses a control-API scenario body.
pub(crate) fn scenario_from_json(body: &Value) -> Result<Scenario, String> {
    let steps = body
        .get("steps")
        .and_then(Value::as_array)
        .ok_or_else(|| "`steps` must be an array".to_owned())?
        .iter()
        .map(step_from_json)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Scenario {
        steps,
        repeat: body.get("repeat").and_then(Value::as_bool).unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_text_directives() {
        let mut d = Directives::default();
        d.apply("status=429;retry_after=2");
        assert_eq!(
            d.fault,
            Some(Fault::Status {
                code: 429,
                retry_after_secs: Some(2)
            })
        );
        let mut d = Directives::default();
        d.scan("hello [[sim:drop_after=3]] and [[sim:words=5]] [[sim:latency_ms=20]]");
        assert_eq!(d.fault, Some(Fault::DropAfter(3)));
        assert_eq!(d.words, Some(5));
        assert_eq!(d.latency, Some(Duration::from_millis(20)));
    }

    #[test]
    fn scenario_cursor_repeats_or_ends() {
        let mut c = ScenarioCursor::new(Scenario {
            steps: vec![Fault::Hang, Fault::Ok],
            repeat: false,
        });
        assert_eq!(c.next_fault(), Some(Fault::Hang));
        assert_eq!(c.next_fault(), Some(Fault::Ok));
        assert_eq!(c.next_fault(), None);
        let mut c = ScenarioCursor::new(Scenario {
            steps: vec![Fault::Hang],
            repeat: true,
        });
        assert_eq!(c.next_fault(), Some(Fault::Hang));
        assert_eq!(c.next_fault(), Some(Fault::Hang));
    }
}
