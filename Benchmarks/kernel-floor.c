// The kernel floor of a container lifecycle: the kernel work that any runtime must do to
// run the benchmark's `runc spec` bundles, done with bare system calls and nothing else:
// no config to read, no state to write, no runtime process, no language runtime. Whatever
// a runtime measures above it is the runtime's own cost; a goal below it cannot be met by
// any runtime that does this work on the measured path.
//
// What it does per container: a cgroup in every hierarchy (cpuset filled from the
// parent, the process moves itself in through `tasks` — the cheapest way, see
// csb_plan.cgroup_task_slots), clone with new mount, pid, uts, ipc (and network)
// namespaces, then in the child: / made a slave, the rootfs bound onto itself, proc,
// a tmpfs /dev with the six default devices, devpts, /dev/shm, mqueue, a read-only sysfs
// and a tmpfs on /sys/fs/cgroup, runc's masked and read-only paths, pivot_root, the
// read-only root, the hostname, no_new_privs, execve. Then wait and rmdir. It leaves out
// work runtimes also do (lo up, device cgroup rules, rlimits, capabilities, the cgroup
// hierarchy bind mounts), so it is a lower bound.
//
// Usage (root): kernel-floor sequential ROOTFS NETNS RUNS [limits]
//               kernel-floor concurrent ROOTFS NETNS SECONDS WORKERS
//               kernel-floor density ROOTFS COUNT WORKERS
// Prints `floor.<metric> <value>` lines like caisson-bench.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_HIERARCHIES 16

static const char *rootfs;
static int with_netns;
static int with_limits;  // the bundle's true-limits variant: memory 64 MiB, pids 128
static const char *program[] = {"/bin/true", NULL};
static const char *sleeper[] = {"/bin/sleep", "1000000", NULL};

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *what) {
    fprintf(stderr, "kernel-floor: %s: %s\n", what, strerror(errno));
    _exit(99);
}

// MARK: - cgroups

static char hierarchies[MAX_HIERARCHIES][200];
static int hierarchy_count;

/// Every cgroup mount of the host (v1 controllers and the v2 tree), from mountinfo.
static void find_hierarchies(void) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (!f) die("mountinfo");
    char line[4096];
    while (fgets(line, sizeof line, f) && hierarchy_count < MAX_HIERARCHIES) {
        char *sep = strstr(line, " - ");
        if (!sep || (strncmp(sep + 3, "cgroup ", 7) && strncmp(sep + 3, "cgroup2 ", 8))) continue;
        char *field = line;
        for (int i = 0; i < 4; i++) field = strchr(field, ' ') + 1;  // the mount point is field 5
        *strchr(field, ' ') = 0;
        snprintf(hierarchies[hierarchy_count++], sizeof hierarchies[0], "%.199s", field);
    }
    fclose(f);
}

struct cgroup {
    char path[MAX_HIERARCHIES][300];
    int count;
};

static void copy_file(const char *from, const char *to) {
    char value[256];
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) return;
    ssize_t n = read(in, value, sizeof value);
    close(in);
    int out = open(to, O_WRONLY | O_CLOEXEC);
    if (out < 0) die(to);
    if (n > 0 && write(out, value, (size_t)n) < 0) die(to);
    close(out);
}

static void write_value(const char *file, const char *value) {
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, value, strlen(value)) < 0) die(file);
    close(fd);
}

/// mkdir in every hierarchy; returns the open `tasks` (v1) / `cgroup.procs` (v2) files.
static void make_cgroup(struct cgroup *cg, const char *name, int *task_fds) {
    cg->count = 0;
    for (int i = 0; i < hierarchy_count; i++) {
        char *path = cg->path[cg->count];
        snprintf(path, sizeof cg->path[0], "%.199s/%.60s", hierarchies[i], name);
        if (mkdir(path, 0755)) die(path);
        char file[400], parent[400];
        snprintf(file, sizeof file, "%s/cpuset.cpus", path);
        if (access(file, F_OK) == 0) {
            snprintf(parent, sizeof parent, "%.199s/cpuset.cpus", hierarchies[i]);
            copy_file(parent, file);
            snprintf(file, sizeof file, "%s/cpuset.mems", path);
            snprintf(parent, sizeof parent, "%.199s/cpuset.mems", hierarchies[i]);
            copy_file(parent, file);
        }
        if (with_limits) {
            snprintf(file, sizeof file, "%s/memory.limit_in_bytes", path);
            if (access(file, F_OK) == 0) write_value(file, "67108864");
            snprintf(file, sizeof file, "%s/pids.max", path);
            if (access(file, F_OK) == 0) write_value(file, "128");
        }
        snprintf(file, sizeof file, "%s/tasks", path);
        int fd = open(file, O_WRONLY | O_CLOEXEC);
        if (fd < 0) {  // v2: no tasks file
            snprintf(file, sizeof file, "%s/cgroup.procs", path);
            fd = open(file, O_WRONLY | O_CLOEXEC);
        }
        if (fd < 0) die(file);
        task_fds[cg->count++] = fd;
    }
}

