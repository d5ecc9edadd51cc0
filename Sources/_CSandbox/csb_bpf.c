// cgroup v2 device control: a BPF_PROG_TYPE_CGROUP_DEVICE program built from the
// container's reduced device rules, loaded with bpf(BPF_PROG_LOAD) and attached to the
// container's cgroup with BPF_PROG_ATTACH (BPF_CGROUP_DEVICE), as runc and crun do on v2.
//
// Parent side only (never between clone and execve): libc's syscall() is fine here.

#include "csb.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

// Registers of the program. r1 holds the context on entry; r2 (requested access),
// r3 (device type), r4 (major), r5 (minor) and r7 (scratch) are set in the prologue or
// per rule (the program calls no helper, so nothing clobbers them).
enum { R0 = 0, R1, R2, R3, R4, R5, R6, R7 };

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    struct bpf_insn i;
    memset(&i, 0, sizeof i);
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

// Instructions one exception needs: its type compare, the major and minor compares when
// they are not wildcards, the access test, then the verdict (mov + exit).
static uint32_t exception_length(const struct csb_device_exception *e, int default_allow) {
    uint32_t n = 1 + 2;  // type compare; mov r0 + exit
    if (e->major >= 0) n++;
    if (e->minor >= 0) n++;
    if (default_allow) n += 3;                           // r7 = access; r7 &= mask; if r7 == 0 skip
    else if ((~e->access & 7u) != 0) n += 1;             // if access & ~allowed skip
    return n;
}

static long bpf(int command, union bpf_attr *attr) {
    long r;
    do { r = syscall(SYS_bpf, command, attr, sizeof *attr); } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

int csb_bpf_device_program_load(int default_allow, const struct csb_device_exception *exceptions, uint32_t count,
                                char *log, uint32_t log_size) {
    uint32_t total = 6 + 2;  // prologue, exceptions, default verdict
    for (uint32_t i = 0; i < count; i++) {
        const struct csb_device_exception *e = &exceptions[i];
        if ((e->type != BPF_DEVCG_DEV_BLOCK && e->type != BPF_DEVCG_DEV_CHAR) || e->access == 0 || (e->access & ~7u) != 0
            || e->major > INT32_MAX || e->minor > INT32_MAX) {
            return -EINVAL;
        }
        total += exception_length(e, default_allow);
        if (total > BPF_MAXINSNS) return -E2BIG;
    }
    struct bpf_insn *program = calloc(total, sizeof *program);
    if (!program) return -ENOMEM;
    uint32_t pc = 0;
    // access_type is (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*.
    program[pc++] = insn(BPF_LDX | BPF_W | BPF_MEM, R2, R1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
    program[pc++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, R3, R2, 0, 0);
    program[pc++] = insn(BPF_ALU64 | BPF_AND | BPF_K, R3, 0, 0, 0xffff);   // r3: device type
    program[pc++] = insn(BPF_ALU64 | BPF_RSH | BPF_K, R2, 0, 0, 16);       // r2: requested access
    program[pc++] = insn(BPF_LDX | BPF_W | BPF_MEM, R4, R1, offsetof(struct bpf_cgroup_dev_ctx, major), 0);
    program[pc++] = insn(BPF_LDX | BPF_W | BPF_MEM, R5, R1, offsetof(struct bpf_cgroup_dev_ctx, minor), 0);
    // The exceptions all carry the opposite verdict of the default (the reduction in
    // Swift guarantees it), so the first one that matches decides; a request that none
    // matches gets the default.
    for (uint32_t i = 0; i < count; i++) {
        const struct csb_device_exception *e = &exceptions[i];
        uint32_t end = pc + exception_length(e, default_allow);  // first instruction of the next exception
#define SKIP ((int16_t)(end - (pc + 1)))
        program[pc] = insn(BPF_JMP | BPF_JNE | BPF_K, R3, 0, 0, (int32_t)e->type);
        program[pc].off = SKIP;
        pc++;
        if (e->major >= 0) {
            program[pc] = insn(BPF_JMP | BPF_JNE | BPF_K, R4, 0, 0, (int32_t)e->major);
            program[pc].off = SKIP;
            pc++;
        }
        if (e->minor >= 0) {
            program[pc] = insn(BPF_JMP | BPF_JNE | BPF_K, R5, 0, 0, (int32_t)e->minor);
            program[pc].off = SKIP;
            pc++;
        }
        if (default_allow) {
            // A deny exception applies when the request shares any access with it
            // (cgroup v1 refuses a request that any deny exception overlaps).
            program[pc++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, R7, R2, 0, 0);
            program[pc++] = insn(BPF_ALU64 | BPF_AND | BPF_K, R7, 0, 0, (int32_t)e->access);
            program[pc] = insn(BPF_JMP | BPF_JEQ | BPF_K, R7, 0, 0, 0);
            program[pc].off = SKIP;
            pc++;
        } else if ((~e->access & 7u) != 0) {
            // An allow exception applies only when it grants every access requested
            // (opening read-write needs one rule with both r and w, as in v1).
            program[pc] = insn(BPF_JMP | BPF_JSET | BPF_K, R2, 0, 0, (int32_t)(~e->access & 7u));
            program[pc].off = SKIP;
            pc++;
        }
        program[pc++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, default_allow ? 0 : 1);
        program[pc++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
#undef SKIP
    }
    program[pc++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, default_allow ? 1 : 0);
    program[pc++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

    static const char license[] = "Apache-2.0";
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)program;
    attr.insn_cnt = pc;
    attr.license = (uint64_t)(uintptr_t)license;
    memcpy(attr.prog_name, "caisson_devices", sizeof "caisson_devices");
    // The kernel returns BPF fds close-on-exec.
    long fd = bpf(BPF_PROG_LOAD, &attr);
    if ((fd == -EINVAL || fd == -EACCES) && log && log_size > 0) {
        // Load again with the verifier's log, so the caller can say why.
        log[0] = 0;
        attr.log_level = 1;
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = log_size;
        long again = bpf(BPF_PROG_LOAD, &attr);
        log[log_size - 1] = 0;
        if (again >= 0) fd = again;
    }
    free(program);
    return (int)fd;
}

// The ids of the device programs attached to the cgroup itself (not inherited ones).
static int query(int cgroup_fd, uint32_t *ids, uint32_t capacity) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.query.target_fd = (uint32_t)cgroup_fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
    attr.query.prog_cnt = capacity;
    long r = bpf(BPF_PROG_QUERY, &attr);
    if (r < 0) return (int)r;
    return (int)attr.query.prog_cnt;
}

static int program_fd(uint32_t id) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_id = id;
    attr.open_flags = 0;
    return (int)bpf(BPF_PROG_GET_FD_BY_ID, &attr);
}

static long attach(int cgroup_fd, int prog_fd, uint32_t flags, int replace_fd) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = flags;
    attr.replace_bpf_fd = replace_fd >= 0 ? (uint32_t)replace_fd : 0;
    return bpf(BPF_PROG_ATTACH, &attr);
}

