#!/bin/sh
# Made once with Debian 12's cross compilers (gcc-s390x-linux-gnu, gcc-powerpc-linux-gnu,
# gcc-mips64el-linux-gnuabi64, 12.2), so `cargo test` reads big-endian objects on a machine
# with only the host gcc (uffd-probe's elf::tests::big_endian_objects). Run from this folder.
set -e
s390x-linux-gnu-gcc -fno-common -c -o be64-s390x.o t.c
powerpc-linux-gnu-gcc -fno-common -c -o be32-powerpc.o t.c
powerpc-linux-gnu-gcc -m64 -fno-common -c -o be64-powerpc64.o t.c
mips64el-linux-gnuabi64-gcc -EB -mabi=64 -fno-common -c -o be64-mips64.o t.c
