# SPDX-License-Identifier: MIT
# fib.s: r0 = fib(n), the n-th Fibonacci number (fib(0) = 0, fib(1) = 1), by a loop.
# n is the first byte of memory when there is memory, else 90 (fib(93) is the last that fits in
# 64 bits). Run: pollen exec examples/asm/fib.s --mem 0a   (prints r0 = 0x37 (55))
mov %r3, 90                 # n
jeq %r2, 0, start           # r2 = memory length: no memory, keep the default
ldxb %r3, [%r1]             # r1 = memory: n is its first byte
start:
mov %r0, 0                  # fib(i), i = 0
mov %r4, 1                  # fib(i + 1)
loop:
jeq %r3, 0, done
mov %r5, %r0                # (fib(i), fib(i + 1)) = (fib(i + 1), fib(i) + fib(i + 1))
add %r5, %r4
mov %r0, %r4
mov %r4, %r5
sub %r3, 1
ja loop
done:
exit
