// The container's first process, from clone to execve.
//
// Rules (ARCHITECTURE.md, "the one rule of the C core"): raw system calls only (csb_sys.h),
// no malloc, no locks, no errno, no stack protector (the TLS is the parent thread's), no
// Swift. Every failure is reported as (step, errno, index) on the sync socket, then _exit.

#include "csb.h"
#include "csb_sys.h"
#include "csb_internal.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/prctl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <net/if.h>
#include <poll.h>
#include <sys/wait.h>

#pragma clang attribute push(__attribute__((no_stack_protector)), apply_to = function)

#ifndef PR_SET_NO_NEW_PRIVS
#define PR_SET_NO_NEW_PRIVS 38
#endif

#define CSB_PATH_MAX 4096

// MARK: - Small helpers (no libc)

static size_t c_strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

static void c_memset(void *p, int v, size_t n) {
    volatile unsigned char *b = p;
    while (n--) *b++ = (unsigned char)v;
}

/// Joins `a` "/" `b` into `out` (size CSB_PATH_MAX). Returns 0 or -ENAMETOOLONG.
static int c_join(char *out, const char *a, size_t alen, const char *b) {
    size_t blen = c_strlen(b);
    if (alen + 1 + blen + 1 > CSB_PATH_MAX) return -36;  // ENAMETOOLONG
    size_t i = 0;
    for (; i < alen; i++) out[i] = a[i];
    if (alen > 0 && out[alen - 1] != '/') out[i++] = '/';
    for (size_t j = 0; j < blen; j++) out[i++] = b[j];
    out[i] = 0;
    return 0;
}

static __attribute__((noreturn)) void c_exit(int code) {
    for (;;) CSB_SYS1(SYS_exit_group, code);
}

static void c_send(int sock, int kind, int step, int err, int index, int fd) {
    struct csb_message m = {.kind = kind, .step = step, .err = err, .index = index};
    char control[CMSG_SPACE(sizeof(int))];
    c_memset(control, 0, sizeof control);
    struct iovec iov = {.iov_base = &m, .iov_len = sizeof m};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        *(int *)CMSG_DATA(c) = fd;
    }
    long r;
    do { r = CSB_SYS3(SYS_sendmsg, sock, &msg, MSG_NOSIGNAL); } while (r == -4);  // EINTR
}

static __attribute__((noreturn)) void c_fail(const struct csb_plan *p, int step, long err, int index) {
    c_send(p->sync_slot, CSB_MSG_ERROR, step, (int)-err, index, -1);
    c_exit(127);
}

#define TRY(step, index, expr)                      \
    do {                                            \
        long _r = (expr);                           \
        if (_r < 0) c_fail(p, (step), _r, (index)); \
    } while (0)

static long c_open_in_root(int rootfd, const char *path, uint64_t flags, uint64_t resolve) {
    struct open_how how = {.flags = flags | O_CLOEXEC, .mode = 0, .resolve = resolve};
    long r;
    do { r = CSB_SYS4(SYS_openat2, rootfd, path, &how, sizeof how); } while (r == -4 || r == -11);
    return r;
}

