// The C core of Caisson's Sandbox: everything between clone and execve.
//
// Why C: the child runs on a borrowed stack while sharing the caller's address space
// (CLONE_VM, posix_spawn-style), so it must not touch the Swift runtime, malloc, locks,
// TLS or errno. Every step here is a raw system call; failures are reported to the
// parent as (step, errno, index) over a CLOEXEC socket and the child leaves with _exit.
//
// The parent (Swift) compiles the OCI runtime spec into one flat `csb_plan` beforehand:
// every path, flag, mapping and BPF instruction is resolved, so the child only executes.

#ifndef CSB_H
#define CSB_H

#include <stdint.h>
#include <sys/types.h>

// MARK: - Plan
// Pointer fields are _Nullable so Swift can zero-initialise the structs.

/// One fd the child installs at `target` before anything else (stdio, passed fds and the
/// runtime's own channels). Why C: part of the child's pre-exec fd shuffle.
struct csb_fd_map {
    int32_t source;   ///< fd number in the parent at clone time
    int32_t target;   ///< fd number in the child
    int32_t cloexec;  ///< 1: close on execve (runtime-internal), 0: passed to the container
};

/// Namespace clone flags, spelled out because glibc's headers do not all carry them
/// (CLONE_NEWTIME). Why C: shared by the plan builder and the child.
enum csb_namespace_flag {
    CSB_CLONE_NEWTIME = 0x00000080,
    CSB_CLONE_NEWNS = 0x00020000,
    CSB_CLONE_NEWCGROUP = 0x02000000,
    CSB_CLONE_NEWUTS = 0x04000000,
    CSB_CLONE_NEWIPC = 0x08000000,
    CSB_CLONE_NEWUSER = 0x10000000,
    CSB_CLONE_NEWPID = 0x20000000,
    CSB_CLONE_NEWNET = 0x40000000,
};

/// Kinds of mount step. Why C: executed by the child in its own mount namespace.
enum csb_mount_kind {
    CSB_MOUNT_BIND = 1,      ///< bind `source` (host path) over `target`
    CSB_MOUNT_FS = 2,        ///< new filesystem `fstype` with `options`
    CSB_MOUNT_BIND_SLOT = 3, ///< bind the object behind fd slot `source_slot` (e.g. /dev/null)
    CSB_MOUNT_EMPTY_RO = 4,  ///< an empty read-only tmpfs (masks a directory)
    CSB_MOUNT_REMOUNT = 5,   ///< change attributes of the mount at `target` (readonly paths)
    CSB_MOUNT_MASK = 6,      ///< masked path: the verified /dev/null over a file, an empty ro tmpfs over a dir
};

/// Flags of a mount step. Why C: read by the child.
enum csb_mount_flags {
    CSB_MF_RECURSIVE = 1 << 0,   ///< rbind / attributes applied recursively
    CSB_MF_FILE = 1 << 1,        ///< create the target as a file, not a directory
    CSB_MF_NO_SYMLINK = 1 << 2,  ///< the target must not be a symlink (/proc, /sys)
    CSB_MF_OPTIONAL = 1 << 3,    ///< a missing target is skipped (masked/readonly paths)
    CSB_MF_AFTER_PIVOT = 1 << 4, ///< runs after pivot_root, `target` relative to the new /
    CSB_MF_NO_CREATE = 1 << 5,   ///< never create the target (must exist)
};

/// One mount, fully resolved by the parent. Why C: executed by the child.
struct csb_mount {
    uint32_t kind;                           ///< enum csb_mount_kind
    uint32_t flags;                          ///< enum csb_mount_flags
    const char *_Nullable source;            ///< bind source (absolute host path) or fs source
    const char *_Nullable target;            ///< path inside the rootfs, relative ("proc", "dev/pts")
    const char *_Nullable fstype;            ///< filesystem type for CSB_MOUNT_FS
    const char *_Nullable const *_Nullable options; ///< NULL-terminated "key" / "key=value" for fsconfig
    uint64_t attr_set;                       ///< MOUNT_ATTR_* to set
    uint64_t attr_clr;                       ///< MOUNT_ATTR_* to clear
    uint64_t propagation;                    ///< MS_SHARED / MS_SLAVE / MS_PRIVATE / MS_UNBINDABLE, or 0
    int32_t source_slot;                     ///< fd slot for CSB_MOUNT_BIND_SLOT
    uint32_t mode;                           ///< mode for created directories/files
};

