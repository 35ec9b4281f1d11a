/* hist: a fixed-bucket latency histogram, 0.1 ms buckets up to 1 s, plus
 * an overflow count, the exact max, and running sums for mean and stddev.
 * Adding a sample is O(1) and stores nothing per sample, so millions of
 * samples from a thousand bots cost 40 KiB. Quantiles are exact to the
 * bucket width (0.1 ms); a quantile that lands in the overflow is the max. */
#ifndef TW_BOTS_HIST_H
#define TW_BOTS_HIST_H

#include <stdint.h>

#define HIST_BUCKET_MS 0.1
#define HIST_BUCKETS 10000 /* up to 1 s */

typedef struct hist {
    uint64_t n;
    uint64_t over;      /* samples >= HIST_BUCKETS * HIST_BUCKET_MS */
    double sum, sumsq, max;
    uint32_t b[HIST_BUCKETS];
} hist;

void hist_reset(hist *h);
void hist_add(hist *h, double ms);
/* q in 0..1; 0 when empty. Returns the upper edge of the bucket holding
 * the ceil(q * n)-th sample, capped at the max. O(HIST_BUCKETS). */
double hist_quantile(const hist *h, double q);
double hist_mean(const hist *h);
double hist_stddev(const hist *h);

#endif
