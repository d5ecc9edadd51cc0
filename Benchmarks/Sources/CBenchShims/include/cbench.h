// C shims for the benchmark driver: prctl and syscall are variadic, so Swift cannot call
// them directly.
#pragma once
#include <sys/types.h>

/// Makes this process a child subreaper: detached containers started by a CLI runtime
/// re-parent to it, so it can reap them (C: prctl is variadic).
int cbench_set_child_subreaper(void);

/// kcmp(KCMP_VM): 1 if `a` and `b` share one address space, 0 if not, -errno on failure
/// (C: syscall is variadic).
int cbench_same_vm(pid_t a, pid_t b);
