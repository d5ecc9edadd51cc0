// Parent-side helpers of the C core: spawning the child, and the small pieces of the
// kernel API that Swift cannot call directly (variadic ioctl, opaque sigset_t, cmsg).

#include "csb.h"
#include "csb_internal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/sysmacros.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/un.h>
#include <linux/sched.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

long csb_clone(int (*fn)(void *), void *stack_top, int flags, void *arg, int *pidfd) {
    int pid = clone(fn, stack_top, flags, arg, pidfd, NULL, NULL);
    return pid < 0 ? -(long)errno : pid;
}

// Two stacks in one mapping: the upper half for the first child, the lower half for
// the process it forks when it must enter a joined pid namespace. Returns the first
// child's (16-byte aligned) stack top, below its arguments.
static char *csb_child_stack(const struct csb_plan *plan, void *stack, size_t stack_size, struct csb_child_args **out) {
    char *base = stack;
    size_t half = (stack_size / 2) & ~(size_t)15;
    struct csb_child_args *args = (struct csb_child_args *)(base + stack_size - 64);
    args->plan = plan;
    args->second_stack_top = base + half;
    args->cloned_into_cgroup = 0;
    *out = args;
    return (char *)((uintptr_t)((char *)args - 64) & ~(uintptr_t)15);
}

int csb_spawn(const struct csb_plan *plan, void *stack, size_t stack_size, int *pidfd) {
    struct csb_child_args *args;
    char *top = csb_child_stack(plan, stack, stack_size, &args);
    *pidfd = -1;
    int flags = CLONE_VM | CLONE_PIDFD | SIGCHLD | (int)plan->clone_flags;
    long pid = csb_clone(csb_child_main, top, flags, args, pidfd);
    return (int)pid;
}

#define CSB_STR2(x) #x
#define CSB_STR(x) CSB_STR2(x)

// clone3 with a private stack. The child comes back from the system call on that stack,
// with no frame to return into: it must call `fn` and exit right there, which only
// assembly can say (glibc has no public clone3). The parent gets the child's pid or -errno.
__attribute__((naked, noinline)) static long csb_clone3_call(struct clone_args *args, size_t size, int (*fn)(void *), void *arg) {
#if defined(__x86_64__)
    __asm__ volatile(
        // fn and arg live through the syscall in r8/r9 (it clobbers only rax, rcx, r11).
        "mov %rdx, %r8\n"
        "mov %rcx, %r9\n"
        "mov $" CSB_STR(SYS_clone3) ", %eax\n"
        "syscall\n"
        "test %rax, %rax\n"
        "jz 1f\n"
        "ret\n"
        "1:\n"
        "xor %ebp, %ebp\n"    // outermost frame
        "mov %r9, %rdi\n"
        "call *%r8\n"
        "mov %eax, %edi\n"
        "mov $" CSB_STR(SYS_exit) ", %eax\n"
        "syscall\n"
        "hlt\n");
#elif defined(__aarch64__)
    __asm__ volatile(
        // The kernel preserves every register but x0 across svc.
        "mov x10, x2\n"
        "mov x11, x3\n"
        "mov x8, #" CSB_STR(SYS_clone3) "\n"
        "svc #0\n"
        "cbz x0, 1f\n"
        "ret\n"
        "1:\n"
        "mov x29, xzr\n"
        "mov x30, xzr\n"
        "mov x0, x11\n"
        "blr x10\n"
        "mov x8, #" CSB_STR(SYS_exit) "\n"
        "svc #0\n"
        "brk #0\n");
#else
#error "Caisson's C core supports x86_64 and aarch64"
#endif
}

// Set once the kernel has shown it has no clone3 (ENOSYS) or no CLONE_INTO_CGROUP (E2BIG:
// the larger clone_args): later spawns go straight to clone.
static int csb_clone3_unsupported;