static long c_write_file(const char *path, const char *data) {
    long fd = CSB_SYS4(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
    if (fd < 0) return fd;
    size_t len = c_strlen(data);
    long r = CSB_SYS3(SYS_write, fd, data, len);
    CSB_SYS1(SYS_close, fd);
    if (r < 0) return r;
    return r == (long)len ? 0 : -5;  // EIO on a short write
}

// MARK: - Paths inside the rootfs

/// Opens (creating directories, and the last component as a file when `as_file`) the path
/// `rel` inside `rootfd`, never leaving it. Symlinks met on the way are followed *inside*
/// the rootfs (an absolute link restarts at the rootfs, ".." stops at it), and what is
/// missing is created there, as runc's securejoin.MkdirAll does (SECURITY.md 3 and 6).
/// Returns an O_PATH fd or -errno.
static long c_make_in_root(int rootfd, const char *rel, uint32_t mode, int as_file, int create) {
    long fd = c_open_in_root(rootfd, rel, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    if (fd >= 0 || fd != -2 || !create) return fd;  // -ENOENT: create it

    char resolved[CSB_PATH_MAX];   // a symlink-free path relative to the root
    char remaining[CSB_PATH_MAX];  // what is left to walk
    char scratch[CSB_PATH_MAX];
    size_t rlen = 0;
    resolved[0] = 0;
    size_t n = c_strlen(rel);
    if (n + 1 > sizeof remaining) return -36;
    for (size_t i = 0; i <= n; i++) remaining[i] = rel[i];
    int links = 0;

    while (remaining[0]) {
        // Pop the first component of `remaining`.
        size_t start = 0;
        while (remaining[start] == '/') start++;
        size_t end = start;
        while (remaining[end] && remaining[end] != '/') end++;
        size_t clen = end - start;
        char component[256];
        if (clen >= sizeof component) return -36;
        for (size_t i = 0; i < clen; i++) component[i] = remaining[start + i];
        component[clen] = 0;
        size_t rest = end;
        while (remaining[rest] == '/') rest++;
        int last = remaining[rest] == 0;
        size_t k = 0;
        while (remaining[rest + k]) { remaining[k] = remaining[rest + k]; k++; }
        remaining[k] = 0;

        if (clen == 0 || (clen == 1 && component[0] == '.')) continue;
        if (clen == 2 && component[0] == '.' && component[1] == '.') {
            while (rlen > 0 && resolved[rlen - 1] != '/') rlen--;  // drop the last component
            if (rlen > 0) rlen--;
            resolved[rlen] = 0;
            continue;
        }
        long parent = rlen ? c_open_in_root(rootfd, resolved, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS)
                           : CSB_SYS3(SYS_dup, rootfd, 0, 0);
        if (parent < 0) return parent;
        struct stat st;
        long r = CSB_SYS4(SYS_newfstatat, parent, component, &st, AT_SYMLINK_NOFOLLOW);
        if (r == -2) {
            if (last && as_file) {
                struct open_how how = {.flags = O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                                       .mode = mode ? (mode & 07777) : 0644,
                                       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
                r = CSB_SYS4(SYS_openat2, parent, component, &how, sizeof how);
                if (r >= 0) CSB_SYS1(SYS_close, r);
            } else {
                r = CSB_SYS3(SYS_mkdirat, parent, component, mode ? (mode & 07777) : 0755);
            }
            if (r == -17) r = 0;  // EEXIST: raced with another creator
            st.st_mode = S_IFDIR;
        } else if (r == 0 && S_ISLNK(st.st_mode)) {
            // Follow the link inside the root: its target goes in front of what is left.
            if (++links > 40) { CSB_SYS1(SYS_close, parent); return -40; }  // ELOOP
            long len = CSB_SYS4(SYS_readlinkat, parent, component, scratch, sizeof scratch - 1);
            CSB_SYS1(SYS_close, parent);
            if (len < 0) return len;
            scratch[len] = 0;
            size_t rem = c_strlen(remaining);
            if ((size_t)len + 1 + rem + 1 > sizeof remaining) return -36;
            // remaining = target "/" remaining (shift right, then copy the target in)
            for (long i = (long)rem; i >= 0; i--) remaining[(size_t)len + 1 + (size_t)i] = remaining[i];
            for (long i = 0; i < len; i++) remaining[i] = scratch[i];
            remaining[len] = '/';
            if (scratch[0] == '/') { rlen = 0; resolved[0] = 0; }
            continue;
        }
        CSB_SYS1(SYS_close, parent);
        if (r < 0) return r;
        if (rlen + 1 + clen + 1 > sizeof resolved) return -36;
        if (rlen) resolved[rlen++] = '/';
        for (size_t i = 0; i < clen; i++) resolved[rlen++] = component[i];
        resolved[rlen] = 0;
    }
    return c_open_in_root(rootfd, rlen ? resolved : ".", O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

// MARK: - Mounts (new mount API: everything by fd)

static long c_move_to(int from, int target_fd) {
    return CSB_SYS5(SYS_move_mount, from, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

static long c_setattr(int fd, const char *path, unsigned flags, uint64_t set, uint64_t clr, uint64_t prop) {
    if (!set && !clr && !prop) return 0;
    struct mount_attr attr = {.attr_set = set, .attr_clr = clr, .propagation = prop};
    return CSB_SYS5(SYS_mount_setattr, fd, path, flags, &attr, sizeof attr);
}

/// Creates a detached mount for `m` and returns its fd, or -errno.
static long c_detached_mount(const struct csb_plan *p, const struct csb_mount *m) {
    unsigned recursive = (m->flags & CSB_MF_RECURSIVE) ? AT_RECURSIVE : 0;
    switch (m->kind) {
    case CSB_MOUNT_BIND:
        return CSB_SYS3(SYS_open_tree, AT_FDCWD, m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | recursive);
    case CSB_MOUNT_BIND_SLOT:
        return CSB_SYS3(SYS_open_tree, m->source_slot, "",
                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    case CSB_MOUNT_EMPTY_RO:
    case CSB_MOUNT_FS: {
        const char *type = m->kind == CSB_MOUNT_EMPTY_RO ? "tmpfs" : m->fstype;
        long fs = CSB_SYS2(SYS_fsopen, type, FSOPEN_CLOEXEC);
        if (fs < 0) return fs;
        long r = 0;
        if (m->source && m->kind == CSB_MOUNT_FS)
            r = CSB_SYS5(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", m->source, 0);
        else if (m->kind == CSB_MOUNT_EMPTY_RO)
            r = CSB_SYS5(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", "tmpfs", 0);
        if (r == 0 && m->options) {
            for (const char *const *o = (const char *const *)m->options; *o && r == 0; o++) {
                // "key=value" or "key": split in a stack copy.
                char kv[512];
                size_t n = c_strlen(*o);
                if (n + 1 > sizeof kv) { r = -36; break; }
                size_t eq = n;
                for (size_t i = 0; i <= n; i++) {
                    kv[i] = (*o)[i];
                    if (eq == n && (*o)[i] == '=') eq = i;
                }
                if (eq < n) {
                    kv[eq] = 0;
                    r = CSB_SYS5(SYS_fsconfig, fs, FSCONFIG_SET_STRING, kv, kv + eq + 1, 0);
                } else {
                    r = CSB_SYS5(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, kv, 0, 0);
                }
            }
        }
        if (r == 0) r = CSB_SYS5(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0);
        long mnt = r;
        if (r == 0) {
            uint64_t attrs = m->kind == CSB_MOUNT_EMPTY_RO ? MOUNT_ATTR_RDONLY : (m->attr_set & ~(uint64_t)MOUNT_ATTR_IDMAP);
            mnt = CSB_SYS3(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attrs);
        }
        CSB_SYS1(SYS_close, fs);
        (void)p;
        return mnt;
    }
    default:
        return -22;  // EINVAL
    }
}

static void c_do_mount(const struct csb_plan *p, int rootfd, const struct csb_mount *m, int index) {
    int create = !(m->flags & (CSB_MF_OPTIONAL | CSB_MF_NO_CREATE));
    long target;
    if (m->flags & CSB_MF_NO_SYMLINK) {
        // /proc and /sys targets must be real directories (CVE-2019-19921, CVE-2023-27561).
        target = c_open_in_root(rootfd, m->target, O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
        if (target == -2 && create) {
            long made = c_make_in_root(rootfd, m->target, m->mode, 0, 1);
            if (made >= 0) CSB_SYS1(SYS_close, made);
            target = c_open_in_root(rootfd, m->target, O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
        }
        if (target >= 0) {
            // O_PATH|O_NOFOLLOW opens a final symlink itself: refuse it explicitly.
            struct stat st;
            long r = CSB_SYS4(SYS_newfstatat, target, "", &st, AT_EMPTY_PATH);
            if (r == 0 && S_ISLNK(st.st_mode)) r = -40;  // ELOOP
            if (r < 0) c_fail(p, CSB_STEP_MOUNT_TARGET, r, index);
        }
    } else {
        target = c_make_in_root(rootfd, m->target, m->mode, (m->flags & CSB_MF_FILE) != 0, create);
    }
    if (target == -2 && (m->flags & CSB_MF_OPTIONAL)) return;
    if (target < 0) c_fail(p, CSB_STEP_MOUNT_TARGET, target, index);

    if (m->kind == CSB_MOUNT_MASK) {
        struct stat st;
        TRY(CSB_STEP_MASK, index, CSB_SYS4(SYS_newfstatat, target, "", &st, AT_EMPTY_PATH));
        long mnt;
        if (S_ISDIR(st.st_mode)) {
            struct csb_mount empty = *m;
            empty.kind = CSB_MOUNT_EMPTY_RO;
            mnt = c_detached_mount(p, &empty);
        } else {
            // What goes over a masked file is the container's own /dev/null, which this
            // process created, reached without following any link and checked to be the
            // null device before it is bound by fd (CVE-2025-31133).
            long null = c_open_in_root(rootfd, "dev/null", O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
            if (null < 0) c_fail(p, CSB_STEP_MASK, null, index);
            struct stat ns;
            TRY(CSB_STEP_MASK, index, CSB_SYS4(SYS_newfstatat, null, "", &ns, AT_EMPTY_PATH));
            if (!S_ISCHR(ns.st_mode) || ns.st_rdev != ((1 << 8) | 3)) c_fail(p, CSB_STEP_MASK, -18 /* EXDEV */, index);
            mnt = CSB_SYS3(SYS_open_tree, null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
            CSB_SYS1(SYS_close, null);
        }
        if (mnt < 0) c_fail(p, CSB_STEP_MASK, mnt, index);
        TRY(CSB_STEP_MASK, index, c_move_to((int)mnt, (int)target));
        CSB_SYS1(SYS_close, mnt);
        CSB_SYS1(SYS_close, target);
        return;
    }
    if (m->kind == CSB_MOUNT_REMOUNT) {
        // Readonly paths: bind the path over itself, then set the attributes on the copy.
        long tree = CSB_SYS3(SYS_open_tree, target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
        if (tree < 0) c_fail(p, CSB_STEP_MOUNT, tree, index);
        TRY(CSB_STEP_MOUNT, index, c_setattr((int)tree, "", AT_EMPTY_PATH | AT_RECURSIVE, m->attr_set, m->attr_clr, 0));
        TRY(CSB_STEP_MOUNT, index, c_move_to((int)tree, (int)target));
        CSB_SYS1(SYS_close, tree);
        CSB_SYS1(SYS_close, target);
        return;
    }

    long mnt = c_detached_mount(p, m);
    if (mnt < 0) c_fail(p, CSB_STEP_MOUNT, mnt, index);
    if (m->kind == CSB_MOUNT_BIND || m->kind == CSB_MOUNT_BIND_SLOT) {
        unsigned flags = AT_EMPTY_PATH | ((m->flags & CSB_MF_RECURSIVE) ? AT_RECURSIVE : 0);
        TRY(CSB_STEP_MOUNT, index, c_setattr((int)mnt, "", flags, m->attr_set, m->attr_clr, 0));
    }
    TRY(CSB_STEP_MOUNT, index, c_move_to((int)mnt, (int)target));
    CSB_SYS1(SYS_close, mnt);
    if (m->propagation) {
        // Propagation applies to the new mount, now on top of the target path.
        long top = c_open_in_root(rootfd, m->target, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (top < 0) c_fail(p, CSB_STEP_MOUNT, top, index);
        TRY(CSB_STEP_MOUNT, index,
            c_setattr((int)top, "", AT_EMPTY_PATH | ((m->flags & CSB_MF_RECURSIVE) ? AT_RECURSIVE : 0), 0, 0, m->propagation));
        CSB_SYS1(SYS_close, top);
    }
    CSB_SYS1(SYS_close, target);
}

// MARK: - Steps

static void c_shuffle_fds(const struct csb_plan *p) {
    // Move every source above all targets and sources first (so no dup3 clobbers a source
    // not yet moved), then place them.
    int high = p->first_free_fd;
    for (uint32_t i = 0; i < p->fd_count; i++) {
        if (p->fds[i].source >= high) high = p->fds[i].source + 1;
        if (p->fds[i].target >= high) high = p->fds[i].target + 1;
    }
    int moved[256];
    if (p->fd_count > 256) c_exit(126);
    for (uint32_t i = 0; i < p->fd_count; i++) {
        long r = CSB_SYS3(SYS_fcntl, p->fds[i].source, F_DUPFD_CLOEXEC, high);
        if (r < 0) c_exit(126);  // no sync socket yet to report on
        moved[i] = (int)r;
        high = (int)r + 1;
    }
    for (uint32_t i = 0; i < p->fd_count; i++) {
        long r = CSB_SYS3(SYS_dup3, moved[i], p->fds[i].target, p->fds[i].cloexec ? O_CLOEXEC : 0);
        if (r < 0) c_exit(126);
    }
    // Close everything else: the host's fds never reach the container (CVE-2024-21626).
    CSB_SYS3(SYS_close_range, p->first_free_fd, ~0U, 0);
}

static void c_reset_signals(const struct csb_plan *p) {
    // The parent's handlers were copied at clone; none may run on this stack.
    struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } act;
    c_memset(&act, 0, sizeof act);
    act.handler = SIG_DFL;
    for (int sig = 1; sig < 65; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        long r = CSB_SYS4(SYS_rt_sigaction, sig, &act, 0, 8);
        if (r < 0 && r != -22) c_fail(p, CSB_STEP_SIGNALS, r, sig);
    }
}

static void c_wait_go(const struct csb_plan *p, int cloned_into_cgroup) {
    if (p->go == CSB_GO_NEVER || (p->go == CSB_GO_UNLESS_IN_CGROUP && cloned_into_cgroup)) return;
    c_send(p->sync_slot, CSB_MSG_HELLO, 0, 0, -1, -1);
    struct csb_message m;
    c_memset(&m, 0, sizeof m);
    long r;
    do { r = CSB_SYS3(SYS_read, p->sync_slot, &m, sizeof m); } while (r == -4);
    if (r != (long)sizeof m || m.kind != CSB_MSG_GO) c_exit(125);  // parent gone or refused
}

/// A new network namespace starts with `lo` down; bring it up, as runc does (its default
/// "loopback" network), so 127.0.0.1 works in every container.
static void c_loopback_up(const struct csb_plan *p) {
    long sock = CSB_SYS3(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) c_fail(p, CSB_STEP_LOOPBACK, sock, 0);
    struct ifreq ifr;
    c_memset(&ifr, 0, sizeof ifr);
    ifr.ifr_name[0] = 'l';
    ifr.ifr_name[1] = 'o';
    TRY(CSB_STEP_LOOPBACK, 1, CSB_SYS3(SYS_ioctl, sock, SIOCGIFFLAGS, &ifr));
    ifr.ifr_flags |= IFF_UP;
    TRY(CSB_STEP_LOOPBACK, 2, CSB_SYS3(SYS_ioctl, sock, SIOCSIFFLAGS, &ifr));
    CSB_SYS1(SYS_close, sock);
}

// MARK: - Hooks run by the child (createContainer, startContainer)

struct c_hook_args {
    const struct csb_plan *plan;
    const struct csb_hook *hook;
    int stdin_fd;
    long exec_error;  ///< written by the hook process if execve fails (shared memory, vfork)
};

/// The hook process: its own fd table (no CLONE_FILES), on a stack in the parent's frame
/// while the parent is suspended (CLONE_VFORK) until execve.
static int c_hook_main(void *arg) {
    struct c_hook_args *a = arg;
    const struct csb_plan *p = a->plan;
    if (a->stdin_fd != 0) CSB_SYS3(SYS_dup3, a->stdin_fd, 0, 0);
    if (p->hook_output_slot >= 0) {
        CSB_SYS3(SYS_dup3, p->hook_output_slot, 1, 0);
        CSB_SYS3(SYS_dup3, p->hook_output_slot, 2, 0);
    }
    CSB_SYS3(SYS_close_range, 3, ~0U, 0);
    uint64_t empty = 0;
    CSB_SYS4(SYS_rt_sigprocmask, SIG_SETMASK, &empty, 0, 8);
    a->exec_error = CSB_SYS3(SYS_execve, a->hook->path, a->hook->argv, a->hook->envp);
    c_exit(127);
}

/// Runs `count` hooks in order, each with `state` on stdin; the first that cannot start,
/// fails or times out ends the setup with (step, CSB_HOOK_* | detail, index).
static void c_run_hooks(const struct csb_plan *p, const struct csb_hook *hooks, uint32_t count,
                        const char *state, uint32_t state_len, int step) {
    for (uint32_t i = 0; i < count; i++) {
        const struct csb_hook *h = &hooks[i];
        // A socket, not a pipe: MSG_NOSIGNAL keeps a hook that ignores stdin from leaving a
        // SIGPIPE pending, which would kill this process when it unblocks signals at execve.
        int pipefd[2];
        TRY(step, (int)i, CSB_SYS4(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pipefd));
        struct c_hook_args a = {.plan = p, .hook = h, .stdin_fd = pipefd[0], .exec_error = 0};
        char stack[16384] __attribute__((aligned(16)));
        int pidfd = -1;
        long pid = csb_clone(c_hook_main, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &a, &pidfd);
        CSB_SYS1(SYS_close, pipefd[0]);
        if (pid < 0) c_fail(p, step, pid, (int)i);
        siginfo_t info;
        if (a.exec_error < 0) {
            CSB_SYS5(SYS_waitid, 3 /* P_PIDFD */, pidfd, &info, WEXITED, 0);
            c_fail(p, step, a.exec_error, (int)i);
        }
        // A hook that does not read its stdin gets EPIPE here (SIGPIPE is blocked): fine.
        for (uint32_t off = 0; off < state_len;) {
            long w = CSB_SYS6(SYS_sendto, pipefd[1], state + off, state_len - off, MSG_NOSIGNAL, 0, 0);
            if (w == -4) continue;
            if (w <= 0) break;
            off += (uint32_t)w;
        }
        CSB_SYS1(SYS_close, pipefd[1]);
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN, .revents = 0};
        struct { long sec, nsec; } timeout = {h->timeout_ms / 1000, (h->timeout_ms % 1000) * 1000000};
        long r;
        do { r = CSB_SYS5(SYS_ppoll, &pfd, 1, h->timeout_ms > 0 ? &timeout : 0, 0, 8); } while (r == -4);
        if (r == 0) {
            CSB_SYS4(SYS_pidfd_send_signal, pidfd, SIGKILL, 0, 0);
            CSB_SYS5(SYS_waitid, 3, pidfd, &info, WEXITED, 0);
            c_fail(p, step, -(long)CSB_HOOK_TIMED_OUT, (int)i);
        }
        c_memset(&info, 0, sizeof info);
        do { r = CSB_SYS5(SYS_waitid, 3, pidfd, &info, WEXITED, 0); } while (r == -4);
        CSB_SYS1(SYS_close, pidfd);
        if (r < 0) c_fail(p, step, r, (int)i);
        if (info.si_code == CLD_EXITED && info.si_status == 0) continue;
        long failure = info.si_code == CLD_EXITED ? (CSB_HOOK_EXITED | (info.si_status & 0xff))
                                                  : (CSB_HOOK_SIGNALED | (info.si_status & 0xff));
        c_fail(p, step, -failure, (int)i);
    }
}

static void c_console(const struct csb_plan *p, int rootfd) {
    long ptmx = c_open_in_root(rootfd, "dev/pts/ptmx", O_RDWR | O_NOCTTY, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
    if (ptmx < 0) c_fail(p, CSB_STEP_CONSOLE, ptmx, 0);
    int unlock = 0;
    TRY(CSB_STEP_CONSOLE, 1, CSB_SYS3(SYS_ioctl, ptmx, TIOCSPTLCK, &unlock));
    // The peer comes from the master itself, never from a path (CVE-2025-52565).
    long peer = CSB_SYS3(SYS_ioctl, ptmx, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (peer < 0) c_fail(p, CSB_STEP_CONSOLE, peer, 2);
    if (p->console_rows || p->console_cols) {
        struct winsize ws = {.ws_row = p->console_rows, .ws_col = p->console_cols};
        CSB_SYS3(SYS_ioctl, peer, TIOCSWINSZ, &ws);
    }
    if (p->rootfs) {
        // A new container: its /dev/console is this pty, bound by fd. (A process exec'd
        // into a running container gets a pty of its own and leaves /dev/console alone.)
        long target = c_make_in_root(rootfd, "dev/console", 0666, 1, 1);
        if (target < 0) c_fail(p, CSB_STEP_CONSOLE, target, 3);
        long tree = CSB_SYS3(SYS_open_tree, peer, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (tree < 0) c_fail(p, CSB_STEP_CONSOLE, tree, 4);
        TRY(CSB_STEP_CONSOLE, 5, c_move_to((int)tree, (int)target));
        CSB_SYS1(SYS_close, tree);
        CSB_SYS1(SYS_close, target);
    }
    c_send(p->sync_slot, CSB_MSG_PTY, 0, 0, -1, (int)ptmx);
    CSB_SYS1(SYS_close, ptmx);
    TRY(CSB_STEP_SETSID, 0, CSB_SYS0(SYS_setsid));
    TRY(CSB_STEP_CONSOLE, 6, CSB_SYS3(SYS_ioctl, peer, TIOCSCTTY, 0));
    for (int fd = 0; fd < 3; fd++) TRY(CSB_STEP_CONSOLE, 7, CSB_SYS3(SYS_dup3, peer, fd, 0));
    CSB_SYS1(SYS_close, peer);
}

static void c_setup_rootfs(const struct csb_plan *p) {
    TRY(CSB_STEP_ROOT_PROPAGATION, -1, c_setattr(AT_FDCWD, "/", AT_RECURSIVE, 0, 0, p->root_propagation));
    if (p->rootfs_mount) {
        // The rootfs is an overlay only this mount namespace may see (an unprivileged user
        // can mount one in its own user namespace, not on the host): mount it on the
        // rootfs directory now that / no longer propagates back to the host.
        long fs = c_detached_mount(p, p->rootfs_mount);
        if (fs < 0) c_fail(p, CSB_STEP_ROOTFS_MOUNT, fs, -1);
        TRY(CSB_STEP_ROOTFS_MOUNT, -1, CSB_SYS5(SYS_move_mount, fs, "", AT_FDCWD, p->rootfs, MOVE_MOUNT_F_EMPTY_PATH));
        CSB_SYS1(SYS_close, fs);
    }
    // Make the rootfs a mount point of its own (pivot_root needs one).
    long tree = CSB_SYS3(SYS_open_tree, AT_FDCWD, p->rootfs, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (tree < 0) c_fail(p, CSB_STEP_ROOTFS_BIND, tree, -1);
    TRY(CSB_STEP_ROOTFS_BIND, -1, CSB_SYS5(SYS_move_mount, tree, "", AT_FDCWD, p->rootfs, MOVE_MOUNT_F_EMPTY_PATH));
    CSB_SYS1(SYS_close, tree);
    long rootfd = CSB_SYS4(SYS_openat, AT_FDCWD, p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (rootfd < 0) c_fail(p, CSB_STEP_ROOTFS_OPEN, rootfd, -1);

    for (uint32_t i = 0; i < p->mount_count; i++)
        if (!(p->mounts[i].flags & CSB_MF_AFTER_PIVOT)) c_do_mount(p, (int)rootfd, &p->mounts[i], (int)i);

    for (uint32_t i = 0; i < p->device_count; i++) {
        const struct csb_device *d = &p->devices[i];
        if (d->host_path) {
            struct csb_mount m = {.kind = CSB_MOUNT_BIND, .flags = CSB_MF_FILE, .source = d->host_path,
                                  .target = d->path, .mode = 0644, .source_slot = -1};
            c_do_mount(p, (int)rootfd, &m, (int)(p->mount_count + i));
            continue;
        }
        // Create the parent directory, then the node beneath it by name.
        char parent[CSB_PATH_MAX];
        size_t n = c_strlen(d->path), slash = 0;
        if (n + 1 > sizeof parent) c_fail(p, CSB_STEP_DEVICE, -36, (int)i);
        for (size_t k = 0; k <= n; k++) { parent[k] = d->path[k]; if (d->path[k] == '/') slash = k; }
        const char *name = d->path;
        long dirfd;
        if (slash) {
            parent[slash] = 0;
            name = d->path + slash + 1;
            dirfd = c_make_in_root((int)rootfd, parent, 0755, 0, 1);
        } else {
            dirfd = CSB_SYS3(SYS_dup, rootfd, 0, 0);
        }
        if (dirfd < 0) c_fail(p, CSB_STEP_DEVICE, dirfd, (int)i);
        long r = CSB_SYS4(SYS_mknodat, dirfd, name, d->mode, d->dev);
        if (r == -17) {  // EEXIST: replace whatever the image put there
            CSB_SYS3(SYS_unlinkat, dirfd, name, 0);
            r = CSB_SYS4(SYS_mknodat, dirfd, name, d->mode, d->dev);
        }
        if (r < 0) c_fail(p, CSB_STEP_DEVICE, r, (int)i);
        TRY(CSB_STEP_DEVICE, (int)i, CSB_SYS5(SYS_fchownat, dirfd, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW));
        // mknod honours the umask; set the mode the spec asked for.
        TRY(CSB_STEP_DEVICE, (int)i, CSB_SYS4(SYS_fchmodat, dirfd, name, d->mode & 07777, 0));
        CSB_SYS1(SYS_close, dirfd);
    }

    for (uint32_t i = 0; i < p->symlink_count; i++) {
        const struct csb_symlink *s = &p->symlinks[i];
        char parent[CSB_PATH_MAX];
        size_t n = c_strlen(s->path), slash = 0;
        if (n + 1 > sizeof parent) c_fail(p, CSB_STEP_SYMLINK, -36, (int)i);
        for (size_t k = 0; k <= n; k++) { parent[k] = s->path[k]; if (s->path[k] == '/') slash = k; }
        long dirfd = slash ? (parent[slash] = 0, c_make_in_root((int)rootfd, parent, 0755, 0, 1))
                           : CSB_SYS3(SYS_dup, rootfd, 0, 0);
        if (dirfd < 0) c_fail(p, CSB_STEP_SYMLINK, dirfd, (int)i);
        long r = CSB_SYS3(SYS_symlinkat, s->target, dirfd, slash ? s->path + slash + 1 : s->path);
        if (r < 0 && r != -17) c_fail(p, CSB_STEP_SYMLINK, r, (int)i);
        CSB_SYS1(SYS_close, dirfd);
    }

    if (p->console) c_console(p, (int)rootfd);

    if (p->cwd && p->cwd[0]) {
        // runc creates a missing cwd; create it inside the root, never through a link out.
        long cwd = c_make_in_root((int)rootfd, p->cwd, 0755, 0, 1);
        if (cwd < 0 && cwd != -20) c_fail(p, CSB_STEP_CWD_CREATE, cwd, -1);  // ENOTDIR: report at chdir
        if (cwd >= 0) CSB_SYS1(SYS_close, cwd);
    }

    if (p->hooks_sync) {
        // Mounts are in place and the old root is still reachable: the parent runs the
        // prestart and createRuntime hooks now, then createContainer runs here (runtime-spec
        // lifecycle steps 6–7), before pivot_root.
        c_send(p->sync_slot, CSB_MSG_HOOKS, 0, 0, -1, -1);
        struct csb_message m;
        c_memset(&m, 0, sizeof m);
        long r;
        do { r = CSB_SYS3(SYS_read, p->sync_slot, &m, sizeof m); } while (r == -4);
        if (r != (long)sizeof m || m.kind != CSB_MSG_GO) c_exit(125);  // a hook failed: the parent kills us
        c_run_hooks(p, p->create_container_hooks, p->create_container_hook_count, p->hook_state_creating,
                    p->hook_state_creating_len, CSB_STEP_CREATE_CONTAINER_HOOK);
    }

    TRY(CSB_STEP_PIVOT, 0, CSB_SYS1(SYS_fchdir, rootfd));
    if (p->no_pivot) {
        TRY(CSB_STEP_PIVOT, 1, CSB_SYS5(SYS_mount, ".", "/", 0, 0x2000 /* MS_MOVE */, 0));
        TRY(CSB_STEP_PIVOT, 2, CSB_SYS1(SYS_chroot, "."));
    } else {
        // pivot_root(".", ".") stacks the old root on top of the new one; detaching it
        // leaves only the new root, without a temporary directory in the rootfs.
        TRY(CSB_STEP_PIVOT, 1, CSB_SYS2(SYS_pivot_root, ".", "."));
        TRY(CSB_STEP_PIVOT, 2, c_setattr(AT_FDCWD, ".", AT_RECURSIVE, 0, 0, MS_SLAVE));
        TRY(CSB_STEP_PIVOT, 3, CSB_SYS2(SYS_umount2, ".", 2 /* MNT_DETACH */));
    }
    TRY(CSB_STEP_PIVOT, 4, CSB_SYS1(SYS_chdir, "/"));
    CSB_SYS1(SYS_close, rootfd);

    long newroot = CSB_SYS4(SYS_openat, AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (newroot < 0) c_fail(p, CSB_STEP_PIVOT, newroot, 5);
    for (uint32_t i = 0; i < p->sysctl_count; i++) {
        // Written after /proc is mounted and before /proc/sys is made read-only.
        TRY(CSB_STEP_SYSCTL, (int)i, c_write_file(p->sysctl_paths[i], p->sysctl_values[i]));
    }
    for (uint32_t i = 0; i < p->mount_count; i++)
        if (p->mounts[i].flags & CSB_MF_AFTER_PIVOT) c_do_mount(p, (int)newroot, &p->mounts[i], (int)i);
    if (p->readonly_root)
        TRY(CSB_STEP_READONLY_ROOT, -1, c_setattr((int)newroot, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY, 0, 0));
    if (p->rootfs_propagation)
        TRY(CSB_STEP_ROOTFS_PROPAGATION, -1, c_setattr((int)newroot, "", AT_EMPTY_PATH | AT_RECURSIVE, 0, 0, p->rootfs_propagation));
    CSB_SYS1(SYS_close, newroot);
}

static void c_identity(const struct csb_plan *p) {
    if (p->set_caps) {
        for (uint32_t cap = 0; cap <= p->cap_last; cap++) {
            if (p->cap_bounding & (1ULL << cap)) continue;
            long r = CSB_SYS2(SYS_prctl, PR_CAPBSET_DROP, cap);
            if (r < 0 && r != -22) c_fail(p, CSB_STEP_CAP_BOUNDING, r, (int)cap);
        }
        TRY(CSB_STEP_CAPS, -1, CSB_SYS2(SYS_prctl, PR_SET_KEEPCAPS, 1));
    }
    if (p->set_groups) TRY(CSB_STEP_GROUPS, -1, CSB_SYS2(SYS_setgroups, p->group_count, p->groups));
    TRY(CSB_STEP_SETGID, -1, CSB_SYS3(SYS_setresgid, p->gid, p->gid, p->gid));
    TRY(CSB_STEP_SETUID, -1, CSB_SYS3(SYS_setresuid, p->uid, p->uid, p->uid));
    if (p->set_caps) {
        TRY(CSB_STEP_CAPS, -1, CSB_SYS2(SYS_prctl, PR_SET_KEEPCAPS, 0));
        struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct data[2] = {
            {.effective = (uint32_t)p->cap_effective, .permitted = (uint32_t)p->cap_permitted,
             .inheritable = (uint32_t)p->cap_inheritable},
            {.effective = (uint32_t)(p->cap_effective >> 32), .permitted = (uint32_t)(p->cap_permitted >> 32),
             .inheritable = (uint32_t)(p->cap_inheritable >> 32)},
        };
        TRY(CSB_STEP_CAPS, -1, CSB_SYS2(SYS_capset, &header, data));
        for (uint32_t cap = 0; cap <= p->cap_last; cap++) {
            if (!(p->cap_ambient & (1ULL << cap))) continue;
            // A capability that is not both permitted and inheritable cannot be ambient;
            // runc (and `runc spec`'s default, which lists ambient caps but no inheritable
            // ones) skips those silently, and so do we.
            long r = CSB_SYS5(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
            if (r < 0 && r != -1 && r != -22) c_fail(p, CSB_STEP_AMBIENT, r, (int)cap);
        }
    }
}

static void c_seccomp(const struct csb_plan *p) {
    struct sock_fprog prog = {.len = (unsigned short)p->seccomp_len, .filter = (struct sock_filter *)p->seccomp_filter};
    long r = CSB_SYS3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->seccomp_flags, &prog);
    if (r < 0) c_fail(p, CSB_STEP_SECCOMP, r, -1);
    if (p->seccomp_notify) {
        c_send(p->sync_slot, CSB_MSG_SECCOMP, 0, 0, -1, (int)r);
        CSB_SYS1(SYS_close, r);
    }
}

/// Looks argv[0] up in PATH (inside the container) into `out`, as execvp would.
static long c_lookup(const struct csb_plan *p, char *out) {
    const char *name = p->argv[0];
    if (!name || !name[0]) return -2;
    for (const char *c = name; *c; c++) {
        if (*c == '/') {
            if (c_join(out, "", 0, name) < 0) return -36;
            long r = CSB_SYS4(SYS_faccessat, AT_FDCWD, name, X_OK, 0);
            return r < 0 ? r : 0;
        }
    }
    const char *path = (p->path_env && p->path_env[0]) ? p->path_env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    long first_error = -2;
    while (1) {
        const char *end = path;
        while (*end && *end != ':') end++;
        size_t len = (size_t)(end - path);
        if (c_join(out, len ? path : ".", len ? len : 1, name) == 0) {
            long r = CSB_SYS4(SYS_faccessat, AT_FDCWD, out, X_OK, 0);
            if (r == 0) {
                struct stat st;
                if (CSB_SYS4(SYS_newfstatat, AT_FDCWD, out, &st, 0) == 0 && S_ISREG(st.st_mode)) return 0;
                r = -13;  // EACCES: a directory is not executable
            }
            if (r == -13) first_error = r;
        }
        if (!*end) break;
        path = end + 1;
    }
    return first_error;
}

/// Phase 1, in the first child: own fds, default signals, non-dumpable, parent's go.
static void c_prepare(const struct csb_plan *p, int cloned_into_cgroup) {
    c_shuffle_fds(p);
    c_reset_signals(p);
    // Non-dumpable from clone to execve: nothing in the container can open /proc/<pid>/exe
    // of the process that set it up (CVE-2019-5736). The parent's go comes after it has
    // written the id maps and moved this process into the container's v2 cgroup.
    // An unprivileged parent (or the setuid newuidmap it runs) can only write our
    // /proc/<pid>/uid_map while this process is dumpable (a non-dumpable one's /proc files
    // belong to root). Nothing of the container exists before GO, and only the runtime's
    // own user could reach this process meanwhile; it turns non-dumpable right after.
    if (!p->dumpable_until_go) TRY(CSB_STEP_DUMPABLE, -1, CSB_SYS2(SYS_prctl, PR_SET_DUMPABLE, 0));
    // Into the container's v1 cgroups, by our own hand (see cgroup_task_slots), before any
    // of the container exists; the parent joins us to the v2 one if clone could not.
    for (uint32_t i = 0; i < p->cgroup_task_count; i++) {
        long r = CSB_SYS3(SYS_write, p->cgroup_task_slots[i], "0", 1);
        if (r >= 0 && r != 1) r = -5;  // EIO: a short write to a cgroup file
        TRY(CSB_STEP_CGROUP_JOIN, (int)i, r);
        CSB_SYS1(SYS_close, p->cgroup_task_slots[i]);
    }
    c_wait_go(p, cloned_into_cgroup);
    if (p->dumpable_until_go) TRY(CSB_STEP_DUMPABLE, -1, CSB_SYS2(SYS_prctl, PR_SET_DUMPABLE, 0));
    int user_namespace = (p->clone_flags & CSB_CLONE_NEWUSER) != 0;
    for (uint32_t i = 0; i < p->setns_count; i++) {
        TRY(CSB_STEP_SETNS, (int)i, CSB_SYS2(SYS_setns, p->setns_slots[i], p->setns_types[i]));
        CSB_SYS1(SYS_close, p->setns_slots[i]);
        if (p->setns_types[i] == CSB_CLONE_NEWUSER) user_namespace = 1;
    }
    if (user_namespace) {
        // In a new or joined user namespace we start as the overflow uid: become the
        // namespace's root (mapped by the parent) for the rest of the setup.
        TRY(CSB_STEP_SETGID, -1, CSB_SYS3(SYS_setresgid, 0, 0, 0));
        TRY(CSB_STEP_SETUID, -1, CSB_SYS3(SYS_setresuid, 0, 0, 0));
    }
}

/// Phase 2, in the process that becomes the container's process.
static int c_finish(const struct csb_plan *p) {
    // cgroup and time namespaces are created only now: after the parent moved us into the
    // container's cgroup (so that is the namespace's root) and before anything runs in them.
    if (p->unshare_flags) TRY(CSB_STEP_UNSHARE, -1, CSB_SYS1(SYS_unshare, p->unshare_flags));
    if (p->timens_offsets) TRY(CSB_STEP_TIMENS, -1, c_write_file("/proc/self/timens_offsets", p->timens_offsets));
    if (p->clone_flags & CSB_CLONE_NEWNET) c_loopback_up(p);
    if (p->send_netns) {
        // Our own namespace file: opening it needs no ptrace access, unlike the parent's
        // open of /proc/<pid>/ns/net of this non-dumpable process would.
        long ns = CSB_SYS4(SYS_openat, AT_FDCWD, "/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC, 0);
        if (ns < 0) c_fail(p, CSB_STEP_NETNS_SEND, ns, -1);
        c_send(p->sync_slot, CSB_MSG_NETNS, 0, 0, -1, (int)ns);
        CSB_SYS1(SYS_close, ns);
    }
    if (p->hostname) TRY(CSB_STEP_HOSTNAME, -1, CSB_SYS2(SYS_sethostname, p->hostname, c_strlen(p->hostname)));
    if (p->domainname) TRY(CSB_STEP_DOMAINNAME, -1, CSB_SYS2(SYS_setdomainname, p->domainname, c_strlen(p->domainname)));
    if (p->rootfs) c_setup_rootfs(p);
    if (p->console && !p->rootfs) {
        // exec with a terminal: the pty comes from the container's own devpts instance.
        long root = CSB_SYS4(SYS_openat, AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (root < 0) c_fail(p, CSB_STEP_CONSOLE, root, -1);
        c_console(p, (int)root);
        CSB_SYS1(SYS_close, root);
    }

    for (uint32_t i = 0; i < p->rlimit_count; i++) {
        struct { uint64_t cur, max; } lim = {p->rlimits[i].soft, p->rlimits[i].hard};
        TRY(CSB_STEP_RLIMIT, (int)i, CSB_SYS4(SYS_prlimit64, 0, p->rlimits[i].resource, &lim, 0));
    }
    if (p->personality >= 0) TRY(CSB_STEP_PERSONALITY, -1, CSB_SYS1(SYS_personality, p->personality));
    if (p->ioprio >= 0) TRY(CSB_STEP_IOPRIO, -1, CSB_SYS3(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, p->ioprio));
    if (p->sched_attr) TRY(CSB_STEP_SCHED, -1, CSB_SYS3(SYS_sched_setattr, 0, p->sched_attr, 0));
    if (p->cpu_affinity)
        TRY(CSB_STEP_AFFINITY, -1, CSB_SYS3(SYS_sched_setaffinity, 0, p->cpu_affinity_words * 8, p->cpu_affinity));
    if (p->umask >= 0) CSB_SYS1(SYS_umask, p->umask);

    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while the setup
    // still has it, before the capabilities and ids change (as runc does). The rest of the
    // setup then runs under the filter, as in runc.
    int seccomp_before_identity = p->seccomp_filter && p->seccomp_early && !p->no_new_privs;
    if (seccomp_before_identity) c_seccomp(p);

    c_identity(p);

    if (p->cwd && p->cwd[0]) {
        // Resolve the cwd inside the container's root, never through a leaked fd or a link
        // out of it (CVE-2024-21626).
        long root = CSB_SYS4(SYS_openat, AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (root < 0) c_fail(p, CSB_STEP_CWD, root, -1);
        long dir = c_open_in_root((int)root, p->cwd, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (dir < 0) c_fail(p, CSB_STEP_CWD, dir, -1);
        TRY(CSB_STEP_CWD, -1, CSB_SYS1(SYS_fchdir, dir));
        CSB_SYS1(SYS_close, dir);
        CSB_SYS1(SYS_close, root);
    }

    // Fail at create, not at start, when there is nothing to execute (as runc does).
    char exe[CSB_PATH_MAX];
    long found = c_lookup(p, exe);
    if (found < 0) c_fail(p, CSB_STEP_LOOKUP, found, -1);

    if (p->no_new_privs) TRY(CSB_STEP_NO_NEW_PRIVS, -1, CSB_SYS5(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    if (p->seccomp_filter && p->seccomp_early && !seccomp_before_identity) c_seccomp(p);

    c_send(p->sync_slot, CSB_MSG_CREATED, 0, 0, -1, -1);
    if (p->fifo_slot >= 0) {
        // Created: block here until `start` writes a byte into the fifo.
        char byte;
        long r;
        do { r = CSB_SYS3(SYS_read, p->fifo_slot, &byte, 1); } while (r == -4);
        if (r != 1) c_fail(p, CSB_STEP_WAIT_START, r < 0 ? r : -32, -1);
        CSB_SYS1(SYS_close, p->fifo_slot);
    }
    // After start, before the user program, in the container (runtime-spec step 9).
    c_run_hooks(p, p->start_container_hooks, p->start_container_hook_count, p->hook_state_created,
                p->hook_state_created_len, CSB_STEP_START_CONTAINER_HOOK);
    // Loaded as late as possible, so the profile need allow only execve after it.
    if (p->seccomp_filter && !p->seccomp_early) c_seccomp(p);

    // Unblock signals only now: the inherited mask was "all blocked" since clone.
    uint64_t empty = 0;
    CSB_SYS4(SYS_rt_sigprocmask, SIG_SETMASK, &empty, 0, 8);
    long r = CSB_SYS3(SYS_execve, exe, p->argv, p->envp);
    c_fail(p, CSB_STEP_EXEC, r, -1);
}

// MARK: - Entry

static int c_grandchild(void *arg) {
    return c_finish((const struct csb_plan *)arg);
}

/// Entry of the first child (called by csb_spawn through glibc's clone, which switches
/// to the private stack and never returns into the caller's frame).
int csb_child_main(void *arg) {
    const struct csb_child_args *a = arg;
    const struct csb_plan *p = a->plan;
    c_prepare(p, a->cloned_into_cgroup);
    if (!p->fork_after_setns) return c_finish(p);

    // A joined pid namespace applies to children only: continue in a child that the
    // parent (CLONE_PARENT) owns and reaps, on the second half of the stack.
    int pidfd = -1;
    long pid = csb_clone(c_grandchild, a->second_stack_top, CLONE_VM | CLONE_PARENT | CLONE_PIDFD, (void *)p, &pidfd);
    if (pid < 0) c_fail(p, CSB_STEP_FORK, pid, -1);
    c_send(p->sync_slot, CSB_MSG_PID, 0, 0, (int)pid, pidfd);
    c_exit(0);
}

#pragma clang attribute pop