/// A device node created (or bind-mounted from the host) under the rootfs. Why C: child.
struct csb_device {
    const char *_Nullable path;  ///< relative to the rootfs ("dev/null")
    const char *_Nullable host_path; ///< bind source when nodes cannot be created (user ns)
    uint32_t mode;           ///< S_IFCHR/S_IFBLK/S_IFIFO | permissions
    uint64_t dev;            ///< makedev(major, minor)
    uint32_t uid, gid;
};

/// A symlink created under the rootfs (/dev/fd, /dev/stdin...). Why C: child.
struct csb_symlink {
    const char *_Nullable target;   ///< what the link points to
    const char *_Nullable path;     ///< relative to the rootfs
};

/// One resource limit. Why C: applied by the child with prlimit.
struct csb_rlimit {
    int32_t resource;
    uint64_t soft, hard;
};

/// An OCI hook the child runs itself (createContainer, startContainer): fork-free
/// (CLONE_VM|CLONE_VFORK on a stack in the child's frame), the state JSON on stdin,
/// stdout and stderr into the runtime's hook-output memfd. Why C: runs between clone and execve.
struct csb_hook {
    const char *_Nullable path;                       ///< absolute path of the executable
    const char *_Nullable const *_Nullable argv;      ///< NULL-terminated
    const char *_Nullable const *_Nullable envp;      ///< NULL-terminated
    int64_t timeout_ms;                               ///< killed after this long; 0: no timeout
};

/// How a failed hook is reported in csb_message.err (errno values stay below these).
/// Why C: encoded by the child.
enum csb_hook_failure {
    CSB_HOOK_EXITED = 0x10000,    ///< | exit status
    CSB_HOOK_SIGNALED = 0x20000,  ///< | signal number
    CSB_HOOK_TIMED_OUT = 0x30000,
};

/// Everything the child needs, resolved by the parent. Lives in memory the parent keeps
/// mapped until the child has exec'd or died. Why C: read by the child without the runtime.
struct csb_plan {
    // Namespaces
    uint64_t clone_flags;        ///< CLONE_NEW* created at clone (not cgroup/time)
    uint64_t unshare_flags;      ///< CLONE_NEWCGROUP / CLONE_NEWTIME, after the parent's go
    const int32_t *_Nullable setns_slots;  ///< fd slots of namespaces to join
    const int32_t *_Nullable setns_types;  ///< their CLONE_NEW* type
    uint32_t setns_count;
    uint32_t fork_after_setns;   ///< joining a pid/time namespace: continue in a child
    const char *_Nullable timens_offsets;  ///< written to /proc/self/timens_offsets

    // Identity of the container
    const char *_Nullable hostname;
    const char *_Nullable domainname;

    // Filesystem
    const char *_Nullable rootfs;          ///< absolute host path; NULL: keep the host root (exec)
    uint64_t root_propagation;   ///< MS_* applied to / at the start (MS_REC|MS_SLAVE default)
    uint64_t rootfs_propagation; ///< rootfsPropagation applied after pivot, or 0
    uint32_t readonly_root;
    uint32_t no_pivot;           ///< chroot instead of pivot_root (runc --no-pivot)
    const struct csb_mount *_Nullable mounts;
    uint32_t mount_count;
    const struct csb_device *_Nullable devices;
    uint32_t device_count;
    const struct csb_symlink *_Nullable symlinks;
    uint32_t symlink_count;
    const char *_Nullable const *_Nullable sysctl_paths;  ///< "/proc/sys/net/ipv4/ip_forward"
    const char *_Nullable const *_Nullable sysctl_values;
    uint32_t sysctl_count;
    uint32_t console;            ///< allocate a pty in the container's devpts, bind on /dev/console
    uint16_t console_rows, console_cols;

