// C helpers of Caisson's Network module: rtnetlink messages and network namespaces.
//
// Why C: rtnetlink messages are packed C structs with 4-byte-aligned attributes that the
// kernel headers describe as macros (NLMSG_*, RTA_*), and a network namespace is entered
// per thread (setns/unshare on one pthread we own), which Swift's cooperative pool cannot
// promise. Every function returns >= 0 on success and -errno on failure.

#ifndef CNET_H
#define CNET_H

#include <stddef.h>
#include <stdint.h>

#pragma clang assume_nonnull begin

/// Creates a new network namespace and bind-mounts it on `path` (an existing empty file).
/// Why C: unshare(CLONE_NEWNET) must run on a dedicated thread that then exits.
int cnet_netns_create(const char *path);

/// Opens an rtnetlink socket that lives in the namespace `netns_fd` (or the caller's when
/// `netns_fd` < 0). A netlink socket stays bound to the namespace it was created in, so the
/// caller can configure that namespace from any thread. Why C: setns on a private thread.
int cnet_route_socket(int netns_fd);

/// Opens a socket of (`domain`, `type`) that lives in the namespace `netns_fd`: a probe
/// or a service reachable only inside a container's network. Why C: setns on a private thread.
int cnet_socket_in(int netns_fd, int domain, int type);

/// Writes `value` to `path` (a /proc/sys file) as seen from the namespace `netns_fd`
/// (the caller's when < 0). Why C: /proc/sys/net resolves to the opener's namespace.
int cnet_sysctl_write(int netns_fd, const char *path, const char *value);

/// Creates a bridge `name` with `mtu` (0: kernel default). Why C: RTM_NEWLINK message.
int cnet_link_add_bridge(int sock, const char *name, uint32_t mtu);

/// Creates a veth pair: `name` here (enslaved to `master_index` when > 0) and `peer`
/// created directly in the namespace `peer_netns_fd`. Why C: nested RTM_NEWLINK attributes.
int cnet_link_add_veth(int sock, const char *name, const char *peer, int peer_netns_fd, uint32_t mtu,
                       int master_index);

/// The index of link `name`, or -ENODEV. Why C: RTM_GETLINK by IFLA_IFNAME.
int cnet_link_index(int sock, const char *name);

/// Sets link `index` up. Why C: RTM_NEWLINK with IFF_UP.
int cnet_link_set_up(int sock, int index);

/// Deletes link `name` (a veth's peer goes with it). Why C: RTM_DELLINK.
int cnet_link_delete(int sock, const char *name);

/// Adds address `addr` (4 or 16 bytes for AF_INET/AF_INET6) with `prefix_len` on link
/// `index`; `nodad` skips IPv6 duplicate address detection. Why C: RTM_NEWADDR message.
int cnet_addr_add(int sock, int index, int family, const void *addr, int prefix_len, int nodad);

/// Adds a default route via `gateway` on link `index`. Why C: RTM_NEWROUTE message.
int cnet_route_add_default(int sock, int family, const void *gateway, int index);

/// Lists links as lines "index\tname\tmaster_index\tkind\n" into `buffer` (NUL-terminated);
/// returns the length, or -ENOSPC when it does not fit. Why C: RTM_GETLINK dump parsing.
int cnet_link_list(int sock, char *buffer, size_t size);

/// Lists addresses as lines "index\tfamily\taddress/prefix\n" into `buffer`; returns the
/// length or -ENOSPC. Why C: RTM_GETADDR dump parsing.
int cnet_addr_list(int sock, char *buffer, size_t size);

/// 1 when `path` is a mounted namespace file (nsfs), 0 when not, -errno when unreadable.
/// Why C: statfs and NSFS_MAGIC are not exported to Swift by Glibc's module.
int cnet_is_namespace_file(const char *path);

/// An anonymous in-memory file (memfd, close-on-exec) named `name`: a plugin's stdin,
/// stdout or stderr, so neither side can block on a full pipe. Why C: memfd_create is not
/// exported by Swift's Glibc module.
int cnet_memfd(const char *name);

/// Spawns `path` with `argv` and `envp` (NULL-terminated), its stdin, stdout and stderr
/// on the given descriptors, every other descriptor closed, signals reset to default and
/// unblocked; returns the pid or -errno. Why C: posix_spawn file actions and attributes
/// (closefrom, sigdefault) through Swift's imported pointers would be longer and no safer.
int cnet_spawn(const char *path, char *_Nullable const argv[_Nonnull], char *_Nullable const envp[_Nonnull],
               int stdin_fd, int stdout_fd, int stderr_fd);

/// A pidfd for child `pid` (close-on-exec), or -errno. Why C: pidfd_open has no glibc wrapper.
int cnet_pidfd_open(int pid);

/// The user namespace owning the namespace `ns_fd` refers to, as a new close-on-exec fd
/// (ioctl NS_GET_USERNS); returns the fd or -errno. Why C: ioctl is variadic and
/// NS_GET_USERNS a macro of <linux/nsfs.h>.
int cnet_owning_user_namespace(int ns_fd);

/// Spawns `path` with `argv` and `envp` (NULL-terminated) in a session of its own, with
/// descriptor `fds[i]` as its descriptor `i` for every i < `count` and no other, signals
/// reset to default and unblocked; returns the pid or -errno. For a helper that outlives
/// the call (slirp4netns): its own session keeps a terminal's ^C to the caller from
/// reaching it. Why C: posix_spawn file actions, POSIX_SPAWN_SETSID and the descriptor
/// shuffle (a source may sit on another's target number).
int cnet_spawn_session(const char *path, char *_Nullable const argv[_Nonnull], char *_Nullable const envp[_Nonnull],
                       const int *fds, int count);

/// Sends `sig` to the process of `pidfd`. Why C: pidfd_send_signal has no glibc wrapper.
int cnet_pidfd_send_signal(int pidfd, int sig);

#pragma clang assume_nonnull end

#endif
