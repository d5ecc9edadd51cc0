#include <stdio.h>
#include <nftables/libnftables.h>
