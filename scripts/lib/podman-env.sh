# Sourced by scripts/integration/podman.sh and Benchmarks/podman.sh: a podman of its own
# under a temporary directory (containers.conf, storage.conf, tmpdir), and its cleanup.
#
#   podman_env_setup WORK RUNTIMES [DEFAULT]   # RUNTIMES: lines `name = ["/path"]`
#   "${P[@]}" run …                            # podman with this environment
#   podman_env_cleanup                         # containers, storage, mounts, WORK, cgroups

podman_env_setup() {
    PODMAN_WORK=$1
    local default_runtime=""
    [ -n "${3:-}" ] && default_runtime="runtime = \"$3\""
    mkdir -p "$PODMAN_WORK/tmp"
    cat > "$PODMAN_WORK/containers.conf" <<CONF
[containers]
# podman's default nofile=1048576 is above this machine's hard limit (no CAP_SYS_RESOURCE).
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PODMAN_WORK/events.log"
$default_runtime
[engine.runtimes]
$2
CONF
    cat > "$PODMAN_WORK/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$PODMAN_WORK/graph"
runroot = "$PODMAN_WORK/run"
CONF
    export CONTAINERS_CONF="$PODMAN_WORK/containers.conf" CONTAINERS_STORAGE_CONF="$PODMAN_WORK/storage.conf"
    # podman's cgroupfs parent (and conmon's cgroup in it): removed at the end if podman made it.
    PODMAN_HAD_PARENT=no
    [ -d /sys/fs/cgroup/memory/libpod_parent ] && PODMAN_HAD_PARENT=yes
    P=(podman --tmpdir "$PODMAN_WORK/tmp")
}

podman_env_cleanup() {
    "${P[@]}" rm -af -t 0 >/dev/null 2>&1
    "${P[@]}" system reset -f >/dev/null 2>&1
    # containers/storage keeps its overlay directory mounted (private); unmount what is left.
    grep -o " $PODMAN_WORK[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$PODMAN_WORK"
    if [ "$PODMAN_HAD_PARENT" = no ]; then
        for parent in /sys/fs/cgroup/*/libpod_parent; do
            [ -d "$parent" ] && find "$parent" -depth -type d -exec rmdir {} \; 2>/dev/null
        done
    fi
    return 0
}
