//! Thread scheduling priority: background threads (the workers) step aside for the intake.

/// Lowers the calling thread's CPU priority to `niceness` (0 normal, 19 lowest). Best effort:
/// Linux only (elsewhere `setpriority` would change the whole process), and failures are ignored.
pub fn lower_current_thread(niceness: i32) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions; setpriority on our own thread id only changes
        // this thread's nice value and reports failure through its return value.
        unsafe {
            let tid = libc::gettid();
            let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, niceness);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = niceness;
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn lowers_only_this_thread() {
        let nice =
            |tid: libc::pid_t| unsafe { libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t) };
        let main_before = nice(unsafe { libc::gettid() });
        let seen = std::thread::spawn(move || {
            super::lower_current_thread(main_before + 5);
            nice(unsafe { libc::gettid() })
        })
        .join()
        .unwrap();
        assert_eq!(seen, (main_before + 5).min(19));
        assert_eq!(nice(unsafe { libc::gettid() }), main_before);
    }
}