    // Process
    const char *_Nullable cwd;              ///< absolute path inside the container
    const char *_Nullable const *_Nullable argv;      ///< NULL-terminated
    const char *_Nullable const *_Nullable envp;      ///< NULL-terminated
    const char *_Nullable path_env;         ///< PATH used to look argv[0] up ("" if none)
    uint32_t uid, gid;
    const uint32_t *_Nullable groups;
    uint32_t group_count;
    uint32_t set_groups;         ///< call setgroups (0 when denied in a user namespace)
    int32_t umask;               ///< -1: leave as is
    const struct csb_rlimit *_Nullable rlimits;
    uint32_t rlimit_count;
    uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
    uint32_t cap_last;           ///< highest capability number the kernel knows
    uint32_t set_caps;           ///< 0: leave capabilities alone
    uint32_t no_new_privs;
    int64_t personality;         ///< -1: leave
    int32_t ioprio;              ///< -1: leave; else IOPRIO_PRIO_VALUE(class, data)
    const void *_Nullable sched_attr;  ///< struct sched_attr, or NULL
    const uint64_t *_Nullable cpu_affinity; ///< cpu_set_t words, or NULL
    uint32_t cpu_affinity_words;
    const void *_Nullable seccomp_filter;  ///< struct sock_filter[], or NULL
    uint32_t seccomp_len;        ///< number of BPF instructions
    uint32_t seccomp_flags;      ///< SECCOMP_FILTER_FLAG_*
    uint32_t seccomp_early;      ///< load before waiting for start (notify, or no NNP)
    uint32_t seccomp_notify;     ///< flags include NEW_LISTENER: send the fd to the parent

    // Runtime channels
    const struct csb_fd_map *_Nullable fds;
    uint32_t fd_count;
    int32_t first_free_fd;       ///< everything at or above this (but the slots) is closed
    int32_t sync_slot;           ///< socket to the parent (SOCK_SEQPACKET)
    int32_t fifo_slot;           ///< start fifo held open O_RDWR: read blocks until start; -1 none
    int32_t exec_after_fifo;     ///< 1 normal; the fifo byte releases execve
    /// The container's cgroup v1 `tasks` files (opened by the parent): the child writes "0"
    /// to each, moving only itself. Moving one's own single thread skips the kernel's
    /// global threadgroup lock, whose write side waits an RCU grace period (10-15 ms here)
    /// when the parent writes the pid to `cgroup.procs` (and blocks every fork meanwhile).
    const int32_t *_Nullable cgroup_task_slots;
    uint32_t cgroup_task_count;
    /// Whether the child says HELLO and waits for the parent's GO (enum csb_go). The
    /// parent's part — id maps, joining cgroups it could not enter itself, oom_score_adj —
    /// is often empty; then the round trip is skipped.
    uint32_t go;
    /// Send the new network namespace (an fd, CSB_MSG_NETNS) once loopback is up: the
    /// parent hands it to whoever configures the network (slirp4netns for a rootless
    /// container, whose user may not open this non-dumpable process's /proc/<pid>/ns).
    uint32_t send_netns;

    // Hooks (create only)
    uint32_t hooks_sync;         ///< after the mounts, before pivot_root: send CSB_MSG_HOOKS and wait for GO
    const struct csb_hook *_Nullable create_container_hooks;
    uint32_t create_container_hook_count;
    const struct csb_hook *_Nullable start_container_hooks;
    uint32_t start_container_hook_count;
    char *_Nullable hook_state_creating;   ///< state JSON ("creating"), written by the parent before that GO
    uint32_t hook_state_creating_len;
    char *_Nullable hook_state_created;    ///< state JSON ("created") for startContainer hooks
    uint32_t hook_state_created_len;
    int32_t hook_output_slot;    ///< memfd for the hooks' stdout and stderr; -1 none