static void remove_cgroup(struct cgroup *cg) {
    for (int i = 0; i < cg->count; i++)
        while (rmdir(cg->path[i]) && errno == EBUSY) usleep(100);
}

// MARK: - the container process

struct child_args {
    int *task_fds;
    int task_count;
    const char **argv;
};

static void mount_in_root(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", rootfs, target);
    mkdir(path, 0755);  // most exist already
    if (mount(source, path, fstype, flags, data)) die(target);
}

static int child_main(void *arg) {
    struct child_args *a = arg;
    for (int i = 0; i < a->task_count; i++)
        if (write(a->task_fds[i], "0", 1) != 1) die("joining the cgroup");
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL)) die("/ slave");
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL)) die("rootfs bind");
    mount_in_root("proc", "proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
    mount_in_root("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    mount_in_root("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    mount_in_root("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=1777,size=65536k");
    mount_in_root("mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
    mount_in_root("sysfs", "sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL);
    mount_in_root("tmpfs", "sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, "mode=755");
    static const char *devices[] = {"null", "zero", "full", "random", "urandom", "tty"};
    static const unsigned majors[] = {1, 1, 1, 1, 1, 5}, minors[] = {3, 5, 7, 8, 9, 0};
    char path[512], null[512];
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "%s/dev/%s", rootfs, devices[i]);
        if (mknod(path, S_IFCHR | 0666, makedev(majors[i], minors[i]))) die(path);
    }
    snprintf(null, sizeof null, "%s/dev/null", rootfs);
    static const char *masked[] = {"proc/acpi", "proc/asound", "proc/kcore", "proc/keys", "proc/latency_stats",
                                   "proc/timer_list", "proc/timer_stats", "proc/sched_debug", "sys/firmware", "proc/scsi"};
    for (int i = 0; i < 10; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", rootfs, masked[i]);
        if (stat(path, &st)) continue;
        if (S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL) : mount(null, path, NULL, MS_BIND, NULL))
            die(masked[i]);
    }
    static const char *readonly[] = {"proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", rootfs, readonly[i]);
        if (access(path, F_OK)) continue;
        if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) ||
            mount(path, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL))
            die(readonly[i]);
    }
    if (chdir(rootfs) || syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) || chdir("/")) die("pivot_root");
    if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL)) die("read-only root");
    if (sethostname("runc", 4)) die("hostname");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) die("no_new_privs");
    static const char *env[] = {"PATH=/bin", NULL};
    execve(a->argv[0], (char *const *)a->argv, (char *const *)env);
    die(a->argv[0]);
    return 0;
}