int csb_bpf_device_program_attach(int cgroup_fd, int prog_fd) {
    uint32_t ids[64];
    int old = query(cgroup_fd, ids, 64);
    if (old < 0) return old;
    if (old == 1) {
        // The usual update: swap the one program in place, so no device request ever
        // sees the cgroup without a program (Linux 5.6, BPF_F_REPLACE).
        int old_fd = program_fd(ids[0]);
        if (old_fd < 0) return old_fd;
        long r = attach(cgroup_fd, prog_fd, BPF_F_ALLOW_MULTI | BPF_F_REPLACE, old_fd);
        close(old_fd);
        if (r == 0) return 0;
        if (r != -EINVAL) return (int)r;
    }
    // ALLOW_MULTI (as runc): a nested runtime inside the container may attach its own
    // programs below this cgroup; every program must allow a request.
    long r = attach(cgroup_fd, prog_fd, BPF_F_ALLOW_MULTI, -1);
    if (r < 0) return (int)r;
    // Then the previous ones go: until now both applied, so nothing was ever allowed
    // that neither set of rules allows.
    for (int i = 0; i < old; i++) {
        int old_fd = program_fd(ids[i]);
        if (old_fd < 0) return old_fd;
        union bpf_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.target_fd = (uint32_t)cgroup_fd;
        attr.attach_bpf_fd = (uint32_t)old_fd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        long d = bpf(BPF_PROG_DETACH, &attr);
        close(old_fd);
        if (d < 0 && d != -ENOENT) return (int)d;
    }
    return 0;
}

int csb_bpf_device_program_count(int cgroup_fd) {
    uint32_t ids[64];
    return query(cgroup_fd, ids, 64);
}