    // User namespace (rootless)
    uint32_t dumpable_until_go;  ///< stay dumpable until GO: an unprivileged parent (or newuidmap) writes our id maps
    const struct csb_mount *_Nullable rootfs_mount; ///< mounted on `rootfs` first, in our mount namespace (overlay in a user namespace)
};

// MARK: - Messages between child and parent

/// Steps of the child, reported with an error so the parent can say what failed.
/// Why C: numbered in the child.
enum csb_step {
    CSB_STEP_FDS = 1, CSB_STEP_SIGNALS, CSB_STEP_DUMPABLE, CSB_STEP_SYNC, CSB_STEP_UNSHARE,
    CSB_STEP_TIMENS, CSB_STEP_SETNS, CSB_STEP_FORK, CSB_STEP_HOSTNAME, CSB_STEP_DOMAINNAME,
    CSB_STEP_ROOT_PROPAGATION, CSB_STEP_ROOTFS_BIND, CSB_STEP_ROOTFS_OPEN, CSB_STEP_MOUNT_TARGET,
    CSB_STEP_MOUNT, CSB_STEP_DEVICE, CSB_STEP_SYMLINK, CSB_STEP_CONSOLE, CSB_STEP_CWD_CREATE,
    CSB_STEP_PIVOT, CSB_STEP_MASK, CSB_STEP_READONLY_ROOT, CSB_STEP_ROOTFS_PROPAGATION,
    CSB_STEP_SYSCTL, CSB_STEP_RLIMIT, CSB_STEP_PERSONALITY, CSB_STEP_IOPRIO, CSB_STEP_SCHED,
    CSB_STEP_AFFINITY, CSB_STEP_CAP_BOUNDING, CSB_STEP_GROUPS, CSB_STEP_SETGID, CSB_STEP_SETUID,
    CSB_STEP_CAPS, CSB_STEP_AMBIENT, CSB_STEP_NO_NEW_PRIVS, CSB_STEP_SECCOMP, CSB_STEP_CWD,
    CSB_STEP_LOOKUP, CSB_STEP_WAIT_START, CSB_STEP_EXEC, CSB_STEP_UMASK, CSB_STEP_SETSID,
    CSB_STEP_CLOSE_FDS, CSB_STEP_HOOKS_SYNC, CSB_STEP_CREATE_CONTAINER_HOOK, CSB_STEP_START_CONTAINER_HOOK,
    CSB_STEP_LOOPBACK, CSB_STEP_ROOTFS_MOUNT, CSB_STEP_CGROUP_JOIN, CSB_STEP_NETNS_SEND,
};

/// When the child waits for GO. Why C: read by the child.
enum csb_go {
    CSB_GO_ALWAYS = 0,          ///< the parent has work at HELLO
    CSB_GO_UNLESS_IN_CGROUP = 1, ///< only to be moved into its v2 cgroup when clone3 could not start it there
    CSB_GO_NEVER = 2,           ///< nothing for the parent to do
};

/// Message kinds on the sync socket. Why C: sent by the child.
enum csb_message_kind {
    CSB_MSG_HELLO = 1,     ///< child → parent (in its v1 cgroups already): write maps, join the rest, then send GO
    CSB_MSG_GO = 2,        ///< parent → child
    CSB_MSG_PTY = 3,       ///< child → parent, with the pty master as SCM_RIGHTS
    CSB_MSG_SECCOMP = 4,   ///< child → parent, with the seccomp listener as SCM_RIGHTS
    CSB_MSG_CREATED = 5,   ///< child → parent: set up, waiting for start
    CSB_MSG_ERROR = 6,     ///< child → parent: step failed
    CSB_MSG_PID = 7,       ///< child → parent: the pid of the process that continues (fork_after_setns)
    CSB_MSG_HOOKS = 8,     ///< child → parent: mounts done; run prestart/createRuntime hooks, then send GO
    CSB_MSG_NETNS = 9,     ///< child → parent, with its new network namespace as SCM_RIGHTS (send_netns)
};

