/* det_native: runs det_scenario natively and writes every tick's bytes to
 * stdout. Usage: det_native SEED TICK_RATE TICKS */
#include <stdio.h>
#include <stdlib.h>

#include "det_scenario.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s SEED TICK_RATE TICKS\n", argv[0]);
        return 2;
    }
    uint64_t seed = strtoull(argv[1], NULL, 0);
    unsigned long rate = strtoul(argv[2], NULL, 0);
    unsigned long ticks = strtoul(argv[3], NULL, 0);
    if (rate == 0 || rate > 65535) {
        fprintf(stderr, "tick rate must be 1..65535\n");
        return 2;
    }
    static det_scenario s;
    static uint8_t out[DET_TICK_BYTES];
    det_init(&s, seed, (uint16_t)rate);
    for (unsigned long t = 0; t < ticks; t++) {
        size_t n = det_step(&s, out);
        if (fwrite(out, 1, n, stdout) != n) {
            perror("fwrite");
            return 1;
        }
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
