# SPDX-License-Identifier: MIT
# checksum.s: the Internet checksum (RFC 1071) of the memory, as IPv4, TCP and UDP use it: the
# ones' complement of the ones' complement sum of its 16-bit big-endian words, an odd last byte
# padded with a zero. Over an IPv4 header whose checksum field is zero it gives that field's
# value; over a whole valid header it gives 0.
# Run: pollen exec examples/asm/checksum.s --mem-file examples/data/ipv4-header.bin
mov %r0, 0                  # the sum
mov %r3, %r2                # bytes left; r1 walks the memory
words:
jlt %r3, 2, tail
ldxh %r4, [%r1]
be16 %r4                    # network byte order
add %r0, %r4
add %r1, 2
sub %r3, 2
ja words
tail:
jeq %r3, 0, fold
ldxb %r4, [%r1]
lsh %r4, 8
add %r0, %r4
fold:
mov %r4, %r0                # add the carries back in until none are left
rsh %r4, 16
jeq %r4, 0, done
and %r0, 0xffff
add %r0, %r4
ja fold
done:
xor %r0, 0xffff
exit