/// The fixed-size message on the sync socket. Why C: shared wire format with the child.
struct csb_message {
    int32_t kind;   ///< enum csb_message_kind
    int32_t step;   ///< enum csb_step for CSB_MSG_ERROR
    int32_t err;    ///< errno for CSB_MSG_ERROR
    int32_t index;  ///< which mount/device/... failed, or the pid for CSB_MSG_PID; -1 none
};

// MARK: - Entry points

#pragma clang assume_nonnull begin

/// Clones the container's first process with CLONE_VM on a private stack and CLONE_PIDFD;
/// the child runs the plan. Why C: the child must run without the Swift runtime.
/// - Returns: the child's pid (> 0), and its pidfd in `*pidfd`; or -errno.
int csb_spawn(const struct csb_plan *plan, void *stack, size_t stack_size, int *pidfd);

/// Sends a message (and optionally one fd) on a SOCK_SEQPACKET socket. Why C: cmsg layout.
/// - Returns: 0 or -errno.
int csb_send_message(int sock, const struct csb_message *message, int fd);

/// Receives a message (and at most one fd, returned CLOEXEC in `*fd` or -1).
/// Why C: cmsg layout. - Returns: bytes received (0 on EOF) or -errno.
int csb_recv_message(int sock, struct csb_message *message, int *fd);

/// posix_spawn of an OCI hook run by the runtime (prestart, createRuntime, poststart,
/// poststop): `in_fd` becomes stdin, `out_fd` stdout and stderr, signals default and
/// unblocked. Why C: posix_spawn attributes and sigset_t are opaque to Swift.
/// - Returns: the pid, with a pidfd in `*pidfd`; or -errno.
int csb_spawn_hook(const char *path, char *_Nullable const *_Nonnull argv, char *_Nullable const *_Nonnull envp,
                   int in_fd, int out_fd, int *pidfd);

/// Blocks every signal in the calling thread and returns the old mask in `old` (128 bytes).
/// Why C: sigset_t is opaque to Swift.
void csb_block_all_signals(void *old);
/// Restores a mask saved by csb_block_all_signals. Why C: sigset_t is opaque to Swift.
void csb_restore_signals(const void *old);

/// pidfd_open(2). Why C: no libc wrapper in glibc 2.36. - Returns: fd or -errno.
int csb_pidfd_open(pid_t pid, unsigned int flags);
/// pidfd_send_signal(2). Why C: no libc wrapper in glibc 2.36. - Returns: 0 or -errno.
int csb_pidfd_send_signal(int pidfd, int sig);
/// waitid(P_PIDFD) without blocking; Why C: siginfo_t is a union Swift imports poorly.
/// - Returns: 1 exited (status/signal set), 0 still running, -errno on error.
int csb_pidfd_reap(int pidfd, int nohang, int *exited_code, int *killed_signal);
/// Sets the window size of a tty. Why C: ioctl is variadic.
int csb_set_winsize(int fd, uint16_t rows, uint16_t cols);

/// makedev(3). Why C: a glibc macro Swift cannot see.
uint64_t csb_makedev(uint32_t major, uint32_t minor);
/// major(3). Why C: a glibc macro.
uint32_t csb_major(uint64_t dev);
/// minor(3). Why C: a glibc macro.
uint32_t csb_minor(uint64_t dev);
/// open(path, O_PATH | O_CLOEXEC). Why C: O_PATH is GNU-only and hidden from Swift.
/// - Returns: fd or -errno.
int csb_open_path(const char *path);
/// memfd_create(name, MFD_CLOEXEC). Why C: GNU-only, hidden from Swift. - Returns: fd or -errno.
int csb_memfd(const char *name);
/// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK): cgroup v1 OOM notifications. Why C: the
/// header is not in Swift's Glibc module. - Returns: fd or -errno.
int csb_eventfd(void);

