//! The memory allocator: mimalloc, told to return freed pages at once.
//!
//! A rewrite's memory comes in waves: the file and its tree, then the plan
//! (thousands of small short-lived values), then the rewritten text, a
//! large block asked for after the plan is freed. glibc's allocator kept
//! the plan's pages, scattered among the few values that outlive it, and
//! mapped the rewritten text beside them. mimalloc returns a page to the
//! system as soon as it is empty (`purge_delay` 0, where its default waits
//! 10 ms), and allocates and frees in fewer instructions (glibc's were a
//! sixth of `check`'s). Transparent huge pages are off (the crate's
//! `no_thp`): with them, touching one byte of a fresh region made 2 MiB
//! resident. The fuzz targets keep the system allocator, which their
//! address sanitizer watches.

#[cfg(not(fuzzing))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: how many milliseconds an empty
/// page waits before it is returned to the system.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets the allocator's options; called first thing by the binary and the
/// bench, before the work allocates much.
pub fn configure() {
    // SAFETY: sets an option by its number, which mimalloc reads each
    // time it purges; any value is valid for it.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
}
