// Declarations shared by the C core's files (not exported to Swift).
#ifndef CSB_INTERNAL_H
#define CSB_INTERNAL_H

#include "csb.h"

/// Arguments of the first child, placed at the top of its stack by csb_spawn.
struct csb_child_args {
    const struct csb_plan *plan;
    void *second_stack_top;  ///< stack of the process forked after joining a pid namespace
    int cloned_into_cgroup;  ///< clone3 started the child in its v2 cgroup (CLONE_INTO_CGROUP)
};

/// The first child's entry point (csb_child.c).
int csb_child_main(void *arg);

/// glibc's clone(): the stack switch needs its assembly. Returns pid or -errno; writes the
/// pidfd through `pidfd` with CLONE_PIDFD. Touches errno only when it fails.
long csb_clone(int (*fn)(void *), void *stack_top, int flags, void *arg, int *pidfd);

#endif
