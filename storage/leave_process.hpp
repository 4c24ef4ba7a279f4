// Ending the process without waiting on the kernel's release of inotify instances.
#pragma once

namespace oimap::storage {

// Ends the process with code, as std::_Exit does (no destructors, no atexit
// handlers). The last close of an inotify instance keeps the closer in the
// kernel for an SRCU grace period however little it watched (5 to 22 ms
// measured here, against 0.1 ms for a process without one), and an exiting
// process is not reaped before its files are closed. So when such instances
// are open, a child keeping only those descriptors makes that last close once
// every thread of this process has let go of its files, and nobody waits for it.
[[noreturn]] void leave_process(int code) noexcept;

// The descriptors of this process that are inotify instances, in order.
int inotify_descriptors(int* out, int capacity) noexcept;

} // namespace oimap::storage