/// Connects to the unix socket at `path` and sends `data` with `fd` attached (SCM_RIGHTS):
/// the seccomp listener and console socket protocols. Why C: sockaddr_un and cmsg layout.
/// - Returns: 0 or -errno.
int csb_send_fd_to_path(const char *path, const void *data, size_t length, int fd);
/// pipe2(fds, O_CLOEXEC). Why C: GNU-only, hidden from Swift. - Returns: 0 or -errno.
int csb_pipe(int fds[_Nonnull 2]);
/// epoll_create1(EPOLL_CLOEXEC). Why C: <sys/epoll.h> is not in Swift's Glibc module.
int csb_epoll_create(void);
/// Arms `fd` for one readable/hang-up event (EPOLLONESHOT), adding or re-arming it.
/// Why C: epoll_event is packed. - Returns: 0 or -errno.
int csb_epoll_arm(int epfd, int fd);
/// Removes `fd` from the epoll set. Why C: see csb_epoll_arm. - Returns: 0 or -errno.
int csb_epoll_remove(int epfd, int fd);
/// Waits for events; writes ready fds to `fds`. Why C: epoll_event is packed.
/// - Returns: the number of fds, or -errno.
int csb_epoll_wait(int epfd, int *fds, int max);

// MARK: - cgroup v2

/// clone3(CLONE_INTO_CGROUP) in place of csb_spawn's clone: the child starts inside the
/// cgroup v2 directory `cgroup_fd`, before it runs a single instruction. Falls back to
/// csb_spawn when the kernel refuses (no clone3 before 5.3, no CLONE_INTO_CGROUP before
/// 5.7, or the cgroup refuses the process); `*into_cgroup` says which happened.
/// Why C: clone3 with a private stack needs a trampoline in assembly (glibc has no wrapper).
/// - Returns: as csb_spawn.
int csb_spawn_into_cgroup(const struct csb_plan *plan, void *stack, size_t stack_size, int cgroup_fd,
                          int *pidfd, int *into_cgroup);

/// One exception of a cgroup v2 device program: the rules are reduced (as cgroup v1 does)
/// to a default verdict and exceptions that all carry the opposite one.
/// Why C: read by csb_bpf_device_program_load.
struct csb_device_exception {
    uint32_t type;    ///< BPF_DEVCG_DEV_BLOCK (1) or BPF_DEVCG_DEV_CHAR (2)
    int64_t major;    ///< -1: any
    int64_t minor;    ///< -1: any
    uint32_t access;  ///< BPF_DEVCG_ACC_MKNOD (1) | _READ (2) | _WRITE (4)
};

/// Builds a BPF_PROG_TYPE_CGROUP_DEVICE program (first matching exception decides, else
/// `default_allow`) and loads it with bpf(BPF_PROG_LOAD). On a verifier refusal the
/// verifier's log goes to `log`. Why C: struct bpf_insn and union bpf_attr, and bpf(2)
/// has no libc wrapper. - Returns: the program fd (close-on-exec) or -errno.
int csb_bpf_device_program_load(int default_allow, const struct csb_device_exception *_Nullable exceptions,
                                uint32_t count, char *_Nullable log, uint32_t log_size);

/// Attaches a device program to the cgroup v2 directory `cgroup_fd` (BPF_CGROUP_DEVICE,
/// BPF_F_ALLOW_MULTI), replacing the program attached before (BPF_F_REPLACE; else attach
/// the new one, then detach the old ones). Why C: union bpf_attr. - Returns: 0 or -errno.
int csb_bpf_device_program_attach(int cgroup_fd, int prog_fd);

/// The number of device programs attached to the cgroup itself (BPF_PROG_QUERY).
/// Why C: union bpf_attr. - Returns: the count or -errno.
int csb_bpf_device_program_count(int cgroup_fd);

#pragma clang assume_nonnull end

#endif
