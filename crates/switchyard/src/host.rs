//! What the machine's own settings cost the gateway, said once at start-up.
//!
//! On a KVM guest whose kernel halts idle vCPUs at once (the `haltpoll` cpuidle driver with
//! `guest_halt_poll_ns` 0, a boot parameter some clouds set), every packet that arrives while
//! the gateway's thread sleeps waits for the hypervisor to run the vCPU again: at low load that
//! is most of the latency any proxy adds (docs/benchmarks.md, "The guest kernel's halt
//! polling"). The gateway cannot change it; the operator can, so it is logged with the fix.

const CPUIDLE_DRIVER: &str = "/sys/devices/system/cpu/cpuidle/current_driver";
const HALT_POLL_NS: &str = "/sys/module/haltpoll/parameters/guest_halt_poll_ns";

/// The hint for this machine, if any, read from sysfs.
pub(crate) fn idle_hint(busy_poll: bool) -> Option<String> {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    hint_for(
        read(CPUIDLE_DRIVER).as_deref(),
        read(HALT_POLL_NS).as_deref(),
        busy_poll,
    )
}

/// The hint for a cpuidle driver and a halt-poll window as sysfs shows them (absent: `None`).
fn hint_for(driver: Option<&str>, halt_poll_ns: Option<&str>, busy_poll: bool) -> Option<String> {
    if busy_poll || driver.map(str::trim) != Some("haltpoll") {
        return None;
    }
    let ns: u64 = halt_poll_ns?.trim().parse().ok()?;
    (ns == 0).then(|| {
        format!(
            "this VM halts idle vCPUs without polling first ({HALT_POLL_NS} = 0): at low load each request \
             waits for the hypervisor to run a halted vCPU again (~140 us added per request at concurrency 1 \
             on the benchmark's VM, for HAProxy and nginx alike). \
             Linux's default is 200000; as root, `echo 200000 > {HALT_POLL_NS}` (or boot with \
             haltpoll.guest_halt_poll_ns=200000), or set server.busy_poll"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::hint_for;

    #[test]
    fn a_guest_that_halts_without_polling_gets_the_hint() {
        let hint = hint_for(Some("haltpoll\n"), Some("0\n"), false).expect("a hint");
        assert!(hint.contains("guest_halt_poll_ns = 0"), "{hint}");
        assert!(hint.contains("echo 200000 >"), "{hint}");
    }

    #[test]
    fn no_hint_where_the_guest_polls_or_the_gateway_does_or_nothing_is_known() {
        assert_eq!(hint_for(Some("haltpoll"), Some("200000"), false), None);
        assert_eq!(
            hint_for(Some("haltpoll"), Some("0"), true),
            None,
            "busy_poll on"
        );
        assert_eq!(
            hint_for(Some("intel_idle"), Some("0"), false),
            None,
            "not a KVM guest's driver"
        );
        assert_eq!(
            hint_for(None, None, false),
            None,
            "no sysfs (containers, other systems)"
        );
        assert_eq!(hint_for(Some("haltpoll"), Some("garbage"), false), None);
    }
}
