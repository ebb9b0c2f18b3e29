const unsigned long long vals[3] = { 0x0102030405060708ULL, 42, 0xffffffffffffffffULL };
const unsigned char flags[3] = { 1, 0, 1 };
unsigned char zeros[16];
int other = 7;
