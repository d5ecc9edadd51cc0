// Raw system calls for the child.
//
// Why not libc's syscall(): the child shares the parent's memory and TLS (CLONE_VM without
// CLONE_SETTLS), so writing errno would corrupt the errno of the parent thread that
// called csb_spawn. These wrappers return -errno and touch no memory but their arguments.

#ifndef CSB_SYS_H
#define CSB_SYS_H

#include <stdint.h>

#if defined(__x86_64__)
static inline long csb_sys6(long n, long a, long b, long c, long d, long e, long f) {
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
static inline long csb_sys6(long n, long a, long b, long c, long d, long e, long f) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}
#else
#error "Caisson's C core supports x86_64 and aarch64"
#endif

#define CSB_SYS0(n) csb_sys6((n), 0, 0, 0, 0, 0, 0)
#define CSB_SYS1(n, a) csb_sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define CSB_SYS2(n, a, b) csb_sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define CSB_SYS3(n, a, b, c) csb_sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define CSB_SYS4(n, a, b, c, d) csb_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define CSB_SYS5(n, a, b, c, d, e) csb_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)
#define CSB_SYS6(n, a, b, c, d, e, f) \
    csb_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

#endif