/// Creates and starts one container running `argv`; returns its pid (running, exec'd).
static pid_t start_container(struct cgroup *cg, const char *name, const char **argv) {
    int task_fds[MAX_HIERARCHIES];
    make_cgroup(cg, name, task_fds);
    static __thread char *stack;
    if (!stack) stack = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct child_args args = {task_fds, cg->count, argv};
    int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | (with_netns ? CLONE_NEWNET : 0);
    // CLONE_VM | CLONE_VFORK: the parent resumes once the child has exec'd.
    pid_t pid = clone(child_main, stack + (1 << 16), flags | CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
    if (pid < 0) die("clone");
    for (int i = 0; i < cg->count; i++) close(task_fds[i]);
    return pid;
}

/// One whole lifecycle of /bin/true.
static void lifecycle(const char *name) {
    struct cgroup cg;
    pid_t pid = start_container(&cg, name, program);
    int status;
    if (waitpid(pid, &status, 0) != pid) die("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status)) { fprintf(stderr, "kernel-floor: the container failed (%#x)\n", status); _exit(99); }
    remove_cgroup(&cg);
}

// MARK: - measurements

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double cpu_ms(void) {
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    return (self.ru_utime.tv_sec + self.ru_stime.tv_sec + children.ru_utime.tv_sec + children.ru_stime.tv_sec) * 1e3 +
           (self.ru_utime.tv_usec + self.ru_stime.tv_usec + children.ru_utime.tv_usec + children.ru_stime.tv_usec) / 1e3;
}

static void sequential(int runs) {
    const char *tag = with_limits ? "limits" : with_netns ? "netns" : "nonet";
    double *times = calloc((size_t)runs, sizeof *times);
    char name[64];
    for (int i = 0; i < 20; i++) {  // warm-up
        snprintf(name, sizeof name, "cbench-floor-%d-w%d", getpid(), i);
        lifecycle(name);
    }
    double cpu0 = cpu_ms();
    for (int i = 0; i < runs; i++) {
        snprintf(name, sizeof name, "cbench-floor-%d-%d", getpid(), i);
        double start = now_ms();
        lifecycle(name);
        times[i] = now_ms() - start;
    }
    double cpu = (cpu_ms() - cpu0) / runs;
    qsort(times, (size_t)runs, sizeof *times, compare_doubles);
    printf("floor.seq.%s.median_ms %.3f\nfloor.seq.%s.p90_ms %.3f\nfloor.seq.%s.cpu_ms_per_run %.3f\n",
           tag, times[runs / 2], tag, times[runs * 9 / 10], tag, cpu);
}

static void concurrent(double seconds, int workers) {
    int counts[2];
    if (pipe(counts)) die("pipe");
    double start = now_ms();
    for (int w = 0; w < workers; w++) {
        if (fork() == 0) {
            long done = 0;
            char name[64];
            while (now_ms() - start < seconds * 1e3) {
                snprintf(name, sizeof name, "cbench-floor-%d-%ld", getpid(), done);
                lifecycle(name);
                done++;
            }
            if (write(counts[1], &done, sizeof done) != sizeof done) die("pipe");
            _exit(0);
        }
    }
    long total = 0;
    for (int w = 0; w < workers; w++) {
        long done;
        if (read(counts[0], &done, sizeof done) != sizeof done) die("pipe");
        total += done;
        wait(NULL);
    }
    printf("floor.conc.%s.per_s %.1f\n", with_netns ? "netns" : "nonet", total / ((now_ms() - start) / 1e3));
}

/// `count` sleepers started by `workers` processes; the time until all run. Each worker
/// reports when its share is up, then waits for the word to kill and clean up.
static void density(int count, int workers) {
    int report[2], release[2];
    if (pipe(report) || pipe(release)) die("pipe");
    double start = now_ms();
    for (int w = 0; w < workers; w++) {
        if (fork() == 0) {
            int share = count / workers + (w < count % workers);
            struct cgroup *cgs = calloc((size_t)share, sizeof *cgs);
            pid_t *pids = calloc((size_t)share, sizeof *pids);
            char name[64];
            for (int i = 0; i < share; i++) {
                snprintf(name, sizeof name, "cbench-floor-%d-%d", getpid(), i);
                pids[i] = start_container(&cgs[i], name, sleeper);
            }
            double done = now_ms();
            char byte;
            if (write(report[1], &done, sizeof done) != sizeof done || read(release[0], &byte, 1) != 1) die("pipe");
            for (int i = 0; i < share; i++) kill(pids[i], SIGKILL);
            for (int i = 0; i < share; i++) waitpid(pids[i], NULL, 0);
            for (int i = 0; i < share; i++) remove_cgroup(&cgs[i]);
            _exit(0);
        }
    }
    double last = start;
    for (int w = 0; w < workers; w++) {
        double done;
        if (read(report[0], &done, sizeof done) != sizeof done) die("pipe");
        if (done > last) last = done;
    }
    printf("floor.density.start_s %.3f\n", (last - start) / 1e3);
    fflush(stdout);
    for (int w = 0; w < workers; w++)
        if (write(release[1], "x", 1) != 1) die("pipe");
    for (int w = 0; w < workers; w++) wait(NULL);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: kernel-floor sequential ROOTFS NETNS RUNS | concurrent ROOTFS NETNS SECONDS WORKERS | density ROOTFS COUNT WORKERS\n");
        return 2;
    }
    rootfs = argv[2];
    find_hierarchies();
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(argv[1], "sequential")) {
        with_netns = atoi(argv[3]);
        with_limits = argc > 5 && !strcmp(argv[5], "limits");
        sequential(atoi(argv[4]));
    } else if (!strcmp(argv[1], "concurrent") && argc > 5) {
        with_netns = atoi(argv[3]);
        concurrent(atof(argv[4]), atoi(argv[5]));
    } else if (!strcmp(argv[1], "density")) {
        with_netns = 1;  // the density bundle has a network namespace
        density(atoi(argv[3]), atoi(argv[4]));
    } else {
        fprintf(stderr, "kernel-floor: unknown mode %s\n", argv[1]);
        return 2;
    }
    return 0;
}
