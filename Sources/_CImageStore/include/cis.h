// C helpers for Caisson's ImageStore: the Linux calls that Swift's Glibc module hides or
// cannot call (variadic, macro-only, or newer than glibc's wrappers).
//
// Every function returns the syscall's result; on failure it returns -1 and leaves errno
// set, except where noted. Paths are single components or store-internal paths; all
// layer-controlled names are resolved relative to directory fds.

#ifndef CIS_H
#define CIS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#pragma clang assume_nonnull begin

/// O_PATH, which Swift's Glibc module does not export. Why C: macro from <fcntl.h>
/// guarded by _GNU_SOURCE.
extern const int cis_O_PATH;
/// O_NOFOLLOW / O_DIRECTORY / O_CLOEXEC, exported as constants so Swift need not guess.
extern const int cis_O_NOFOLLOW;
/// See `cis_O_NOFOLLOW`.
extern const int cis_O_DIRECTORY;

/// RESOLVE_* flags of openat2(2). Why C: <linux/openat2.h> is not in Swift's Glibc module.
extern const uint64_t cis_RESOLVE_BENEATH;
/// See `cis_RESOLVE_BENEATH`.
extern const uint64_t cis_RESOLVE_IN_ROOT;
/// See `cis_RESOLVE_BENEATH`.
extern const uint64_t cis_RESOLVE_NO_SYMLINKS;
/// See `cis_RESOLVE_BENEATH`.
extern const uint64_t cis_RESOLVE_NO_MAGICLINKS;
/// See `cis_RESOLVE_BENEATH`.
extern const uint64_t cis_RESOLVE_NO_XDEV;

/// openat2(2). Why C: glibc 2.36 has no wrapper; this issues the raw syscall.
int cis_openat2(int dirfd, const char *path, int flags, unsigned int mode, uint64_t resolve);

/// mknodat(2) with a device number built from major/minor. Why C: makedev is a macro.
int cis_mknodat(int dirfd, const char *name, unsigned int mode, unsigned int major, unsigned int minor);

/// Major and minor numbers of a dev_t. Why C: major()/minor() are macros.
unsigned int cis_major(uint64_t dev);
/// See `cis_major`.
unsigned int cis_minor(uint64_t dev);

/// fsetxattr(2). Why C: <sys/xattr.h> is not in Swift's Glibc module.
int cis_fsetxattr(int fd, const char *name, const void *_Nullable value, size_t size, int flags);
/// lsetxattr(2) (for symlinks, through /proc/self/fd/N/NAME). Why C: see `cis_fsetxattr`.
int cis_lsetxattr(const char *path, const char *name, const void *_Nullable value, size_t size, int flags);
/// fgetxattr(2); returns the size or -1. Why C: see `cis_fsetxattr`.
ssize_t cis_fgetxattr(int fd, const char *name, void *_Nullable value, size_t size);
/// lgetxattr(2); returns the size or -1. Why C: see `cis_fsetxattr`.
ssize_t cis_lgetxattr(const char *path, const char *name, void *_Nullable value, size_t size);
/// llistxattr(2); returns the size or -1. Why C: see `cis_fsetxattr`.
ssize_t cis_llistxattr(const char *path, char *_Nullable list, size_t size);
/// flistxattr(2); returns the size or -1. Why C: see `cis_fsetxattr`.
ssize_t cis_flistxattr(int fd, char *_Nullable list, size_t size);

/// mount(2). Why C: keeps the data pointer typed and avoids Glibc module drift.
int cis_mount(const char *_Nullable source, const char *target, const char *_Nullable fstype,
              unsigned long flags, const char *_Nullable data);
/// umount2(2). Why C: see `cis_mount`.
int cis_umount2(const char *target, int flags);
/// MS_* and MNT_* values used by the store. Why C: macros in <sys/mount.h>.
extern const unsigned long cis_MS_BIND;
/// See `cis_MS_BIND`.
extern const unsigned long cis_MS_RDONLY;
/// See `cis_MS_BIND`.
extern const unsigned long cis_MS_REMOUNT;
/// See `cis_MS_BIND`.
extern const int cis_MNT_DETACH;

/// Mounts an overlay at `target` with the new mount API (fsopen/fsconfig/fsmount/
/// move_mount), one `lowerdir+` per layer so that no page-sized data limit applies.
/// `lowers` are ordered top-most first. `upper`/`work` may both be NULL for a read-only
/// overlay. On failure returns -1 with errno set and `*failed_step` naming the step
/// (1 fsopen, 2 lowerdir+, 3 upperdir, 4 workdir, 5 create, 6 fsmount, 7 move_mount).
/// Why C: these syscalls have no glibc 2.36 wrappers.
int cis_mount_overlay(const char *target, const char *_Nonnull const *_Nonnull lowers, int nlowers,
                      const char *_Nullable upper, const char *_Nullable work, int readonly,
                      int *failed_step);

/// ioctl(FICLONE): reflink `src_fd` into `dst_fd`. Why C: ioctl is variadic.
int cis_ficlone(int dst_fd, int src_fd);

/// copy_file_range(2) from the current offsets. Why C: glibc declares it only under
/// _GNU_SOURCE, which Swift's Glibc module is not built with.
ssize_t cis_copy_file_range(int src_fd, int dst_fd, size_t length);

/// The calling thread's errno right after a helper failed. Why C: reads the same TLS
/// errno the helpers set, with no Swift code in between.
int cis_errno(void);

#pragma clang assume_nonnull end

#endif
