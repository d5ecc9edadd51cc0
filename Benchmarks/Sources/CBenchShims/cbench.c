#include "cbench.h"

#include <errno.h>
#include <linux/kcmp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int cbench_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : -errno;
}

int cbench_same_vm(pid_t a, pid_t b) {
    long r = syscall(SYS_kcmp, a, b, KCMP_VM, 0, 0);
    if (r < 0) return -errno;
    return r == 0 ? 1 : 0;
}
