//! The panic hook that remembers each thread's last panic message, for the `crashed` status a writer dropped during a panic writes.
//!
//! Installed once per process, the first time a writer that records its run starts. It
//! chains to the hook that was in place (the default one prints the message), so a user's
//! hook still runs and its output is never swallowed. A hook set later replaces this one; the
//! crashed status then has no message.

use std::cell::RefCell;
use std::sync::Once;

thread_local! {
    /// The message of the last panic on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the hook (once per process). Does nothing on a panicking thread: a hook cannot
/// be changed there.
pub(super) fn install_hook() {
    static INSTALL: Once = Once::new();
    if std::thread::panicking() {
        return;
    }
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("Box<dyn Any>");
            let message = match info.location() {
                Some(at) => format!("panicked at {at}: {text}"),
                None => format!("panicked: {text}"),
            };
            // `try_with`: the thread may be tearing down its locals.
            let _ = LAST_PANIC.try_with(|last| {
                if let Ok(mut last) = last.try_borrow_mut() {
                    *last = Some(message);
                }
            });
            previous(info);
        }));
    });
}

/// The message of the last panic on this thread, if the hook saw one.
pub(super) fn last_message() -> Option<String> {
    LAST_PANIC
        .try_with(|last| last.try_borrow().ok().and_then(|m| m.clone()))
        .ok()
        .flatten()
}