int csb_spawn_into_cgroup(const struct csb_plan *plan, void *stack, size_t stack_size, int cgroup_fd,
                          int *pidfd, int *into_cgroup) {
    *into_cgroup = 0;
    if (cgroup_fd >= 0 && !__atomic_load_n(&csb_clone3_unsupported, __ATOMIC_RELAXED)) {
        struct csb_child_args *args;
        char *top = csb_child_stack(plan, stack, stack_size, &args);
        *pidfd = -1;
        struct clone_args clone_args;
        memset(&clone_args, 0, sizeof clone_args);
        clone_args.flags = CLONE_VM | CLONE_PIDFD | CLONE_INTO_CGROUP | plan->clone_flags;
        clone_args.pidfd = (uint64_t)(uintptr_t)pidfd;
        clone_args.exit_signal = SIGCHLD;
        clone_args.stack = (uint64_t)(uintptr_t)stack;
        clone_args.stack_size = (uint64_t)(top - (char *)stack);
        clone_args.cgroup = (uint64_t)cgroup_fd;
        args->cloned_into_cgroup = 1;  // read by the child only if this clone succeeds
        long pid = csb_clone3_call(&clone_args, sizeof clone_args, csb_child_main, args);
        if (pid > 0) {
            *into_cgroup = 1;
            return (int)pid;
        }
        if (pid == -ENOSYS || pid == -E2BIG) __atomic_store_n(&csb_clone3_unsupported, 1, __ATOMIC_RELAXED);
        // Whatever the refusal (also the cgroup's own: EBUSY, EOPNOTSUPP, EACCES), clone
        // the old way: the parent moves the child into its cgroups before GO.
    }
    return csb_spawn(plan, stack, stack_size, pidfd);
}

int csb_send_message(int sock, const struct csb_message *message, int fd) {
    char control[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    struct iovec iov = {.iov_base = (void *)message, .iov_len = sizeof *message};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    ssize_t r;
    do { r = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

int csb_recv_message(int sock, struct csb_message *message, int *fd) {
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = message, .iov_len = sizeof *message};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    *fd = -1;
    ssize_t r;
    do { r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (r < 0 && errno == EINTR);
    if (r < 0) return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(c), sizeof *fd);
    }
    return (int)r;
}

void csb_block_all_signals(void *old) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, (sigset_t *)old);
}

void csb_restore_signals(const void *old) {
    pthread_sigmask(SIG_SETMASK, (const sigset_t *)old, NULL);
}

int csb_pidfd_open(pid_t pid, unsigned int flags) {
    long r = syscall(SYS_pidfd_open, pid, flags);
    return r < 0 ? -errno : (int)r;
}

int csb_pidfd_send_signal(int pidfd, int sig) {
    long r = syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
    return r < 0 ? -errno : 0;
}

int csb_pidfd_reap(int pidfd, int nohang, int *exited_code, int *killed_signal) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int r;
    do { r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | (nohang ? WNOHANG : 0)); } while (r < 0 && errno == EINTR);
    if (r < 0) return -errno;
    if (info.si_pid == 0) return 0;
    *exited_code = -1;
    *killed_signal = 0;
    if (info.si_code == CLD_EXITED) *exited_code = info.si_status;
    else *killed_signal = info.si_status;
    return 1;
}

int csb_set_winsize(int fd, uint16_t rows, uint16_t cols) {
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

uint64_t csb_makedev(uint32_t major, uint32_t minor) { return makedev(major, minor); }
uint32_t csb_major(uint64_t dev) { return major(dev); }
uint32_t csb_minor(uint64_t dev) { return minor(dev); }

int csb_open_path(const char *path) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int csb_memfd(const char *name) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int csb_spawn_hook(const char *path, char *const argv[], char *const envp[], int in_fd, int out_fd, int *pidfd) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&actions, in_fd, 0);
    posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int r = posix_spawn(&pid, path, &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (r != 0) return -r;
    // Not reaped yet, so the pid cannot have been reused.
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) {
        int e = errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -e;
    }
    *pidfd = fd;
    return pid;
}

int csb_eventfd(void) {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

int csb_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC) < 0 ? -errno : 0; }

int csb_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int csb_epoll_arm(int epfd, int fd) {
    struct epoll_event event = {.events = EPOLLIN | EPOLLHUP | EPOLLONESHOT, .data.fd = fd};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event) == 0) return 0;
    if (errno != EEXIST) return -errno;
    return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &event) == 0 ? 0 : -errno;
}

int csb_epoll_remove(int epfd, int fd) {
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) == 0 ? 0 : -errno;
}

int csb_epoll_wait(int epfd, int *fds, int max) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epfd, events, max, -1);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) fds[i] = events[i].data.fd;
    return n;
}

int csb_send_fd_to_path(const char *path, const void *data, size_t length, int fd) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof address.sun_path) return -ENAMETOOLONG;
    strcpy(address.sun_path, path);
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return -errno;
    int r;
    do { r = connect(sock, (struct sockaddr *)&address, sizeof address); } while (r < 0 && errno == EINTR);
    if (r < 0) {
        r = -errno;
        close(sock);
        return r;
    }
    char control[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    struct iovec iov = {.iov_base = (void *)data, .iov_len = length};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t sent;
    do { sent = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (sent < 0 && errno == EINTR);
    r = sent < 0 ? -errno : 0;
    close(sock);
    return r;
}
