#define _GNU_SOURCE
#include "cis.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

const int cis_O_PATH = O_PATH;
const int cis_O_NOFOLLOW = O_NOFOLLOW;
const int cis_O_DIRECTORY = O_DIRECTORY;
const uint64_t cis_RESOLVE_BENEATH = RESOLVE_BENEATH;
const uint64_t cis_RESOLVE_IN_ROOT = RESOLVE_IN_ROOT;
const uint64_t cis_RESOLVE_NO_SYMLINKS = RESOLVE_NO_SYMLINKS;
const uint64_t cis_RESOLVE_NO_MAGICLINKS = RESOLVE_NO_MAGICLINKS;
const uint64_t cis_RESOLVE_NO_XDEV = RESOLVE_NO_XDEV;
const unsigned long cis_MS_BIND = MS_BIND;
const unsigned long cis_MS_RDONLY = MS_RDONLY;
const unsigned long cis_MS_REMOUNT = MS_REMOUNT;
const int cis_MNT_DETACH = MNT_DETACH;

int cis_openat2(int dirfd, const char *path, int flags, unsigned int mode, uint64_t resolve) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(unsigned int)flags;
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = resolve;
    int fd;
    do {
        fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
    return fd;
}

int cis_mknodat(int dirfd, const char *name, unsigned int mode, unsigned int major, unsigned int minor) {
    return mknodat(dirfd, name, (mode_t)mode, makedev(major, minor));
}

unsigned int cis_major(uint64_t dev) { return major((dev_t)dev); }
unsigned int cis_minor(uint64_t dev) { return minor((dev_t)dev); }

int cis_fsetxattr(int fd, const char *name, const void *value, size_t size, int flags) {
    return fsetxattr(fd, name, value, size, flags);
}
int cis_lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags) {
    return lsetxattr(path, name, value, size, flags);
}
ssize_t cis_fgetxattr(int fd, const char *name, void *value, size_t size) {
    return fgetxattr(fd, name, value, size);
}
ssize_t cis_lgetxattr(const char *path, const char *name, void *value, size_t size) {
    return lgetxattr(path, name, value, size);
}
ssize_t cis_llistxattr(const char *path, char *list, size_t size) {
    return llistxattr(path, list, size);
}

int cis_mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data) {
    return mount(source, target, fstype, flags, data);
}
int cis_umount2(const char *target, int flags) { return umount2(target, flags); }

int cis_mount_overlay(const char *target, const char *const *lowers, int nlowers, const char *upper,
                      const char *work, int readonly, int *failed_step) {
    *failed_step = 1;
    int fsfd = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
    if (fsfd < 0) return -1;
    int saved;
    for (int i = 0; i < nlowers; i++) {
        *failed_step = 2;
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0) < 0) goto fail;
    }
    if (upper != NULL && work != NULL) {
        *failed_step = 3;
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0) goto fail;
        *failed_step = 4;
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0) goto fail;
    }
    if (readonly) {
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0) { *failed_step = 5; goto fail; }
    }
    *failed_step = 5;
    if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) goto fail;
    *failed_step = 6;
    int mfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, readonly ? MOUNT_ATTR_RDONLY : 0);
    if (mfd < 0) goto fail;
    *failed_step = 7;
    if (syscall(SYS_move_mount, mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
        saved = errno;
        close(mfd);
        close(fsfd);
        errno = saved;
        return -1;
    }
    close(mfd);
    close(fsfd);
    *failed_step = 0;
    return 0;
fail:
    saved = errno;
    close(fsfd);
    errno = saved;
    return -1;
}

ssize_t cis_flistxattr(int fd, char *list, size_t size) { return flistxattr(fd, list, size); }

int cis_ficlone(int dst_fd, int src_fd) { return ioctl(dst_fd, FICLONE, src_fd); }

ssize_t cis_copy_file_range(int src_fd, int dst_fd, size_t length) {
    return copy_file_range(src_fd, NULL, dst_fd, NULL, length, 0);
}

int cis_errno(void) { return errno; }
